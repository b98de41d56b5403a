"""Reading ``.npz`` archives with memory bounded by what the reader expects.

``np.load`` inflates a member in full before anyone can look at its shape, so a small
hostile file can ask for gigabytes (a zip bomb, or an ``.npy`` header claiming a huge
shape). Here the zip's central directory and each member's ``.npy`` header are read
first; the caller checks shape and dtype against what it expects, and only then is the
data read, exactly as many bytes as the header promised. Encrypted members and
compression methods other than stored and deflate (whose output zipfile can bound) are
refused, and so are object arrays: nothing is ever unpickled.

Every failure after the file is opened is a ``ValueError`` naming the file.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

import numpy as np
from numpy.lib import format as npy_format

from mitbadak._files import open_regular

__all__ = ["ArrayHeader", "NpzArchive"]

_ENCRYPTED = 0x1
_READABLE_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate"}
_CHUNK = 1 << 20


@dataclass(frozen=True)
class ArrayHeader:
    """What an ``.npy`` member's header promises."""

    shape: tuple[int, ...]
    dtype: np.dtype
    fortran_order: bool

    @property
    def nbytes(self) -> int:
        return math.prod(self.shape) * self.dtype.itemsize


class NpzArchive:
    """An ``.npz`` file opened for bounded reading; use as a context manager.

    Parameters
    ----------
    path : the file (must be a regular file; see :func:`mitbadak._files.open_regular`)
    max_members : more entries than this is refused before any is read
    stored_only : refuse compressed members (an uncompressed archive never holds more
        data than its own size on disk)
    """

    def __init__(
        self, path: str | os.PathLike[str], *, max_members: int = 1024, stored_only: bool = False
    ) -> None:
        self.path = Path(path)
        self._file = open_regular(self.path)
        try:
            self.size = os.fstat(self._file.fileno()).st_size
            self._zip = self._open_zip()
            self._members = self._index(max_members, stored_only)
        except BaseException:
            self._file.close()
            raise

    def _fail(self, message: str) -> ValueError:
        return ValueError(f"{self.path}: {message}")

    def _open_zip(self) -> zipfile.ZipFile:
        self._file.seek(0)
        if self._file.read(6) == b"\x93NUMPY":
            raise self._fail("is a single NumPy array (.npy), not an .npz archive")
        self._file.seek(0)
        try:
            return zipfile.ZipFile(self._file)
        except Exception as exc:
            # BadZipFile, but a damaged directory also gives OSError (a negative seek),
            # struct.error, UnicodeDecodeError, ...: for a file that is not ours, all alike.
            raise self._fail(f"not an .npz archive ({type(exc).__name__}: {exc})") from exc

    def _index(self, max_members: int, stored_only: bool) -> dict[str, zipfile.ZipInfo]:
        infos = self._zip.infolist()
        if len(infos) > max_members:
            raise self._fail(f"holds {len(infos)} entries, more than the {max_members} expected")
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            name = info.filename
            if not name.endswith(".npy"):
                raise self._fail(f"entry {name!r} is not a NumPy array (.npy)")
            key = name.removesuffix(".npy")
            if key in members:
                raise self._fail(f"entry {name!r} appears twice")
            if info.flag_bits & _ENCRYPTED:
                raise self._fail(f"entry {name!r} is encrypted")
            if info.compress_type not in _READABLE_METHODS or (
                stored_only and info.compress_type != zipfile.ZIP_STORED
            ):
                allowed = "stored" if stored_only else "stored or deflate"
                raise self._fail(
                    f"entry {name!r} uses zip compression method {info.compress_type}; "
                    f"expected {allowed}"
                )
            if info.compress_type == zipfile.ZIP_STORED and info.compress_size != info.file_size:
                raise self._fail(
                    f"entry {name!r} is stored uncompressed, yet its sizes differ "
                    f"({info.compress_size} and {info.file_size} bytes)"
                )
            members[key] = info
        packed = sum(info.compress_size for info in members.values())
        if packed > self.size:
            raise self._fail(
                f"its zip directory claims {packed} bytes of entries in a file of {self.size}"
            )
        return members

    def keys(self) -> list[str]:
        """Member names without their ``.npy`` suffix, in archive order."""
        return list(self._members)

    def __contains__(self, key: object) -> bool:
        return key in self._members

    def compressed_size(self, key: str) -> int:
        """Bytes the member takes in the file."""
        return self._members[key].compress_size

    def header(self, key: str) -> ArrayHeader:
        """Shape and dtype of member ``key``, read without touching its data.

        ``ValueError`` for a header numpy would not write, an object dtype (pickle), or
        a header whose data size disagrees with the size the zip directory records.
        """
        with self._open_member(key) as f:
            return self._read_header(key, f)[0]

    def _open_member(self, key: str) -> IO[bytes]:
        try:
            return self._zip.open(self._members[key])
        except Exception as exc:
            raise self._fail(f"entry {key!r} cannot be read ({type(exc).__name__}: {exc})") from exc

    def _read_header(self, key: str, f: IO[bytes]) -> tuple[ArrayHeader, int]:
        try:
            version = npy_format.read_magic(f)
            if version == (1, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_1_0(f)
            elif version == (2, 0):
                shape, fortran_order, dtype = npy_format.read_array_header_2_0(f)
            else:
                raise ValueError(f"unsupported .npy format version {version}")
            offset = f.tell()
        except Exception as exc:
            raise self._fail(
                f"entry {key!r} has no valid .npy header ({type(exc).__name__}: {exc})"
            ) from exc
        if dtype.hasobject:
            raise self._fail(
                f"entry {key!r} holds Python objects, which only pickle can read; "
                "mitbadak never unpickles a file"
            )
        if dtype.kind not in "biufcSU" or dtype.itemsize == 0:
            raise self._fail(f"entry {key!r} has dtype {dtype}, not one of plain numbers or text")
        header = ArrayHeader(tuple(int(d) for d in shape), dtype, bool(fortran_order))
        stored = self._members[key].file_size - offset
        if stored != header.nbytes:
            raise self._fail(
                f"entry {key!r}: its header promises {header.nbytes} bytes of data "
                f"(shape {header.shape}, {dtype}), the archive holds {stored}"
            )
        return header, offset

    def read(self, key: str, *, max_bytes: int) -> np.ndarray:
        """The array of member ``key``; refused before reading if over ``max_bytes``.

        Check :meth:`header` against what you expect first: ``max_bytes`` is only the
        last guard. Exactly the promised bytes are read, so the zip CRC is checked.
        """
        with self._open_member(key) as f:
            header, _ = self._read_header(key, f)
            if header.nbytes > max_bytes:
                raise self._fail(
                    f"entry {key!r} holds {header.nbytes} bytes, more than the {max_bytes} expected"
                )
            flat = np.empty(math.prod(header.shape), dtype=header.dtype)
            buffer = flat.view(np.uint8).reshape(-1).data
            try:
                done = 0
                while done < header.nbytes:
                    chunk = f.read(min(_CHUNK, header.nbytes - done))
                    if not chunk:
                        raise EOFError("data ends early")
                    buffer[done : done + len(chunk)] = chunk
                    done += len(chunk)
                if f.read(1):
                    raise ValueError("more data than the header promised")
            except Exception as exc:
                # BadZipFile (CRC), zlib.error, EOFError: a damaged or truncated member.
                raise self._fail(f"entry {key!r} is damaged ({type(exc).__name__}: {exc})") from exc
        if header.fortran_order:
            return flat.reshape(header.shape[::-1]).T
        return flat.reshape(header.shape)

    def close(self) -> None:
        self._zip.close()
        self._file.close()

    def __enter__(self) -> NpzArchive:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
