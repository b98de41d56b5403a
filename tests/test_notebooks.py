"""The Korean tutorial notebooks run top to bottom, offline, and stay committed without outputs.

Each is executed in a fresh Jupyter kernel (nbclient), as a reader would run it, so a change
to the library that breaks a notebook fails here. Their first code cell, the install cell,
is kept once in notebooks/_install_cell.py and run here as a script in its three cases.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("book*/*.ipynb"))
INSTALL_CELL = ROOT / "notebooks" / "_install_cell.py"


def test_the_chapter_5_tutorials_are_there() -> None:
    names = [path.name for path in NOTEBOOKS if path.parent.name == "book1"]
    assert {
        "ch05_1_computational_graph.ipynb",
        "ch05_2_layers.ipynb",
        "ch05_3_two_layer_net_gradient_check.ipynb",
        "ch05_4_training.ipynb",
        "ch05_5_checking_your_own_layer.ipynb",
    } <= set(names)
    # Only the book folders: a notebook left in notebooks/ itself would go unrun.
    assert not list((ROOT / "notebooks").glob("*.ipynb"))
    for name in names:
        assert re.fullmatch(r"ch0[1-8]_[a-z0-9_]+\.ipynb", name), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_the_install_cell(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)
    expected = INSTALL_CELL.read_text(encoding="utf-8").rstrip("\n")
    assert "".join(code[0]["source"]) == expected, (
        f"{path.name}: run python scripts/sync_notebook_install_cell.py"
    )
    # Written in Korean: most of the prose is Hangul.
    prose = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    hangul = sum("가" <= ch <= "힣" for ch in prose)
    letters = sum(ch.isalpha() for ch in prose)
    assert hangul > 0.5 * letters


def run_install_cell(
    cwd: Path, *, isolated: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """The install cell as a script from ``cwd``; isolated: no site-packages, no mitbadak."""
    flags = ["-I", "-S"] if isolated else []
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MITBADAK_")}
    environ |= {"MITBADAK_INSTALL_DRY_RUN": "1", "PYTHONIOENCODING": "utf-8", **env}
    return subprocess.run(
        [sys.executable, *flags, str(INSTALL_CELL)],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def write_project(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pyproject.toml").write_text(f'[project]\nname = "{name}"\n', encoding="utf-8")
    return folder


def test_install_cell_does_nothing_when_mitbadak_imports(tmp_path: Path) -> None:
    done = run_install_cell(tmp_path, isolated=False, PYTHONPATH=str(ROOT / "src"))
    assert done.returncode == 0, done.stderr
    import mitbadak

    assert done.stdout.splitlines() == [f"mitbadak {mitbadak.__version__}"]


def test_install_cell_installs_the_checkout_it_sits_in(tmp_path: Path) -> None:
    checkout = write_project(tmp_path / "clone", "mitbadak")
    # A project of another name on the way up is passed over.
    write_project(checkout / "notebooks", "not-mitbadak")
    (checkout / "notebooks" / "book1").mkdir()
    done = run_install_cell(checkout / "notebooks" / "book1")
    assert done.returncode == 0, done.stderr
    command = done.stdout.strip().removeprefix("설치합니다: ")
    assert command.split() == [sys.executable, "-m", "pip", "install", "--quiet", str(checkout)]


@pytest.mark.parametrize("kind", ["wheel", "folder"])
def test_install_cell_installs_what_mitbadak_source_names(tmp_path: Path, kind: str) -> None:
    if kind == "wheel":
        source = tmp_path / "mitbadak-0.1.0-py3-none-any.whl"
        source.write_bytes(b"")
    else:
        source = write_project(tmp_path / "src-copy", "mitbadak")
    (tmp_path / "work").mkdir()
    done = run_install_cell(tmp_path / "work", MITBADAK_SOURCE=str(source))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith(f"pip install --quiet {source}")


def test_install_cell_refuses_a_source_that_is_not_mitbadak(tmp_path: Path) -> None:
    other = write_project(tmp_path / "other", "mitbadak-fork")
    done = run_install_cell(tmp_path, MITBADAK_SOURCE=str(other))
    assert done.returncode == 1
    assert "FileNotFoundError" in done.stderr and str(other) in done.stderr
    assert not done.stdout.startswith("설치합니다:")


def test_install_cell_says_in_korean_how_to_get_mitbadak_and_stops(tmp_path: Path) -> None:
    done = run_install_cell(tmp_path)
    assert done.returncode == 1
    assert "mitbadak을 찾지 못했습니다" in done.stdout and "MITBADAK_SOURCE" in done.stdout
    assert "git clone" in done.stdout
    assert "ModuleNotFoundError" in done.stderr
    # Nothing is installed: not the unpublished name from PyPI, not anything.
    assert not done.stdout.startswith("설치합니다:")


def test_sync_script_rewrites_a_stale_install_cell(tmp_path: Path) -> None:
    book = tmp_path / "notebooks" / "book1"
    book.mkdir(parents=True)
    original = NOTEBOOKS[0]
    copy = book / original.name
    nb = json.loads(original.read_text(encoding="utf-8"))
    first = next(cell for cell in nb["cells"] if cell["cell_type"] == "code")
    first["source"] = ["%pip install mitbadak"]
    copy.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    script = ROOT / "scripts" / "sync_notebook_install_cell.py"

    done = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert copy.read_bytes() == original.read_bytes()
    again = subprocess.run(
        [sys.executable, str(script), str(tmp_path)], capture_output=True, text=True
    )
    assert again.returncode == 0 and again.stdout == ""


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_runs_top_to_bottom(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import nbformat
    from nbclient import NotebookClient

    # A copy, run from its own folder: nothing is written into the repository.
    copy = tmp_path / path.name
    shutil.copy(path, copy)
    # One BLAS thread in the kernel, as `mitbadak train` uses: more only fight on 2 cores.
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    nb = nbformat.read(copy, as_version=4)
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()  # raises CellExecutionError, with the cell and traceback, on any error
    streams = [
        output
        for cell in nb.cells
        if cell.cell_type == "code"
        for output in cell.outputs
        if output.output_type == "stream"
    ]
    assert streams, "the notebook printed nothing"
    for output in streams:
        # Progress as plain lines or a widget, never carriage returns and escape codes.
        assert "\r" not in output.text and "\x1b" not in output.text, output.text[-300:]
        if output.name == "stderr":
            pytest.fail(f"{path.name} wrote to stderr: {output.text[-500:]}")
    if path.name == "ch05_4_training.ipynb":
        images = [
            output
            for cell in nb.cells
            if cell.cell_type == "code"
            for output in cell.outputs
            if "image/png" in output.get("data", {})
        ]
        assert len(images) == 2  # the hand-drawn curves and draw_history's figure
