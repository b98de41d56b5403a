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
import math
import os
import struct
import zlib
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["IDX_TYPES", "idx_magic", "parse_idx", "read_idx"]

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
    rejected rather than parsed as raw IDX.

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
        If the file is not valid IDX: corrupt or truncated gzip, wrong magic bytes,
        unknown type code, zero dimensions, or a payload longer or shorter than the
        header's dimensions say. The message starts with the file's name.
    """
    path = Path(path)
    name = path.name
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        data = _gunzip(raw, name)
    elif path.suffix == ".gz":
        raise ValueError(
            f"{name}: named .gz but is not gzip data (starts with {raw[:16]!r}, "
            f"expected bytes 1f 8b); a failed download often saves an HTML error page "
            f"under the file's name, so delete it and fetch the file again"
        )
    else:
        data = raw
    return parse_idx(data, name)


def _gunzip(raw: bytes, name: str) -> bytes:
    """Decompress gzip data, turning every decoder failure into a ValueError naming the file."""
    try:
        # gzip.decompress checks the CRC-32 and length trailer of every member, so a bit flip
        # or a cut-off download cannot slip through as a short but plausible payload.
        return gzip.decompress(raw)
    except (EOFError, OSError, zlib.error) as exc:
        # EOFError: truncated stream; gzip.BadGzipFile (an OSError): bad header, CRC or
        # length; zlib.error: corrupt deflate data.
        raise ValueError(
            f"{name}: gzip data is corrupt or truncated ({type(exc).__name__}: {exc}); "
            f"the file is {len(raw)} bytes, delete it and fetch it again"
        ) from exc


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
    if len(data) < 4:
        raise ValueError(
            f"{name}: {len(data)} bytes is too short for an IDX header (expected at least 4)"
        )
    zero0, zero1, type_code, ndim = struct.unpack_from(_HEADER_FMT, data)
    if (zero0, zero1) != (0, 0):
        raise ValueError(f"{name}: {_bad_magic_message(data[:4])}")
    if type_code not in IDX_TYPES:
        known = ", ".join(f"0x{code:02X} ({dt.name})" for code, dt in IDX_TYPES.items())
        raise ValueError(
            f"{name}: unknown IDX type code 0x{type_code:02X}; expected one of {known}"
        )
    if ndim == 0:
        raise ValueError(f"{name}: header says 0 dimensions; expected at least 1")
    header_len = 4 + 4 * ndim
    if len(data) < header_len:
        raise ValueError(
            f"{name}: header says {ndim} dimensions, which needs {header_len} header bytes, "
            f"but the file is only {len(data)} bytes"
        )
    dims = struct.unpack_from(f">{ndim}I", data, 4)
    dtype = IDX_TYPES[type_code]
    payload_len = len(data) - header_len
    # Python ints: the product of absurd (e.g. byte-swapped) dims must not overflow.
    n_items = math.prod(dims)
    if payload_len != n_items * dtype.itemsize:
        raise ValueError(f"{name}: {_size_mismatch_message(dims, dtype, payload_len)}")
    array = np.frombuffer(data, dtype=dtype, offset=header_len).reshape(dims)
    # astype copies into native order; the copy also makes the result writable (frombuffer
    # over bytes is read-only), which callers normalising in place rely on.
    return array.astype(dtype.newbyteorder("="))


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
