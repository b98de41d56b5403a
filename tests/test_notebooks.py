"""The Korean tutorial notebooks run top to bottom, offline, and stay committed without outputs.

Each is executed in a fresh Jupyter kernel (nbclient), as a reader would run it, so a change
to the library that breaks a notebook fails here.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


def test_the_tutorials_are_there() -> None:
    names = [path.name for path in NOTEBOOKS]
    assert names == [
        "01_computational_graph.ipynb",
        "02_layers.ipynb",
        "03_two_layer_net_gradient_check.ipynb",
        "04_training.ipynb",
        "05_checking_your_own_layer.ipynb",
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_committed_without_outputs_and_with_an_install_cell(path: Path) -> None:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert all(not cell["outputs"] and cell["execution_count"] is None for cell in code)
    first = "".join(code[0]["source"])
    assert 'find_spec("mitbadak") is None' in first and "%pip install" in first
    # Written in Korean: most of the prose is Hangul.
    prose = "".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")
    hangul = sum("가" <= ch <= "힣" for ch in prose)
    letters = sum(ch.isalpha() for ch in prose)
    assert hangul > 0.5 * letters


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
    if path.name == "04_training.ipynb":
        images = [
            output
            for cell in nb.cells
            if cell.cell_type == "code"
            for output in cell.outputs
            if "image/png" in output.get("data", {})
        ]
        assert len(images) == 2  # the hand-drawn curves and draw_history's figure
