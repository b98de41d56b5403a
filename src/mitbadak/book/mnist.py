"""The book's ``dataset/mnist.py``: ``load_mnist(normalize, flatten, one_hot_label)``.

``from dataset.mnist import load_mnist`` becomes ``from mitbadak.book.mnist import load_mnist``.

Where the digits come from, first found first:

1. a ``dataset`` folder where the book keeps them: in the working directory, its
   parent (the book's scripts run from ``chNN/``) or a folder on ``sys.path``, holding
   the four ``*-ubyte.gz`` files (checked against their known hashes) or the book's
   ``mnist.pkl`` (read without running code, :mod:`mitbadak.book.pickles`);
2. :func:`mitbadak.data.load_mnist`: mitbadak's cache, else a download;
3. without network: the 10,000 real MNIST digits bundled with mitbadak
   (``dataset="mnist-sample"``: 8,000 train, 2,000 test), with a line on stderr.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak.book.pickles import load_arrays
from mitbadak.data import MNIST_FILES, DataUnavailableError
from mitbadak.data import load_mnist as _load_mnist

__all__ = ["load_mnist"]

_BOOK_KEYS = {"train_img": 784, "train_label": 0, "test_img": 784, "test_label": 0}


def _dataset_folders() -> list[Path]:
    """Existing ``dataset`` folders where the book's layout keeps the files."""
    bases = [Path.cwd(), Path.cwd().parent, *(Path(p or ".") for p in sys.path)]
    found: list[Path] = []
    for base in bases:
        folder = (base / "dataset").resolve()
        if folder.is_dir() and folder not in found:
            found.append(folder)
    return found


def _from_book_pickle(path: Path, normalize: bool, flatten: bool, one_hot_label: bool) -> Any:
    """The splits of the book's ``mnist.pkl`` (uint8 images (N, 784), labels (N,))."""
    arrays = load_arrays(path)
    for key, width in _BOOK_KEYS.items():
        value = arrays.get(key)
        shape_ok = value is not None and (
            value.ndim == 1 if width == 0 else value.shape[1:] == (width,)
        )
        if value is None or not shape_ok or value.dtype != np.uint8:
            found = None if value is None else f"{value.dtype} {value.shape}"
            raise ValueError(f"{path}: {key} must be uint8 of the book's shape, found {found}")
    splits = []
    for prefix in ("train", "test"):
        x: np.ndarray = arrays[f"{prefix}_img"]
        t: np.ndarray = arrays[f"{prefix}_label"].astype(np.int64)
        if normalize:
            x = np.divide(x, np.float32(255.0), dtype=np.float32)
        if not flatten:
            x = x.reshape(-1, 1, 28, 28)
        if one_hot_label:
            t = np.eye(10, dtype=np.float32)[t]
        splits.append((x, t))
    return tuple(splits)


def load_mnist(normalize: bool = True, flatten: bool = True, one_hot_label: bool = False) -> Any:
    """MNIST as the book loads it: ``(x_train, t_train), (x_test, t_test)``.

    normalize: pixels as float32 in [0, 1] (else uint8 0..255); flatten: images as rows
    ``(N, 784)`` (else ``(N, 1, 28, 28)``); one_hot_label: labels as one-hot rows
    ``(N, 10)`` (else integers ``(N,)``). See the module docstring for where the
    digits come from.
    """
    options = (normalize, flatten, one_hot_label)
    for folder in _dataset_folders():
        if all((folder / name).is_file() for name in MNIST_FILES.values()):
            return _load_mnist(*options, dataset="mnist", data_dir=folder, download=False)
        if (folder / "mnist.pkl").is_file():
            return _from_book_pickle(folder / "mnist.pkl", *options)
    try:
        return _load_mnist(*options, dataset="mnist")
    except DataUnavailableError:
        print(
            "mitbadak: MNIST is not on this machine and could not be downloaded; using the "
            "bundled sample of 10,000 real MNIST digits (8,000 train / 2,000 test) instead",
            file=sys.stderr,
        )
        return _load_mnist(*options, dataset="mnist-sample")
