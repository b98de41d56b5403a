"""The models the page offers: the run folders under ``runs/``, and one model given by path.

A run is a folder directly under the runs folder holding ``model.npz`` (as written by
``mitbadak train``); its id is the folder's name and its test accuracy is the last epoch's
``test_acc`` in ``history.json``. Requests name a model by id only, and an id is looked up
among the folders found, so no request ever reaches a file outside the runs folder (a
run folder or model file that is a link leading out of it is left out too). Loaded
models are kept, a few at a time, and loaded again when their file changes.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak.models import Sequential
from mitbadak.serialization import load

__all__ = ["GIVEN_ID", "LoadedModel", "ModelCatalog", "ModelEntry", "UnknownModelError"]

MODEL_FILE = "model.npz"
HISTORY_FILE = "history.json"
#: The id of the model given on the command line when it lies outside the runs folder.
GIVEN_ID = "(given)"
#: history.json holds the loss of every iteration; larger than this it is not read.
_HISTORY_LIMIT = 64 * 1024 * 1024


class UnknownModelError(KeyError):
    """No model has the requested id."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class ModelEntry:
    """One model the page can use: where it is and what ``history.json`` says of it."""

    id: str
    path: Path
    shown: str
    test_accuracy: float | None = None
    dataset: str | None = None
    network: str | None = None
    modified: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "path": self.shown,
            "test_accuracy": self.test_accuracy,
            "dataset": self.dataset,
            "network": self.network,
        }


@dataclass
class LoadedModel:
    """A loaded network with its lock: layers keep state between forward and backward,
    so one request at a time uses it."""

    entry: ModelEntry
    net: Sequential
    stamp: tuple[int, int]
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def class_names(self) -> list[str] | None:
        names = self.net.metadata.get("class_names")
        return [str(n) for n in names] if isinstance(names, list) else None


def _summary(folder: Path) -> dict[str, Any]:
    """Test accuracy, dataset and network from ``history.json`` (what is there)."""
    path = folder / HISTORY_FILE
    try:
        if path.stat().st_size > _HISTORY_LIMIT:
            return {}
        record = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict):
        return {}
    found: dict[str, Any] = {}
    epochs = record.get("epochs")
    if isinstance(epochs, list) and epochs and isinstance(epochs[-1], dict):
        acc = epochs[-1].get("test_acc")
        if isinstance(acc, int | float) and not isinstance(acc, bool) and np.isfinite(acc):
            found["test_accuracy"] = float(acc)
    config = record.get("config")
    if isinstance(config, dict):
        if isinstance(config.get("dataset_used"), str):
            found["dataset"] = config["dataset_used"]
        if isinstance(config.get("model"), str):
            hidden = config.get("hidden")
            widths = ",".join(str(h) for h in hidden) if isinstance(hidden, list) else ""
            found["network"] = config["model"] + (f" ({widths})" if widths else "")
    return found


class ModelCatalog:
    """The run folders under ``runs_dir`` (looked at again on every :meth:`entries`), and
    optionally one more model file ``given`` by the person who started the server.

    ``cache_size`` loaded models are kept; the least recently used goes first.
    """

    def __init__(self, runs_dir: Path, given: Path | None = None, *, cache_size: int = 4) -> None:
        self.runs_dir = Path(runs_dir)
        self.given = None if given is None else Path(given)
        self.cache_size = cache_size
        self._cache: OrderedDict[str, LoadedModel] = OrderedDict()
        self._lock = threading.Lock()

    def _given_entry(self, runs: list[ModelEntry]) -> ModelEntry | None:
        if self.given is None:
            return None
        path = self.given.resolve()
        for entry in runs:
            if entry.path == path:
                return entry
        stat = path.stat() if path.is_file() else None
        return ModelEntry(
            GIVEN_ID,
            path,
            str(self.given),
            **_summary(path.parent),
            modified=stat.st_mtime if stat else 0.0,
        )

    def _runs(self) -> list[ModelEntry]:
        try:
            root = self.runs_dir.resolve(strict=True)
            folders = sorted(root.iterdir())
        except OSError:
            return []
        runs = []
        for folder in folders:
            model = folder / MODEL_FILE
            try:
                real = model.resolve(strict=True)
                stat = real.stat()
            except (OSError, RuntimeError):
                continue
            if folder.name.startswith(".") or not real.is_file():
                continue
            if not real.is_relative_to(root):
                continue  # a link that leads out of the runs folder
            shown = str(self.runs_dir / folder.name / MODEL_FILE)
            runs.append(
                ModelEntry(
                    folder.name, real, shown, **_summary(real.parent), modified=stat.st_mtime
                )
            )
        return runs

    def entries(self) -> list[ModelEntry]:
        """Every model on offer: the given one first, then the runs by folder name."""
        runs = self._runs()
        given = self._given_entry(runs)
        if given is None or given.id != GIVEN_ID:
            return runs
        return [given, *runs]

    def default_id(self) -> str | None:
        """The given model, else the newest run (by its model file's time), else None."""
        runs = self._runs()
        given = self._given_entry(runs)
        if given is not None:
            return given.id
        if not runs:
            return None
        return max(runs, key=lambda e: (e.modified, e.id)).id

    def find(self, model_id: str) -> ModelEntry:
        """The entry with this id; :class:`UnknownModelError` listing the ids otherwise."""
        entries = self.entries()
        for entry in entries:
            if entry.id == model_id:
                return entry
        ids = [e.id for e in entries]
        listed = ", ".join(ids[:10]) + (f" and {len(ids) - 10} more" if len(ids) > 10 else "")
        raise UnknownModelError(
            f"unknown model {model_id[:80]!r}; the models are {listed or 'none'}"
        )

    def load(self, model_id: str) -> LoadedModel:
        """The loaded model with this id, from the cache unless its file changed.

        ``UnknownModelError`` for an unknown id; ``ValueError`` or ``OSError`` if the file
        cannot be read as a model.
        """
        entry = self.find(model_id)
        stat = entry.path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        with self._lock:
            cached = self._cache.get(model_id)
            if cached is not None and cached.stamp == stamp and cached.entry.path == entry.path:
                self._cache.move_to_end(model_id)
                return cached
        net = load(entry.path)
        loaded = LoadedModel(entry, net, stamp)
        with self._lock:
            self._cache[model_id] = loaded
            self._cache.move_to_end(model_id)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return loaded
