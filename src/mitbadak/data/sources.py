"""Where dataset files come from: user folders, system folders, the cache, and mirrors.

Every file is identified by its hash, never by where it was found. A file that fails its
hash is never parsed: in the user's ``data_dir`` it is an error (we do not delete the
user's files), in a system folder it is skipped with a warning, in our own cache it is
deleted and downloaded again. Downloads go through :func:`pooch.retrieve`, which streams
into a temporary file next to the target and renames it only once the hash matches, so a
failed or corrupt download never leaves a file behind.

This module also owns the cache of parsed arrays (one uncompressed ``.npz`` per dataset,
keyed by the source files' hashes).
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pooch
from numpy.typing import NDArray

__all__ = [
    "ENV_VAR",
    "FASHION_MNIST",
    "MNIST",
    "SOURCES",
    "DataSource",
    "DataUnavailableError",
    "cache_dir",
    "fetch",
    "locate",
]

#: Environment variable naming the folder for downloads and parsed-array caches.
ENV_VAR = "MITBADAK_DATA"

_HASH_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")


def _split_hash(known: str, what: str) -> tuple[str, str]:
    alg, sep, digest = known.partition(":")
    if not sep:
        alg, digest = "sha256", known
    alg = alg.lower()
    if alg not in _HASH_ALGORITHMS:
        raise ValueError(
            f"{what}: unknown hash algorithm {alg!r} in {known!r}; "
            f"expected one of {_HASH_ALGORITHMS}"
        )
    expected_len = hashlib.new(alg).digest_size * 2
    if len(digest) != expected_len or any(c not in "0123456789abcdefABCDEF" for c in digest):
        raise ValueError(
            f"{what}: {known!r} is not a {alg} digest (expected {expected_len} hex digits)"
        )
    return alg, digest.lower()


def _normalise_hash(known: str) -> str:
    alg, digest = _split_hash(known, "hash")
    return f"{alg}:{digest}"


class DataUnavailableError(RuntimeError):
    """The dataset's files are neither on disk nor downloadable.

    Raised when every mirror failed or when ``download=False`` and a file is missing; the
    message lists what was tried and what to do instead. Not a ``ValueError``: nothing is
    wrong with the caller's arguments, so a CLI can catch this and fall back to the bundled
    ``"mnist-sample"``.
    """


@dataclass(frozen=True)
class DataSource:
    """A dataset made of fixed files, each known by its hash.

    Parameters
    ----------
    name : str
        Folder name under the cache directory and prefix of the parsed-array cache file.
    files : Mapping[str, str]
        File name -> hash of the file the mirrors serve, as ``"sha256:<hex>"`` (pooch's
        ``"alg:hex"`` form; a bare hex string means SHA-256). These four hashes also key
        the parsed-array cache.
    mirrors : tuple[str, ...]
        Base URLs tried in order; a file's URL is ``mirror + file name``.
    system_dirs : tuple[Path, ...]
        Read-only folders searched after ``data_dir`` (e.g. a Debian package's files).
    also_accept : Mapping[str, tuple[str, ...]]
        File name -> further hashes a local copy may have and still be the same data,
        e.g. Debian's copies, whose gzip headers were rewritten (name and time stripped)
        while the compressed payload stayed byte-identical.
    """

    name: str
    files: Mapping[str, str]
    mirrors: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    also_accept: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or self.name in (".", "..") or any(c in self.name for c in "/\\"):
            raise ValueError(f"name must be a plain folder name, received name={self.name!r}")
        if not self.files:
            raise ValueError(f"{self.name}: files must name at least one file, received {{}}")
        for fname, known in self.files.items():
            _split_hash(known, f"{self.name}: hash of {fname}")
        for fname, extra in self.also_accept.items():
            if fname not in self.files:
                raise ValueError(
                    f"{self.name}: also_accept names {fname!r}, which is not one of the "
                    f"files {sorted(self.files)}"
                )
            for known in extra:
                _split_hash(known, f"{self.name}: accepted hash of {fname}")

    def accepted_hashes(self, fname: str) -> tuple[str, ...]:
        """Every hash a local copy of ``fname`` may have: the mirrors' first."""
        return (self.files[fname], *self.also_accept.get(fname, ()))

    def url(self, mirror: str, fname: str) -> str:
        """The address of ``fname`` on ``mirror``."""
        return mirror.rstrip("/") + "/" + fname

    def cache_key(self) -> tuple[str, ...]:
        """Lines ``"file=hash"`` identifying the data, stored in and compared to the cache."""
        return tuple(f"{fname}={_normalise_hash(h)}" for fname, h in sorted(self.files.items()))


_MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    # The original home, last: it has been slow, rate-limited or asking for a login at times.
    "http://yann.lecun.com/exdb/mnist/",
)

