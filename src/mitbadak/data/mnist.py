"""``load_mnist``: MNIST, Fashion-MNIST and a bundled MNIST sample, as the book loads them.

>>> from mitbadak.data import load_mnist
>>> (x_train, t_train), (x_test, t_test) = load_mnist(dataset="mnist-sample")
>>> x_train.shape, x_train.dtype, t_train.dtype
((8000, 784), dtype('float32'), dtype('int64'))

``"mnist"`` and ``"fashion-mnist"`` are read from the four original IDX files, found on
disk or downloaded (see :func:`mitbadak.data.download.locate`), and checked against their
known SHA-256 hashes before parsing. Parsed arrays are cached as an uncompressed ``.npz``
in the cache folder (``$MITBADAK_DATA``, else the OS user cache), so later loads skip the
gzip decoding. ``"mnist-sample"`` is 10,000 real MNIST digits shipped inside the package
(8,000 train / 2,000 test, stratified by class), for offline use and quick runs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from importlib.resources.abc import Traversable

import numpy as np
from numpy.typing import NDArray

from mitbadak.data.cache import (
    array_cache_path,
    discard_array_cache,
    read_array_cache,
    write_array_cache,
)
from mitbadak.data.download import locate, verify_data_dir
from mitbadak.data.idx import idx_magic, read_idx
from mitbadak.data.sources import SOURCES, DataSource, DataUnavailableError

__all__ = ["CLASS_NAMES", "DATASETS", "MNIST_FILES", "SAMPLE_FILE", "class_names", "load_mnist"]

#: Names accepted by ``load_mnist(dataset=...)``.
DATASETS: tuple[str, ...] = ("mnist", "fashion-mnist", "mnist-sample")

#: What each class index means, for datasets whose classes are not simply the digits.
CLASS_NAMES: dict[str, tuple[str, ...]] = {
    "fashion-mnist": (
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ),
}


def class_names(dataset: str) -> list[str] | None:
    """The names of ``dataset``'s classes by index, or None where the index is the digit."""
    names = CLASS_NAMES.get(dataset)
    return None if names is None else list(names)


#: Array name -> IDX file name, the same for MNIST and Fashion-MNIST.
MNIST_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte.gz",
    "t_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "t_test": "t10k-labels-idx1-ubyte.gz",
}

#: File name of the bundled sample inside this package.
SAMPLE_FILE = "mnist_sample.npz"

_IMAGE_SIDE = 28
_N_CLASSES = 10
_IMAGE_MAGIC = idx_magic(np.dtype(np.uint8), 3)  # 2051
_LABEL_MAGIC = idx_magic(np.dtype(np.uint8), 1)  # 2049


@dataclass(frozen=True)
class _Split:
    """Raw images ``(N, 28, 28)`` uint8 and labels ``(N,)`` uint8, already validated."""

    x: NDArray[np.uint8]
    t: NDArray[np.uint8]


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    dataset: str | DataSource = "mnist",
    data_dir: str | os.PathLike[str] | None = None,
    download: bool = True,
) -> tuple[
    tuple[NDArray[np.floating | np.uint8], NDArray[np.int64 | np.float32]],
    tuple[NDArray[np.floating | np.uint8], NDArray[np.int64 | np.float32]],
]:
    """Load an MNIST-style dataset as the book's ``load_mnist`` does.

    Parameters
    ----------
    normalize : bool
        Scale pixels to float32 in [0, 1]; otherwise keep uint8 in 0..255.
    flatten : bool
        Images as rows ``(N, 784)``; otherwise ``(N, 1, 28, 28)`` (one channel).
    one_hot_label : bool
        Labels as float32 one-hot rows ``(N, 10)``; otherwise int64 class indices ``(N,)``.
        int64, not the files' uint8, so that arithmetic and indexing with labels never
        wrap around.
    dataset : str or DataSource
        ``"mnist"``, ``"fashion-mnist"`` or ``"mnist-sample"`` (see ``DATASETS``), or a
        :class:`DataSource` with the four MNIST file names (e.g. a private mirror).
    data_dir : str or os.PathLike, optional
        A folder holding the four ``*-ubyte.gz`` files, searched first; the files in it
        are checked against their hashes on every load. Ignored for ``"mnist-sample"``.
    download : bool
        Download missing files (into the cache folder). With False, never use the network.

    Returns
    -------
    (x_train, t_train), (x_test, t_test)
        Train and test images and labels. MNIST and Fashion-MNIST have 60,000 train and
        10,000 test examples; the sample has 8,000 and 2,000.

    Raises
    ------
    ValueError
        If ``dataset`` is unknown, or a file is invalid: corrupt gzip, not IDX, an image
        file where labels belong (or the reverse), image and label counts that differ, a
        label outside 0..9, a file failing its hash in ``data_dir``, or a ``data_dir``
        that is not a folder. The message names the file.
    DataUnavailableError
        If files are missing and cannot be downloaded (or ``download`` is False).

    Notes
    -----
    Parsed arrays are cached in ``cache_dir()``; a cache whose recorded hashes, keys or
    shapes are wrong, or which fails its zip CRC, is deleted and rebuilt, never used. Once
    cached, a dataset loads without parsing its source files again (files in ``data_dir``
    are still hashed).
    """
    train, test = _load_splits(dataset, data_dir=data_dir, download=download)
    train_arrays = _prepare(train, normalize, flatten, one_hot_label)
    # Drop the uint8 training images before converting the test set, so the peak holds
    # one float32 copy plus its uint8 source, not both sources.
    del train
    return train_arrays, _prepare(test, normalize, flatten, one_hot_label)


