"""The cache of parsed arrays: one uncompressed ``.npz`` per dataset, keyed by the hashes
of the source files it was built from.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mitbadak._files import atomic_target
from mitbadak._memory import check_fits
from mitbadak._npz import NpzArchive
from mitbadak.data.sources import DataSource, DataUnavailableError, cache_dir

__all__ = ["array_cache_path", "discard_array_cache", "read_array_cache", "write_array_cache"]


_HASHES_KEY = "source_hashes"


def array_cache_path(source: DataSource) -> Path:
    """Where the parsed arrays of ``source`` are cached; the name holds a digest of its hashes.

    A change of any source hash gives a new file name, so an old cache is never even read.
    """
    digest = hashlib.sha256("\n".join(source.cache_key()).encode()).hexdigest()[:16]
    return cache_dir() / f"{source.name}-{digest}.npz"


def read_array_cache(source: DataSource, keys: Iterable[str]) -> dict[str, NDArray[np.generic]]:
    """Read the cached arrays of ``source``; raise if the cache is missing, stale or corrupt.

    Parameters
    ----------
    source : DataSource
        The dataset whose hashes the cache must record.
    keys : iterable of str
        Array names the cache must hold.

    Returns
    -------
    dict[str, numpy.ndarray]
        The arrays, fully read into memory.

    Raises
    ------
    FileNotFoundError
        If there is no cache file.
    ValueError
        If it is not a readable ``.npz`` (bad zip, CRC error, truncated, compressed, not a
        regular file), lacks a key, records other source hashes, or holds more than the
        available memory. The caller deletes it and rebuilds.
    """
    path = array_cache_path(source)
    try:
        # Uncompressed members only: the cache never holds more than its size on disk,
        # and nothing is read before its header has been checked.
        with NpzArchive(path, max_members=16, stored_only=True) as archive:
            return _read_npz(archive, path.name, source.cache_key(), keys)
    except FileNotFoundError:
        raise
    except Exception as exc:
        # Deliberately broad: for a cache every failure means the same thing: do not
        # trust it, rebuild it.
        raise ValueError(f"{path.name}: unreadable cache ({type(exc).__name__}: {exc})") from exc


def _read_npz(
    archive: NpzArchive, name: str, expected: tuple[str, ...], keys: Iterable[str]
) -> dict[str, NDArray[np.generic]]:
    if _HASHES_KEY not in archive:
        raise ValueError(f"{name}: records no source hashes")
    header = archive.header(_HASHES_KEY)
    if header.dtype.kind != "U" or len(header.shape) != 1 or header.nbytes > 1 << 16:
        raise ValueError(f"{name}: records hashes as {header.dtype} {header.shape}")
    stored = archive.read(_HASHES_KEY, max_bytes=1 << 16)
    if tuple(stored.tolist()) != expected:
        raise ValueError(f"{name}: records hashes {stored.tolist()}, expected {list(expected)}")
    wanted = list(keys)
    missing = [key for key in wanted if key not in archive]
    if missing:
        raise ValueError(f"{name}: lacks {missing}")
    headers = {key: archive.header(key) for key in wanted}
    check_fits(sum(h.nbytes for h in headers.values()), f"reading {name}")
    # Reading each member in full makes zipfile check its CRC-32: a flipped bit surfaces
    # as BadZipFile, not as wrong pixels.
    return {key: archive.read(key, max_bytes=headers[key].nbytes) for key in wanted}


def write_array_cache(source: DataSource, arrays: Mapping[str, NDArray[np.generic]]) -> bool:
    """Cache ``arrays`` for ``source`` atomically; return False (and write nothing) on failure.

    Uncompressed on purpose: decompressing would cost about as much as parsing the gzip
    sources again, which would defeat the cache.
    """
    members: dict[str, Any] = {_HASHES_KEY: np.array(source.cache_key()), **arrays}
    try:
        path = array_cache_path(source)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Readers see either the old file or the complete new one, never a partial write.
        with atomic_target(path) as tmp, tmp.open("wb") as f:
            np.savez(f, **members)
        return True
    except (OSError, DataUnavailableError):
        # A read-only, full or unusable cache folder only costs speed; loading must still work.
        return False


def discard_array_cache(source: DataSource) -> None:
    """Delete the cached arrays of ``source`` if they exist (and can be deleted)."""
    try:
        array_cache_path(source).unlink(missing_ok=True)
    except (OSError, DataUnavailableError):
        pass