#: MNIST (LeCun, Cortes, Burges), the four original gzip files.
MNIST = DataSource(
    name="mnist",
    files={
        "train-images-idx3-ubyte.gz": (
            "sha256:440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"
        ),
        "train-labels-idx1-ubyte.gz": (
            "sha256:3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "sha256:8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "sha256:f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"
        ),
    },
    mirrors=_MNIST_MIRRORS,
)

#: Fashion-MNIST (Xiao, Rasul, Vollgraf 2017), https://github.com/zalandoresearch/fashion-mnist
#:
#: ``files`` holds the SHA-256 of Zalando's published files. Zalando publishes only MD5s
#: (train-images 8d4fb7e6c68d591d4c3dfef9ec88bf0d, train-labels
#: 25c81989df183df01b3e8a0aad5dffbe, t10k-images bef4ecab320f06d8554ea6380940ec79,
#: t10k-labels bb300cfdad3c16e7a12a480ee83cd310); the SHA-256s below are of files rebuilt
#: from Debian's copies by restoring the gzip header fields Debian strips (FNAME and the
#: 2017-08-31 mtime), and each rebuilt file matches Zalando's MD5.
#: ``also_accept`` holds the SHA-256 of Debian's copies (package dataset-fashion-mnist,
#: 0.0~git20200523.55506a9-1), whose gzip headers differ but whose data is the same.
FASHION_MNIST = DataSource(
    name="fashion-mnist",
    files={
        "train-images-idx3-ubyte.gz": (
            "sha256:3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"
        ),
        "train-labels-idx1-ubyte.gz": (
            "sha256:a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"
        ),
        "t10k-images-idx3-ubyte.gz": (
            "sha256:346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "sha256:67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"
        ),
    },
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
    ),
    system_dirs=(Path("/usr/share/datasets/fashion-mnist"),),
    also_accept={
        "train-images-idx3-ubyte.gz": (
            "sha256:b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",
        ),
        "train-labels-idx1-ubyte.gz": (
            "sha256:0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",
        ),
        "t10k-images-idx3-ubyte.gz": (
            "sha256:cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
        ),
        "t10k-labels-idx1-ubyte.gz": (
            "sha256:8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
        ),
    },
)

#: The downloadable datasets by name.
SOURCES: Mapping[str, DataSource] = {MNIST.name: MNIST, FASHION_MNIST.name: FASHION_MNIST}


def cache_dir() -> Path:
    """Folder for downloads and parsed-array caches.

    ``$MITBADAK_DATA`` when set and non-empty, else the OS user cache
    (``pooch.os_cache("mitbadak")``, e.g. ``~/.cache/mitbadak`` on Linux). Not created here.
    """
    env = os.environ.get(ENV_VAR, "")
    if env:
        return Path(env).expanduser()
    return Path(pooch.os_cache("mitbadak"))


def _file_digest(path: Path, alg: str) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, alg).hexdigest()


def _matching_hash(path: Path, accepted: Iterable[str]) -> tuple[bool, str]:
    """Whether ``path`` has one of the ``accepted`` hashes; also its hash, for messages."""
    digests: dict[str, str] = {}
    first = ""
    for known in accepted:
        alg, digest = _split_hash(known, str(path))
        if alg not in digests:
            digests[alg] = _file_digest(path, alg)
        first = first or f"{alg}:{digests[alg]}"
        if digests[alg] == digest:
            return True, f"{alg}:{digest}"
    return False, first


def _auto_progressbar() -> bool:
    # A progress bar redrawn into a log file or a CI transcript is noise; only draw on a TTY.
    stream = sys.stderr
    return stream is not None and stream.isatty()