def _load_splits(
    dataset: str | DataSource,
    *,
    data_dir: str | os.PathLike[str] | None,
    download: bool,
) -> tuple[_Split, _Split]:
    if isinstance(dataset, DataSource):
        return _load_source(dataset, data_dir, download)
    if dataset == "mnist-sample":
        return _load_sample()
    if dataset in SOURCES:
        return _load_source(SOURCES[dataset], data_dir, download)
    raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(DATASETS)}")


def _load_source(
    source: DataSource, data_dir: str | os.PathLike[str] | None, download: bool
) -> tuple[_Split, _Split]:
    if set(source.files) != set(MNIST_FILES.values()):
        raise ValueError(
            f"{source.name}: files must be exactly {sorted(MNIST_FILES.values())}, "
            f"received {sorted(source.files)}"
        )
    if data_dir is not None:
        # The user's files are checked on every load, even when the cache could answer:
        # a corrupt or different file must never be passed over in silence.
        verify_data_dir(source, data_dir)
    try:
        cache_name = array_cache_path(source).name
        cached = read_array_cache(source, MNIST_FILES)
        return _validate(cached, {key: f"{cache_name}[{key}]" for key in MNIST_FILES})
    except (FileNotFoundError, DataUnavailableError):
        pass
    except (ValueError, OSError):
        # Stale, corrupt or unreadable: never trust any of it; rebuild from the sources.
        discard_array_cache(source)

    paths = locate(source, data_dir, download=download)
    arrays = {key: read_idx(paths[fname]) for key, fname in MNIST_FILES.items()}
    splits = _validate(arrays, MNIST_FILES)
    write_array_cache(
        source,
        {
            "x_train": splits[0].x,
            "t_train": splits[0].t,
            "x_test": splits[1].x,
            "t_test": splits[1].t,
        },
    )
    return splits


def _sample_resource() -> Traversable:
    """The bundled sample file (a function, so tests can substitute a broken one)."""
    return resources.files("mitbadak.data") / SAMPLE_FILE


def _load_sample() -> tuple[_Split, _Split]:
    with (
        resources.as_file(_sample_resource()) as path,
        np.load(path, allow_pickle=False) as npz,
    ):
        missing = [key for key in MNIST_FILES if key not in npz]
        if missing:
            raise ValueError(f"{SAMPLE_FILE}: missing arrays {missing}; found {sorted(npz)}")
        arrays = {key: npz[key] for key in MNIST_FILES}
    return _validate(arrays, {key: f"{SAMPLE_FILE}[{key}]" for key in MNIST_FILES})


def _validate(
    arrays: dict[str, NDArray[np.generic]], names: dict[str, str]
) -> tuple[_Split, _Split]:
    """Check both splits; ``names`` says how to call each array in error messages."""
    train = _check_split(arrays["x_train"], names["x_train"], arrays["t_train"], names["t_train"])
    test = _check_split(arrays["x_test"], names["x_test"], arrays["t_test"], names["t_test"])
    return train, test


def _describe(a: NDArray[np.generic]) -> str:
    text = f"{a.ndim} dim{'s' if a.ndim != 1 else ''} {a.dtype}, shape {a.shape}"
    try:
        return f"{text} (IDX magic {idx_magic(a.dtype, a.ndim)})"
    except ValueError:
        return text


def _check_split(
    x: NDArray[np.generic], x_name: str, t: NDArray[np.generic], t_name: str
) -> _Split:
    side = _IMAGE_SIDE
    if x.dtype != np.uint8 or x.ndim != 3:
        raise ValueError(
            f"{x_name}: expected an image file (uint8, 3 dims N x {side} x {side}, "
            f"IDX magic {_IMAGE_MAGIC}), got {_describe(x)}"
        )
    if x.shape[1:] != (side, side):
        raise ValueError(
            f"{x_name}: expected {side} x {side} images, got shape {x.shape} "
            f"(images of {x.shape[1]} x {x.shape[2]})"
        )
    if t.dtype != np.uint8 or t.ndim != 1:
        raise ValueError(
            f"{t_name}: expected a label file (uint8, 1 dim, IDX magic {_LABEL_MAGIC}), "
            f"got {_describe(t)}"
        )
    if x.shape[0] != t.shape[0]:
        raise ValueError(
            f"{x_name} holds {x.shape[0]} images but {t_name} holds {t.shape[0]} labels; "
            f"expected one label per image"
        )
    if x.shape[0] == 0:
        raise ValueError(f"{x_name}: holds 0 images; expected at least 1")
    images = x.astype(np.uint8, copy=False)
    labels = t.astype(np.uint8, copy=False)
    bad = np.flatnonzero(labels >= _N_CLASSES)
    if bad.size:
        first = int(bad[0])
        raise ValueError(
            f"{t_name}: label {int(labels[first])} at index {first} is outside "
            f"0..{_N_CLASSES - 1} ({bad.size} such label{'s' if bad.size > 1 else ''})"
        )
    return _Split(x=images, t=labels)


def _prepare(
    split: _Split, normalize: bool, flatten: bool, one_hot_label: bool
) -> tuple[NDArray[np.floating | np.uint8], NDArray[np.int64 | np.float32]]:
    n = split.x.shape[0]
    x: NDArray[np.floating | np.uint8]
    if flatten:
        x = split.x.reshape(n, _IMAGE_SIDE * _IMAGE_SIDE)
    else:
        x = split.x.reshape(n, 1, _IMAGE_SIDE, _IMAGE_SIDE)
    if normalize:
        # float32 throughout: training runs in float32, and 255/255 is exactly 1.0.
        # One pass that converts and divides, with no temporary array.
        x = np.divide(x, np.float32(255.0), dtype=np.float32)
    t: NDArray[np.int64 | np.float32]
    if one_hot_label:
        t = np.eye(_N_CLASSES, dtype=np.float32)[split.t]
    else:
        t = split.t.astype(np.int64)
    return x, t
