"""Tiny IDX files and datasets for the mitbadak.data tests; shared by the test_data_* modules."""

from __future__ import annotations

import gzip
import hashlib
import struct
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from mitbadak.data import MNIST_FILES, DataSource

TYPE_CODES: dict[str, int] = {
    "u1": 0x08,
    "i1": 0x09,
    "i2": 0x0B,
    "i4": 0x0C,
    "f4": 0x0D,
    "f8": 0x0E,
}


def idx_bytes(
    array: NDArray[np.generic],
    *,
    type_code: int | None = None,
    dims: tuple[int, ...] | None = None,
    header_order: str = ">",
    payload_order: str = ">",
) -> bytes:
    """Write ``array`` as IDX bytes; the keyword arguments build broken files on purpose.

    ``dims`` overrides the header's dimensions (payload unchanged); ``header_order="<"``
    writes the magic and dims little-endian, as a buggy writer using native order would.
    """
    a = np.asarray(array)
    code = TYPE_CODES[a.dtype.str[1:]] if type_code is None else type_code
    shape = a.shape if dims is None else dims
    magic = struct.pack(f"{header_order}I", code << 8 | len(shape))
    header = magic + struct.pack(f"{header_order}{len(shape)}I", *shape)
    return header + a.astype(a.dtype.newbyteorder(payload_order)).tobytes()


def gz(data: bytes) -> bytes:
    """Gzip with a fixed mtime, so equal inputs give equal files (and hashes)."""
    return gzip.compress(data, mtime=0)


def sha256_hash(path: Path) -> str:
    """The file's hash in the ``"sha256:<hex>"`` form DataSource uses."""
    return "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest()


def make_arrays(n_train: int = 20, n_test: int = 10, seed: int = 0) -> dict[str, np.ndarray]:
    """Random uint8 images ``(N, 28, 28)`` and labels cycling through 0..9."""
    rng = np.random.default_rng(seed)
    return {
        "x_train": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "t_train": (np.arange(n_train) % 10).astype(np.uint8),
        "x_test": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "t_test": ((np.arange(n_test) + 3) % 10).astype(np.uint8),
    }


def write_mnist_files(
    folder: Path,
    arrays: dict[str, np.ndarray] | None = None,
    replace: dict[str, bytes] | None = None,
) -> dict[str, str]:
    """Write the four MNIST ``.gz`` files into ``folder``; return file name -> sha256 hash.

    ``replace`` maps a file name to the exact bytes to write instead (already gzipped or
    not, as the case needs).
    """
    arrays = make_arrays() if arrays is None else arrays
    replace = replace or {}
    folder.mkdir(parents=True, exist_ok=True)
    hashes: dict[str, str] = {}
    for key, fname in MNIST_FILES.items():
        path = folder / fname
        path.write_bytes(replace.get(fname, gz(idx_bytes(arrays[key]))))
        hashes[fname] = sha256_hash(path)
    return hashes


def tiny_source(
    hashes: dict[str, str], mirrors: tuple[str, ...] = (), name: str = "tiny"
) -> DataSource:
    """A DataSource for generated files; no system folders, so nothing outside tmp is read."""
    return DataSource(name=name, files=dict(hashes), mirrors=mirrors)
