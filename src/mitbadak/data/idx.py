"""Read IDX files (the MNIST file format), checking everything the format lets us check.

An IDX file is, in big-endian byte order::

    0x00 0x00 <type code> <ndim>      the magic number, 4 bytes
    <dim 0> ... <dim ndim-1>          ndim unsigned 32-bit integers
    <payload>                         prod(dims) items of the type, C order

MNIST and Fashion-MNIST ship each file gzip-compressed. See
http://yann.lecun.com/exdb/mnist/ (section "File formats") for the original description.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import struct
import zlib
from pathlib import Path
from typing import Protocol

import numpy as np
from numpy.typing import NDArray

from mitbadak._files import open_regular
from mitbadak._memory import available_memory, format_bytes

__all__ = ["IDX_TYPES", "idx_magic", "parse_idx", "read_idx"]


class _Reader(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


#: IDX type code -> big-endian NumPy dtype of one payload item.
IDX_TYPES: dict[int, np.dtype[np.generic]] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_HEADER_FMT = ">4B"
#: NumPy's limit on an array's dimensions.
MAX_DIMS = 64
_CHUNK = 1 << 20
#: Surplus payload inflated only to be counted for an error message, at most.
_COUNT_LIMIT = 64 << 20
#: The memory budget where the system does not say how much is available.
_UNKNOWN_MEMORY = 16 << 30


def idx_magic(dtype: np.dtype[np.generic], ndim: int) -> int:
    """Return the IDX magic number of an array of ``dtype`` with ``ndim`` dimensions.

    MNIST images (uint8, 3 dims) are 2051 and labels (uint8, 1 dim) are 2049; error messages
    quote it because it is what people recognise from the MNIST page.

    Parameters
    ----------
    dtype : numpy.dtype
        Item type, in either byte order.
    ndim : int
        Number of dimensions.

    Returns
    -------
    int
        ``type_code << 8 | ndim``.

    Raises
    ------
    ValueError
        If IDX has no type code for ``dtype``.
    """
    wanted = np.dtype(dtype).newbyteorder(">")
    for code, idx_dtype in IDX_TYPES.items():
        if idx_dtype == wanted:
            return code << 8 | ndim
    raise ValueError(f"IDX has no type code for dtype {np.dtype(dtype)}")


def read_idx(path: str | os.PathLike[str]) -> NDArray[np.generic]:
    """Read an IDX file, gzip-compressed or raw, into an array in native byte order.

    Gzip is recognised by its magic bytes ``1f 8b``; a file named ``*.gz`` that does not
    start with them (typically an HTML error page saved under the data file's name) is
    rejected rather than parsed as raw IDX. The header is read first and the payload
    inflated only up to the size it implies, so a gzip bomb costs no more memory than the
    array the header describes, and a header describing more than the available memory
    is refused before anything is allocated.

    Parameters
    ----------
    path : str or os.PathLike
        File to read.

    Returns
    -------
    numpy.ndarray
        Shape ``dims`` from the header, dtype from the type code (uint8, int8, int16,
        int32, float32 or float64), native byte order, C-contiguous and writable.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If the file is not valid IDX: a folder, FIFO or device; corrupt or truncated gzip,
        wrong magic bytes, unknown type code, zero or more than 64 dimensions, or a payload
        longer or shorter than the header's dimensions say. The message starts with the
        file's name.
    """
    path = Path(path)
    name = path.name
    with open_regular(path) as f:
        size = os.fstat(f.fileno()).st_size
        start = f.read(16)
        f.seek(0)
        if start[:2] == _GZIP_MAGIC:
            with gzip.GzipFile(fileobj=f, mode="rb") as stream:
                return _read_stream(stream, name, None, size)
        if path.suffix == ".gz":
            raise ValueError(
                f"{name}: named .gz but is not gzip data (starts with {start!r}, "
                f"expected bytes 1f 8b); a failed download often saves an HTML error page "
                f"under the file's name, so delete it and fetch the file again"
            )
        return _read_stream(f, name, size, size)


def parse_idx(data: bytes, name: str = "<bytes>") -> NDArray[np.generic]:
    """Parse the bytes of an uncompressed IDX file.

    Parameters
    ----------
    data : bytes
        The whole file, header and payload.
    name : str
        Used to start every error message, normally the file's base name.

    Returns
    -------
    numpy.ndarray
        See :func:`read_idx`.

    Raises
    ------
    ValueError
        If ``data`` is not valid IDX; see :func:`read_idx`.
    """
    return _read_stream(io.BytesIO(data), name, len(data), len(data))


def _read_stream(
    stream: _Reader, name: str, total: int | None, file_size: int
) -> NDArray[np.generic]:
    """Parse IDX from ``stream``; ``total`` is its length when known (uncompressed)."""
    try:
        return _parse(stream, name, total)
    except OSError as exc:
        if total is not None:  # a plain file: a real read error, not bad data
            raise OSError(exc.errno, f"{name}: {exc.strerror or exc}") from exc
        raise _corrupt(name, exc, file_size) from exc
    except (EOFError, zlib.error) as exc:
        raise _corrupt(name, exc, file_size) from exc


def _corrupt(name: str, exc: BaseException, file_size: int) -> ValueError:
    # EOFError: truncated stream; gzip.BadGzipFile (an OSError): bad header, CRC or
    # length; zlib.error: corrupt deflate data.
    return ValueError(
        f"{name}: gzip data is corrupt or truncated ({type(exc).__name__}: {exc}); "
        f"the file is {file_size} bytes, delete it and fetch it again"
    )


def _parse(stream: _Reader, name: str, total: int | None) -> NDArray[np.generic]:
    magic = _read_upto(stream, 4)
    if len(magic) < 4:
        raise ValueError(
            f"{name}: {len(magic)} bytes is too short for an IDX header (expected at least 4)"
        )
    zero0, zero1, type_code, ndim = struct.unpack(_HEADER_FMT, magic)
    if (zero0, zero1) != (0, 0):
        raise ValueError(f"{name}: {_bad_magic_message(magic)}")
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X} ({dt.name})" for code, dt in IDX_TYPES.items())
        raise ValueError(
            f"{name}: unknown IDX type code 0x{type_code:02X}; expected one of {known}"
        )
    if ndim == 0:
        raise ValueError(f"{name}: header says 0 dimensions; expected at least 1")
    if ndim > MAX_DIMS:
        raise ValueError(f"{name}: header says {ndim} dimensions; an array has at most {MAX_DIMS}")
    header_len = 4 + 4 * ndim
    raw_dims = _read_upto(stream, 4 * ndim)
    if len(raw_dims) < 4 * ndim:
        raise ValueError(
            f"{name}: header says {ndim} dimensions, which needs {header_len} header bytes, "
            f"but the file is only {4 + len(raw_dims)} bytes"
        )
    dims = struct.unpack(f">{ndim}I", raw_dims)
    dtype = IDX_TYPES[type_code]
    # Python ints: the product of absurd (e.g. byte-swapped) dims must not overflow.
    n_items = math.prod(dims)
    implied = n_items * dtype.itemsize
    if total is not None and total - header_len != implied:
        raise ValueError(f"{name}: {_size_mismatch_message(dims, dtype, total - header_len)}")
    budget = _memory_budget()
    if implied > budget:
        held = _count(stream, _COUNT_LIMIT)
        fits = held < _COUNT_LIMIT and held != implied
        text = _size_mismatch_message(dims, dtype, held) if fits else ""
        raise ValueError(
            f"{name}: header says {n_items} items of {dtype.itemsize} bytes, more than the "
            f"{format_bytes(budget)} of memory available" + (f"; {text}" if text else "")
        )
    array = np.empty(n_items, dtype=dtype)
    got = _fill(stream, array.view(np.uint8).reshape(-1).data)
    if got < implied:
        raise ValueError(f"{name}: {_size_mismatch_message(dims, dtype, got)}")
    extra = _count(stream, max(implied, _COUNT_LIMIT))
    if extra:
        held = implied + extra
        if extra >= max(implied, _COUNT_LIMIT):
            raise ValueError(
                f"{name}: header says {n_items} items (shape {dims}), the payload holds more "
                f"than {held // dtype.itemsize} (too long); stopped reading there"
            )
        raise ValueError(f"{name}: {_size_mismatch_message(dims, dtype, held)}")
    # In place into native order: no second copy of the payload.
    native = (
        array.byteswap(inplace=True).view(dtype.newbyteorder("=")) if not dtype.isnative else array
    )
    return native.reshape(dims)


def _memory_budget() -> int:
    free = available_memory()
    return _UNKNOWN_MEMORY if free is None else free


def _read_upto(stream: _Reader, n: int) -> bytes:
    parts = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _fill(stream: _Reader, buffer: memoryview) -> int:
    """Read into ``buffer`` until it is full or the stream ends; the bytes read."""
    done = 0
    while done < len(buffer):
        chunk = stream.read(min(_CHUNK, len(buffer) - done))
        if not chunk:
            break
        buffer[done : done + len(chunk)] = chunk
        done += len(chunk)
    return done


def _count(stream: _Reader, limit: int) -> int:
    """Bytes left in the stream, reading at most ``limit`` of them (and keeping none)."""
    seen = 0
    while seen < limit:
        chunk = stream.read(min(_CHUNK, limit - seen))
        if not chunk:
            break
        seen += len(chunk)
    return seen


def _bad_magic_message(magic: bytes) -> str:
    text = f"bad magic bytes {magic.hex(' ')}; an IDX file starts with 00 00 <type> <ndim>"
    # A magic number written as a little-endian int32 reads back as <ndim> <type> 00 00.
    if magic[2:] == b"\x00\x00" and magic[1] in IDX_TYPES and magic[0] > 0:
        text += (
            f" (these look like the magic {int.from_bytes(magic, 'little')} written "
            f"little-endian; IDX headers are big-endian)"
        )
    elif magic[:1] == b"<":
        text += " (this looks like an HTML or XML page, not IDX data)"
    elif magic[:2] == _GZIP_MAGIC:
        text += " (this is gzip data inside a gzip file or a file missing its .gz suffix)"
    return text


def _size_mismatch_message(
    dims: tuple[int, ...], dtype: np.dtype[np.generic], payload_len: int
) -> str:
    n_items = math.prod(dims)
    held, stray = divmod(payload_len, dtype.itemsize)
    text = f"header says {n_items} items (shape {dims}), payload holds {held}"
    if stray:
        text += f" and {stray} stray byte{'s' if stray > 1 else ''}"
    text += " (too short)" if held < n_items else " (too long)"
    # A header written little-endian by mistake gives dims like 0x10270000 for 10000;
    # if swapping the dims' bytes explains the payload exactly, say so.
    swapped = tuple(int.from_bytes(d.to_bytes(4, "big"), "little") for d in dims)
    if swapped != dims and math.prod(swapped) * dtype.itemsize == payload_len:
        text += (
            f"; read little-endian the dims would be {swapped}, which fits the payload, "
            f"so the header was probably written in the wrong byte order (IDX is big-endian)"
        )
    return text
