"""``mitbadak explain`` end to end: the examples, a trained model, files written, bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from mitbadak.cli import main
from mitbadak.data import load_mnist


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A TwoLayerNet trained by `mitbadak train` for a moment on the bundled sample."""
    out = tmp_path_factory.mktemp("explain") / "run"
    env = {**os.environ, "MITBADAK_DATA": str(out.parent / "cache")}
    cmd = [sys.executable, "-m", "mitbadak", "train", "--dataset", "mnist-sample"]
    cmd += ["--iters", "150", "--out", str(out), "--no-progress"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return out / "model.npz"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mitbadak", *args], capture_output=True, text=True, timeout=300
    )


def assert_plain(text: str) -> None:
    """Fits 80 columns (but for a line naming a file written), no control characters."""
    assert all(len(line) <= 80 for line in text.splitlines() if not line.startswith("wrote "))
    assert not any(ch < " " and ch != "\n" for ch in text)


def test_explain_without_a_model_shows_the_books_examples_piped(tmp_path: Path) -> None:
    page = tmp_path / "apple.html"
    proc = run_cli("explain", "--html", str(page))
    assert proc.returncode == 0, proc.stderr
    assert_plain(proc.stdout)
    for line in (
        "all_price 650, tax 1.1  ->  price 715",
        "   -> dapple_num = 110",
        "   -> dorange = 3.3",
        "   -> dorange_num = 165",
        "dtax = 450 + 200 = 650",
        "A tiny TwoLayerNet on a batch of 2",
        f"wrote {page}",
    ):
        assert line in proc.stdout
    html = page.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    # Self-contained: no external file of any kind, and a policy that forbids fetching.
    # (SVG's namespace is a name that looks like an address; nothing is fetched from it.)
    html_without_ns = html.replace('"http://www.w3.org/2000/svg"', "")
    for marker in ('src="', "<link", "http://", "https://", "@import"):
        assert marker not in html_without_ns, marker
    assert re.findall(r"url\((?!#)", html) == []  # only references within the page
    assert "default-src 'none'" in html
    data = html.split('id="mitbadak-trace-data">')[1].split("</script>")[0]
    bundle = json.loads(data)
    assert [t["title"] for t in bundle["traces"]][0] == "The apple example"


def test_existing_files_are_kept_unless_forced(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.html"
    page.write_text("mine")
    assert main(["explain", "--html", str(page)]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"mitbadak explain: error: {page} exists; pass --force to replace it"
    assert page.read_text() == "mine"
    assert main(["explain", "--html", str(page), "--force"]) == 0
    assert "MitbadakExplain" in page.read_text()


def test_model_flags_need_a_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", "--index", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--index needs a MODEL" in err


def test_explain_a_trained_model_on_a_test_image(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "trace.json"
    assert main(["explain", str(model), "--index", "5", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert_plain(text)
    (_, _), (_, t_test) = load_mnist(dataset="mnist-sample")
    label = int(t_test[5])
    assert "test image 5 of mnist-sample" in text and f"label {label}" in text
    assert "PICTURES" in text and "dL/dx" in text and "dW1[:, " in text
    trace = json.loads(out.read_text())["traces"][0]
    assert [n["name"] for n in trace["nodes"]] == ["Affine1", "Relu1", "Affine2", "SoftmaxWithLoss"]
    t = next(v for v in trace["values"] if v["name"] == "t")
    assert t["value"]["data"] == [label]
    checks = {c["value"]: c for c in trace["checks"]}
    assert checks["W1"]["checked"] == 784 * 50  # small network: every entry checked
    assert all(c["relative_error"] < 1e-6 for c in checks.values())
    assert [p["title"] for p in trace["pictures"]][:2] == ["input x", "dL/dx"]


def test_explain_a_trained_model_on_an_image_file(
    model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (_, _), (x_test, _) = load_mnist(dataset="mnist-sample")
    png = tmp_path / "digit.png"
    Image.fromarray((x_test[7].reshape(28, 28) * 255).astype(np.uint8)).save(png)
    assert main(["explain", str(model), "--image", str(png), "--numerical-entries", "20"]) == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "the predicted class is used" in text
    assert "W1 20 of 39,200" in text
    assert (
        main(
            ["explain", str(model), "--image", str(png), "--label", "3", "--numerical-entries", "5"]
        )
        == 0
    )
    assert "label 3 (given with --label)" in " ".join(capsys.readouterr().out.split())


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--index", "99999"], 2, "--index 99999 is out of range"),
        (["--label", "12"], 2, "--label 12 is out of range: the model has 10 classes"),
        (["--image", "nowhere.png"], 1, "nowhere.png: no such file"),
    ],
)
def test_bad_input_is_one_line(
    model: Path,
    args: list[str],
    code: int,
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["explain", str(model), *args]) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err, err


def test_a_missing_model_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explain", str(tmp_path / "none.npz")]) == 1
    assert "none.npz does not exist" in capsys.readouterr().err
