"""`mitbadak predict` on your own handwriting: top 3, --show, and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from digit_rendering import render
from mitbadak import serialization as io
from mitbadak.cli import main
from mitbadak.data import load_mnist
from mitbadak.data.images import read_digit
from mitbadak.models import TwoLayerNet


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("predict") / "run"
    args = ["train", "--dataset", "mnist-sample", "--iters", "400", "--no-progress"]
    assert main([*args, "--out", str(out)]) == 0
    return out / "model.npz"


@pytest.fixture
def sheets(tmp_path: Path) -> tuple[list[Path], np.ndarray]:
    """Six test digits drawn large on 200x200 RGB sheets, and their labels."""
    _, (raw, t) = load_mnist(normalize=False, flatten=False, dataset="mnist-sample")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(6):
        path = tmp_path / f"digit{i}.png"
        render(raw[i, 0], rng).save(path)
        paths.append(path)
    return paths, t[:6]


def _top3(line: str) -> list[tuple[int, float]]:
    inside = line.split("[", 1)[1].rstrip("]")
    return [(int(part.split()[0]), float(part.split()[1])) for part in inside.split(", ")]


def test_prints_the_top_three_classes_with_probabilities(
    model: Path, sheets: tuple[list[Path], np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    paths, labels = sheets
    capsys.readouterr()
    assert main(["predict", str(model), *map(str, paths)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == len(paths)
    right = 0
    for path, label, line in zip(paths, labels, lines, strict=True):
        assert line.startswith(f"{path}: ")
        top = _top3(line)
        assert len(top) == 3 and len({k for k, _ in top}) == 3
        probs = [p for _, p in top]
        assert probs == sorted(probs, reverse=True) and sum(probs) <= 1.001
        assert int(line.split(": ")[1].split()[0]) == top[0][0]
        right += top[0][0] == label
    assert right >= 5


def test_show_writes_what_the_network_saw(
    model: Path, sheets: tuple[list[Path], np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _ = sheets
    capsys.readouterr()
    assert main(["predict", str(model), str(paths[0]), "--show"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    shown = paths[0].with_name("digit0.mnist.png")
    with Image.open(shown) as img:
        assert img.size == (28, 28) and img.mode == "L"
        pixels = np.asarray(img)
    assert pixels[0, 0] == 0 and pixels.max() == 255  # white on black, like MNIST
    # Exactly the network's input, to the rounding of 8 bits.
    seen = read_digit(paths[0]).reshape(28, 28)
    np.testing.assert_allclose(pixels / 255, seen, atol=0.5 / 255 + 1e-6)
    # Fed back in, it is classified the same way.
    assert main(["predict", str(model), str(shown)]) == 0
    again = capsys.readouterr().out.splitlines()[0]
    assert _top3(again)[0][0] == _top3(first)[0][0]
    assert _top3(again)[0][1] == pytest.approx(_top3(first)[0][1], abs=0.05)


def test_show_never_overwrites_a_file_unasked(
    model: Path, sheets: tuple[list[Path], np.ndarray], capsys: pytest.CaptureFixture[str]
) -> None:
    paths, _ = sheets
    mine = paths[1].with_name("digit1.mnist.png")
    mine.write_bytes(b"my own file")
    capsys.readouterr()
    # pytest's stdin is not a terminal: nobody can be asked, so the file is kept.
    assert main(["predict", str(model), str(paths[1]), "--show"]) == 0
    captured = capsys.readouterr()
    assert mine.read_bytes() == b"my own file"
    assert "kept the existing" in captured.err and len(captured.err.splitlines()) == 1
    assert captured.out.startswith(f"{paths[1]}: ")


def test_show_asks_on_a_terminal(
    model: Path,
    sheets: tuple[list[Path], np.ndarray],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    paths, _ = sheets
    mine = paths[2].with_name("digit2.mnist.png")
    answers = iter(["n", "y"])
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr("builtins.input", lambda prompt: next(answers))
    mine.write_bytes(b"mine")
    assert main(["predict", str(model), str(paths[2]), "--show"]) == 0
    assert mine.read_bytes() == b"mine"
    assert main(["predict", str(model), str(paths[2]), "--show"]) == 0
    assert mine.read_bytes()[:4] == b"\x89PNG"
    capsys.readouterr()


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (b"hello", "not a readable PNG"),
        (None, "no digit found"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, "not a readable"),
    ],
)
def test_bad_images_get_one_line(
    content: bytes | None,
    needle: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    model = io.save(TwoLayerNet(784, 5, 10), tmp_path / "m.npz")
    path = tmp_path / "bad.png"
    if content is None:
        Image.new("RGB", (50, 40), (230, 230, 230)).save(path)
    else:
        path.write_bytes(content)
    assert main(["predict", str(model), str(path)]) == 1
    err = capsys.readouterr().err
    assert needle in err and "bad.png" in err and len(err.strip().splitlines()) == 1


def test_a_bomb_in_a_real_process_is_one_line_without_warnings(tmp_path: Path) -> None:
    from test_images import BAD_FILES

    model = io.save(TwoLayerNet(784, 5, 10), tmp_path / "m.npz")
    for name in ("bomb.png", "big.png", "ztxt.png"):
        path = tmp_path / name
        path.write_bytes(BAD_FILES[name][0])
        env = {**os.environ, "PYTHONWARNINGS": "always"}
        cmd = [sys.executable, "-m", "mitbadak", "predict", str(model), str(path)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert proc.returncode == 1
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert name in proc.stderr and "Warning" not in proc.stderr
