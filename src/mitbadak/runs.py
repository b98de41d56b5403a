"""Run folders: where a training run's files go, and writing them.

A run folder holds ``model.npz`` (the weights, with the dataset and class names as
metadata), ``history.json`` (the settings, the loss of every iteration, the per-epoch
accuracies and timings) and ``curves.png``. Without an explicit folder a run gets the next
number under ``runs/`` (``runs/001``, ``runs/002``, ...); an existing folder with files in
it is only written into when the caller says so (``force``).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from mitbadak import __version__
from mitbadak._files import write_json
from mitbadak.data.mnist import class_names
from mitbadak.models import Sequential
from mitbadak.serialization import save
from mitbadak.train import History

__all__ = ["RUNS_DIR", "RunFolderError", "new_run_dir", "prepare_run_dir", "write_run"]

#: Where numbered run folders are made, relative to the working directory.
RUNS_DIR = Path("runs")

MODEL_FILE = "model.npz"
HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"


class RunFolderError(ValueError):
    """The requested run folder cannot be used (it is a file, or holds an earlier run)."""


def new_run_dir(root: Path = RUNS_DIR) -> Path:
    """Create and return the next numbered folder under ``root`` (``001``, ``002``, ...).

    ``mkdir`` either creates the folder or fails, so two runs started at once never get
    the same number.
    """
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    number = max(numbers, default=0) + 1
    while True:
        candidate = root / f"{number:03d}"
        try:
            candidate.mkdir()
        except FileExistsError:
            number += 1
            continue
        return candidate


def prepare_run_dir(out: Path | None, *, force: bool = False, root: Path = RUNS_DIR) -> Path:
    """The folder a run writes into: ``out``, or a new numbered one under ``root``.

    ``RunFolderError`` if ``out`` is a file, or a folder with files in it and ``force``
    is False: an earlier run is never overwritten unasked.
    """
    if out is None:
        return new_run_dir(root)
    if out.exists():
        if not out.is_dir():
            raise RunFolderError(f"{out} exists and is not a folder")
        if not force and any(out.iterdir()):
            raise RunFolderError(f"{out} already exists; pick another folder or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    return out


def write_run(
    out: Path,
    net: Sequential,
    history: History,
    *,
    config: dict[str, Any],
    dataset: str,
    started: float,
) -> None:
    """Write ``model.npz``, ``history.json`` and ``curves.png`` into ``out``.

    ``config`` is the run's settings as given (recorded in ``history.json`` with the
    dataset actually used); ``started`` is the ``time.perf_counter()`` of the run's start.
    """
    from mitbadak.plot import plot_history

    metadata = {"dataset": dataset, "class_names": class_names(dataset)}
    save(net, out / MODEL_FILE, overwrite=True, metadata=metadata)
    record = {
        "config": {**config, "dataset_used": dataset},
        "mitbadak_version": __version__,
        **history.to_dict(),
        "timings": {
            "train_seconds": history.train_seconds,
            "eval_seconds": history.eval_seconds,
            "total_seconds": time.perf_counter() - started,
        },
    }
    write_json(out / HISTORY_FILE, record)
    plot_history(
        history,
        out / CURVES_FILE,
        model=type(net).__name__,
        dataset=dataset,
        lang=config.get("lang"),
    )