def locate(
    source: DataSource,
    data_dir: str | os.PathLike[str] | None = None,
    *,
    download: bool = True,
    progressbar: bool | None = None,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Find every file of ``source`` on disk, downloading the missing ones.

    Each file is looked for in ``data_dir`` (if given), then ``source.system_dirs``, then
    ``cache_dir() / source.name``; the first copy whose hash is accepted wins. Missing files
    are downloaded into ``cache_dir() / source.name`` (never into ``data_dir``).

    Parameters
    ----------
    source : DataSource
        The dataset.
    data_dir : str or os.PathLike, optional
        A folder holding the files under their usual names.
    download : bool
        If False, never touch the network: a missing file is an error.
    progressbar : bool, optional
        Draw download progress on stderr; by default only when stderr is a terminal.
    timeout : float
        Seconds to wait for a mirror to connect or send data.

    Returns
    -------
    dict[str, Path]
        File name -> verified local path, for every name in ``source.files``.

    Raises
    ------
    ValueError
        If a file in ``data_dir`` exists but fails its hash.
    DataUnavailableError
        If a file is missing and ``download`` is False or every mirror failed.
    """
    download_dir = cache_dir() / source.name
    folders: list[tuple[Path, str]] = []
    if data_dir is not None:
        folders.append((Path(data_dir), "data_dir"))
    folders += [(folder, "system") for folder in source.system_dirs]
    folders.append((download_dir, "cache"))

    found: dict[str, Path] = {}
    for fname in source.files:
        for folder, kind in folders:
            path = folder / fname
            if not path.is_file():
                continue
            ok, actual = _matching_hash(path, source.accepted_hashes(fname))
            if ok:
                found[fname] = path
                break
            expected = " or ".join(source.accepted_hashes(fname))
            if kind == "data_dir":
                raise ValueError(
                    f"{path}: hash {actual} is not the known {source.name} {fname} "
                    f"({expected}); the file is corrupt or a different version, replace it "
                    f"or remove it from {folder}"
                )
            if kind == "system":
                warnings.warn(
                    f"ignoring {path}: hash {actual} is not the known {expected}",
                    stacklevel=2,
                )
            # A bad copy in our own cache is left for fetch() to delete and download again.

    missing = [fname for fname in source.files if fname not in found]
    if missing and not download:
        searched = ", ".join(str(folder) for folder, _ in folders)
        raise DataUnavailableError(
            f"{source.name}: {', '.join(missing)} not found (searched {searched}) and "
            f"download=False. {_what_to_do(source)}"
        )
    if missing:
        found.update(fetch(source, download_dir, missing, progressbar=progressbar, timeout=timeout))
    return found


def fetch(
    source: DataSource,
    dest_dir: str | os.PathLike[str],
    names: Iterable[str] | None = None,
    *,
    progressbar: bool | None = None,
    timeout: float = 30.0,
) -> dict[str, Path]:
    """Download files of ``source`` into ``dest_dir``, trying each mirror in order.

    A file already in ``dest_dir`` with the right hash is kept; one with a wrong hash is
    deleted first. A download whose hash does not match is discarded by pooch (no file or
    temporary file stays behind) and the next mirror is tried. Stops at the first file
    that no mirror could provide.

    Parameters
    ----------
    source : DataSource
        The dataset: mirrors and known hashes.
    dest_dir : str or os.PathLike
        Folder to download into; created if missing. Treated as ours to write and delete in.
    names : iterable of str, optional
        Which files; default all of ``source.files``.
    progressbar : bool, optional
        Draw download progress on stderr; by default only when stderr is a terminal.
    timeout : float
        Seconds to wait for a mirror to connect or send data.

    Returns
    -------
    dict[str, Path]
        File name -> verified path in ``dest_dir``.

    Raises
    ------
    ValueError
        If ``names`` holds a file that is not in ``source.files``.
    DataUnavailableError
        If every mirror failed for some file (the message lists each address tried and
        why it failed), or ``dest_dir`` cannot be created.
    """
    dest = Path(dest_dir)
    wanted = list(source.files) if names is None else list(names)
    unknown = [fname for fname in wanted if fname not in source.files]
    if unknown:
        raise ValueError(
            f"{source.name}: unknown file(s) {unknown}; expected names from {sorted(source.files)}"
        )
    if progressbar is None:
        progressbar = _auto_progressbar()
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise DataUnavailableError(
            f"{source.name}: cannot create the download folder {dest} ({exc}); set "
            f"{ENV_VAR} to a writable folder. {_what_to_do(source)}"
        ) from exc
    downloader = pooch.HTTPDownloader(progressbar=progressbar, timeout=timeout)

    # pooch logs every attempt at INFO level; failed attempts are reported once, in the
    # error below, and a real download shows its progress bar instead.
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        return _fetch_files(source, dest, wanted, downloader)
    finally:
        logger.setLevel(level)


def _fetch_files(
    source: DataSource, dest: Path, wanted: list[str], downloader: pooch.HTTPDownloader
) -> dict[str, Path]:
    fetched: dict[str, Path] = {}
    for fname in wanted:
        target = dest / fname
        if target.is_file():
            if _matching_hash(target, source.accepted_hashes(fname))[0]:
                fetched[fname] = target
            else:
                # Our own copy and corrupt: delete it now, so that it is gone even if the
                # download fails, and so that pooch does not mistake it for an old version.
                target.unlink()
    for fname in wanted:
        if fname in fetched:
            continue
        failures: list[str] = []
        for mirror in source.mirrors:
            url = source.url(mirror, fname)
            try:
                pooch.retrieve(
                    url,
                    known_hash=source.files[fname],
                    fname=fname,
                    path=dest,
                    downloader=downloader,
                )
            except (ValueError, OSError) as exc:
                # ValueError: pooch's hash mismatch (it has already deleted the download).
                # OSError: requests' errors (HTTP status, connection, timeout) and disk errors.
                failures.append(f"  {url}\n    {type(exc).__name__}: {_one_line(exc)}")
                continue
            fetched[fname] = dest / fname
            break
        else:
            tried = "\n".join(failures) if failures else "  (no mirrors configured)"
            raise DataUnavailableError(
                f"{source.name}: could not download {fname}; every address failed:\n"
                f"{tried}\n{_what_to_do(source)}"
            )
    return fetched


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


def _what_to_do(source: DataSource) -> str:
    names = ", ".join(source.files)
    return (
        f"To use {source.name} offline, put the files {names} in a folder and pass "
        f"data_dir=<folder> (or copy them into {cache_dir() / source.name}, or set "
        f"{ENV_VAR}=<folder> and copy them into <folder>/{source.name}); or use "
        f'dataset="mnist-sample", which ships with mitbadak and needs no download.'
    )


# --- cache of parsed arrays -------------------------------------------------------------

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
        If it is not a readable ``.npz`` (bad zip, CRC error, truncated), lacks a key, or
        records other source hashes. The caller deletes it and rebuilds.
    """
    path = array_cache_path(source)
    try:
        # Opened here rather than by np.load, which leaks its handle when the zip is bad.
        with path.open("rb") as f:
            # allow_pickle=False: the cache is data only and must never execute anything.
            loaded = np.load(f, allow_pickle=False)
            if not isinstance(loaded, np.lib.npyio.NpzFile):
                raise ValueError(f"{path.name}: holds a single array, expected an .npz archive")
            with loaded as npz:
                return _read_npz(npz, path.name, source.cache_key(), keys)
    except FileNotFoundError:
        raise
    except Exception as exc:
        # Deliberately broad: a damaged zip fails in many ways (BadZipFile, EOFError,
        # zlib.error, NotImplementedError for a garbled compression field, ...), and for a
        # cache every one of them means the same thing: do not trust it, rebuild it.
        raise ValueError(f"{path.name}: unreadable cache ({type(exc).__name__}: {exc})") from exc


def _read_npz(
    npz: np.lib.npyio.NpzFile, name: str, expected: tuple[str, ...], keys: Iterable[str]
) -> dict[str, NDArray[np.generic]]:
    if _HASHES_KEY not in npz:
        raise ValueError(f"{name}: records no source hashes")
    stored = npz[_HASHES_KEY]
    if stored.dtype.kind != "U" or stored.ndim != 1 or tuple(stored.tolist()) != expected:
        raise ValueError(f"{name}: records hashes {stored.tolist()}, expected {list(expected)}")
    # Indexing an NpzFile reads the member in full, which makes zipfile check its CRC-32:
    # a flipped bit surfaces here as BadZipFile, not as wrong pixels.
    return {key: npz[key] for key in keys}


def write_array_cache(source: DataSource, arrays: Mapping[str, NDArray[np.generic]]) -> bool:
    """Cache ``arrays`` for ``source`` atomically; return False (and write nothing) on failure.

    Uncompressed on purpose: decompressing would cost about as much as parsing the gzip
    sources again, which would defeat the cache.
    """
    path = array_cache_path(source)
    tmp_name: str | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as f:
            members: dict[str, Any] = {_HASHES_KEY: np.array(source.cache_key()), **arrays}
            np.savez(f, **members)
        # Readers see either the old file or the complete new one, never a partial write.
        os.replace(tmp_name, path)
        return True
    except OSError:
        # A read-only or full cache folder only costs speed; loading must still work.
        if tmp_name is not None:
            Path(tmp_name).unlink(missing_ok=True)
        return False


def discard_array_cache(source: DataSource) -> None:
    """Delete the cached arrays of ``source`` if they exist (and can be deleted)."""
    try:
        array_cache_path(source).unlink(missing_ok=True)
    except OSError:
        pass
