"""The datasets' files: what they are (names and hashes), where they are served from, and
the folder we keep them in.

Every file is identified by its hash, never by where it was found: see
:mod:`mitbadak.data.download` for how files are found and fetched, and
:mod:`mitbadak.data.cache` for the cache of parsed arrays.
"""

from __future__ import annotations

import hashlib
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

with warnings.catch_warnings():
    # pooch imports tqdm.auto, which warns in a Jupyter kernel without ipywidgets; pooch's
    # bar is never drawn there (download._auto_progressbar), so the warning is noise.
    warnings.filterwarnings("ignore", message="IProgress not found")
    import pooch

__all__ = [
    "ENV_VAR",
    "FASHION_MNIST",
    "MNIST",
    "SOURCES",
    "DataSource",
    "DataUnavailableError",
    "MAX_UNKNOWN_SIZE",
    "cache_dir",
    "describe_cache_dir",
    "matching_hash",
]

#: Environment variable naming the folder for downloads and parsed-array caches.
ENV_VAR = "MITBADAK_DATA"

_HASH_ALGORITHMS = ("md5", "sha1", "sha256", "sha512")

#: The most a download may grow to when its source does not give the file's size.
MAX_UNKNOWN_SIZE = 256 << 20


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

    Raised when every mirror failed, when the data folder cannot be used, or when
    ``download=False`` and a file is missing; the message lists what was tried and what to
    do instead, and ``reason`` says in a few words why (``"no network: ..."``, ``"the
    mirrors sent an HTML page instead of the data"``, ``"MITBADAK_DATA=... is not a
    writable folder"``). Not a ``ValueError``: nothing is wrong with the caller's
    arguments, so a CLI can catch this and fall back to the bundled ``"mnist-sample"``.
    """

    def __init__(self, message: str, *, reason: str = "") -> None:
        super().__init__(message)
        self.reason = reason or message.split("\n", 1)[0]


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
    sizes : Mapping[str, int]
        File name -> its size in bytes on the mirrors: a download that grows past it is
        stopped at once (without it, at :data:`MAX_UNKNOWN_SIZE`).
    """

    name: str
    files: Mapping[str, str]
    mirrors: tuple[str, ...]
    system_dirs: tuple[Path, ...] = ()
    also_accept: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    sizes: Mapping[str, int] = field(default_factory=dict)

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
        for fname, size in self.sizes.items():
            if fname not in self.files:
                raise ValueError(
                    f"{self.name}: sizes names {fname!r}, which is not one of the files "
                    f"{sorted(self.files)}"
                )
            if not isinstance(size, int) or isinstance(size, bool) or size <= 0:
                raise ValueError(
                    f"{self.name}: size of {fname} must be a positive int, received {size!r}"
                )

    def size_limit(self, fname: str) -> int:
        """The most bytes a download of ``fname`` may have."""
        return self.sizes.get(fname, MAX_UNKNOWN_SIZE)

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
    sizes={
        "train-images-idx3-ubyte.gz": 9912422,
        "train-labels-idx1-ubyte.gz": 28881,
        "t10k-images-idx3-ubyte.gz": 1648877,
        "t10k-labels-idx1-ubyte.gz": 4542,
    },
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
    # Zalando's files: Debian's sizes plus the gzip name field Debian strips.
    sizes={
        "train-images-idx3-ubyte.gz": 26421880,
        "train-labels-idx1-ubyte.gz": 29515,
        "t10k-images-idx3-ubyte.gz": 4422102,
        "t10k-labels-idx1-ubyte.gz": 5148,
    },
)

#: The downloadable datasets by name.
SOURCES: Mapping[str, DataSource] = {MNIST.name: MNIST, FASHION_MNIST.name: FASHION_MNIST}


def cache_dir() -> Path:
    """Folder for downloads and parsed-array caches.

    ``$MITBADAK_DATA`` when set and non-empty, else the OS user cache
    (``pooch.os_cache("mitbadak")``, e.g. ``~/.cache/mitbadak`` on Linux). Not created here.
    ``DataUnavailableError`` if ``$MITBADAK_DATA`` names a user's home that does not exist.
    """
    env = os.environ.get(ENV_VAR, "")
    if env:
        try:
            return Path(env).expanduser()
        except RuntimeError as exc:  # "~someone" with no such user
            reason = f"{ENV_VAR}={env!r} is not a usable folder ({exc})"
            raise DataUnavailableError(
                f"{reason}; set {ENV_VAR} to a folder", reason=reason
            ) from exc
    return Path(pooch.os_cache("mitbadak"))


def describe_cache_dir() -> str:
    """How the data folder was chosen, for messages: ``MITBADAK_DATA=...`` or the path."""
    env = os.environ.get(ENV_VAR, "")
    return f"{ENV_VAR}={env!r}" if env else f"the data folder {pooch.os_cache('mitbadak')}"


def _file_digest(path: Path, alg: str) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, alg).hexdigest()


def matching_hash(path: Path, accepted: Iterable[str]) -> tuple[bool, str]:
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
