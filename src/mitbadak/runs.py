"""Run folders: claiming one, checking it can hold the run, and writing the run's files.

A run folder holds ``model.npz`` (the weights, with the dataset and class names as
metadata), ``history.json`` (the settings, the loss of every iteration, the per-epoch
accuracies and timings) and ``curves.png``. Without an explicit folder a run gets the next
number under ``runs/`` (``runs/001``, ``runs/002``, ...); an existing folder with files in
it is only written into when the caller says so (``force``).

A folder is *claimed* before anything else happens: created with ``mkdir`` (which only one
process can win), and marked with a lock file created with ``O_EXCL``, so two runs can
never write into the same folder. A claim that ends without writing anything removes
what it created: a refused or interrupted command leaves no empty folder behind. Should
the model not be writable into the folder after training (disk full, folder gone
read-only), the weights are saved in a rescue folder instead.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mitbadak import __version__
from mitbadak._files import open_regular, write_json
from mitbadak._memory import format_bytes
from mitbadak.data.mnist import class_names
from mitbadak.models import Sequential
from mitbadak.serialization import save
from mitbadak.train import History

__all__ = [
    "LOCK_FILE",
    "RUNS_DIR",
    "RunFolder",
    "RunFolderError",
    "RunSaveError",
    "check_room",
    "claim_run_dir",
    "new_run_dir",
    "write_run",
]

#: Where numbered run folders are made, relative to the working directory.
RUNS_DIR = Path("runs")

MODEL_FILE = "model.npz"
HISTORY_FILE = "history.json"
CURVES_FILE = "curves.png"
#: Present while a run owns its folder; holds the owner's process id.
LOCK_FILE = ".mitbadak-run.lock"


class RunFolderError(ValueError):
    """The requested run folder cannot be used (it is a file, holds an earlier run, or
    another run is writing into it)."""


class RunSaveError(OSError):
    """The run could not be written where asked; the message says where it went instead."""


@dataclass
class RunFolder:
    """A claimed run folder: ``path``, and what the claim created (to undo if unused)."""

    path: Path
    created: list[Path] = field(default_factory=list)
    locked: bool = False
    #: Another run locked the folder first: nothing here is ours to remove.
    lost: bool = False


def _mkdirs(path: Path) -> list[Path]:
    """Create ``path`` and missing parents, exclusively for ``path`` itself.

    Returns the folders created, outermost first. ``FileExistsError`` if ``path`` exists.
    """
    missing = [p for p in [path, *path.parents] if not p.exists()][::-1]
    created = []
    for folder in missing[:-1]:
        try:
            folder.mkdir()
            created.append(folder)
        except FileExistsError:
            pass  # made meanwhile by someone else: theirs, not ours to remove
    path.mkdir()
    created.append(path)
    return created


def new_run_dir(root: Path = RUNS_DIR) -> RunFolder:
    """Create the next numbered folder under ``root`` (``001``, ``002``, ...).

    ``mkdir`` either creates the folder or fails, so two runs started at once never get
    the same number.
    """
    created = [] if root.exists() else _mkdirs(root)
    numbers = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    number = max(numbers, default=0) + 1
    while True:
        candidate = root / f"{number:03d}"
        try:
            candidate.mkdir()
        except FileExistsError:
            number += 1
            continue
        return RunFolder(candidate, [*created, candidate])


def _lock_holder(lock: Path) -> str:
    """Who holds ``lock``, in words, for the error message."""
    try:
        # open_regular: a FIFO planted under the lock's name must not block us.
        with open_regular(lock) as f:
            pid = int(f.read(32).decode("ascii").strip())
    except (OSError, ValueError):
        return "another run"
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return f"a run that has ended (process {pid})"
    except OSError:
        pass
    return f"another run (process {pid})"


def _lock(folder: RunFolder) -> None:
    lock = folder.path / LOCK_FILE
    try:
        fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        folder.lost = True
        raise RunFolderError(
            f"{folder.path} is being written by {_lock_holder(lock)}; if no run is using "
            f"it, delete {lock}"
        ) from None
    folder.locked = True
    with os.fdopen(fd, "w", encoding="ascii") as f:
        f.write(f"{os.getpid()}\n")


def _claim(out: Path | None, force: bool, root: Path) -> RunFolder:
    if out is None:
        folder = new_run_dir(root)
    else:
        try:
            folder = RunFolder(out, _mkdirs(out))
        except FileExistsError:
            if not out.is_dir():
                raise RunFolderError(f"{out} exists and is not a folder") from None
            if (out / LOCK_FILE).exists():
                raise RunFolderError(
                    f"{out} is being written by {_lock_holder(out / LOCK_FILE)}; if no run "
                    f"is using it, delete {out / LOCK_FILE}"
                ) from None
            if not force and any(out.iterdir()):
                raise RunFolderError(
                    f"{out} already exists; pick another folder or pass --force"
                ) from None
            folder = RunFolder(out)
    try:
        _lock(folder)
    except BaseException:
        release(folder)
        raise
    return folder


def release(folder: RunFolder) -> None:
    """Drop the claim: remove the lock, and the folders it created if they are empty."""
    if folder.locked:
        try:
            (folder.path / LOCK_FILE).unlink()
        except FileNotFoundError:
            pass
        folder.locked = False
    if folder.lost:
        # Another run won the folder between our mkdir and our lock: it is theirs now.
        return
    for created in reversed(folder.created):
        try:
            created.rmdir()
        except OSError:
            break  # not empty (the run's files, or someone else's): keep it and its parents


@contextmanager
def claim_run_dir(
    out: Path | None, *, force: bool = False, root: Path = RUNS_DIR
) -> Iterator[RunFolder]:
    """Claim the folder a run writes into: ``out``, or a new numbered one under ``root``.

    ``RunFolderError`` if ``out`` is a file, a folder with files in it and ``force`` is
    False (an earlier run is never overwritten unasked), or a folder another run holds;
    ``OSError`` if it cannot be created. On leaving, the claim is released.
    """
    folder = _claim(out, force, root)
    try:
        yield folder
    finally:
        release(folder)


def check_room(folder: Path, net: Sequential, iters: int) -> None:
    """``OSError`` unless ``folder`` has room for the run's files: checked before training.

    The model is about the size of its arrays (compressed weights hardly shrink); the
    history a few dozen bytes an iteration; the curves and the slack a megabyte or two.
    """
    for name in (MODEL_FILE, HISTORY_FILE, CURVES_FILE):
        if (folder / name).is_dir():
            raise OSError(errno.EISDIR, f"{folder / name} is a folder; the run writes a file there")
    arrays = sum(value.nbytes for value in net.params.values())
    arrays += sum(v.nbytes for layer in net.layers.values() for v in layer.buffers.values())
    needed = arrays + 40 * iters + (2 << 20)
    free = shutil.disk_usage(folder).free
    if free < needed:
        raise OSError(
            errno.ENOSPC,
            f"{folder} has {format_bytes(free)} free, the run needs about {format_bytes(needed)}",
        )


def _metadata(dataset: str) -> dict[str, Any]:
    return {"dataset": dataset, "class_names": class_names(dataset)}


def _rescue(net: Sequential, dataset: str, record: dict[str, Any]) -> Path | None:
    """Save the model and history in a new folder somewhere writable; None if nowhere is."""
    for base in (Path(tempfile.gettempdir()), Path.home(), Path.cwd()):
        try:
            folder = Path(tempfile.mkdtemp(prefix="mitbadak-rescue-", dir=base))
        except (OSError, RuntimeError):
            continue
        try:
            save(net, folder / MODEL_FILE, metadata=_metadata(dataset))
            write_json(folder / HISTORY_FILE, record)
            return folder
        except OSError:
            shutil.rmtree(folder, ignore_errors=True)
    return None


def write_run(
    out: Path,
    net: Sequential,
    history: History,
    *,
    config: dict[str, Any],
    dataset: str,
    started: float,
) -> list[str]:
    """Write ``model.npz``, ``history.json`` and ``curves.png`` into ``out``.

    ``config`` is the run's settings as given (recorded in ``history.json`` with the
    dataset actually used); ``started`` is the ``time.perf_counter()`` of the run's start.
    Returns the problems with the history and curves, which do not hold the weights (an
    empty list when all is written). If the model itself cannot be written,
    :class:`RunSaveError` says where the weights were saved instead.
    """
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
    try:
        save(net, out / MODEL_FILE, overwrite=True, metadata=_metadata(dataset))
    except OSError as exc:
        why = exc.strerror or str(exc)
        rescue = _rescue(net, dataset, record)
        where = (
            f"saved them to {rescue} instead" if rescue else "found nowhere writable to save them"
        )
        raise RunSaveError(
            exc.errno, f"could not write the trained weights to {out / MODEL_FILE} ({why}); {where}"
        ) from exc
    problems = []
    try:
        write_json(out / HISTORY_FILE, record)
    except OSError as exc:
        problems.append(f"{HISTORY_FILE} ({exc.strerror or exc})")
    try:
        from mitbadak.plot import plot_history

        plot_history(
            history,
            out / CURVES_FILE,
            model=type(net).__name__,
            dataset=dataset,
            lang=config.get("lang"),
        )
    except Exception as exc:  # a plotting failure must not cost the run
        problems.append(f"{CURVES_FILE} ({getattr(exc, 'strerror', None) or exc})")
    return problems
