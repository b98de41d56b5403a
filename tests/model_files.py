"""Hostile model files for the serialization tests: built byte by byte on purpose.

Each helper writes an ``.npz``-like file that :func:`mitbadak.load` must refuse with one
``ValueError`` naming the file, within bounded memory.
"""

from __future__ import annotations

import io
import json
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak import serialization
from mitbadak.models import TwoLayerNet


def npy_bytes(array: np.ndarray) -> bytes:
    """``array`` as the bytes of an ``.npy`` file."""
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, np.asanyarray(array), allow_pickle=False)
    return buffer.getvalue()


def npy_header(shape: tuple[int, ...], dtype: str = "<f4") -> bytes:
    """Only the ``.npy`` header of an array of ``shape``: what a lying file promises."""
    header = {"descr": dtype, "fortran_order": False, "shape": shape}
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(buffer, header)
    return buffer.getvalue()


def saved_members(net: Any, folder: Path) -> dict[str, bytes]:
    """The raw ``.npy`` members of ``net`` as :func:`save` writes them."""
    path = serialization.save(net, folder / "source.npz", overwrite=True)
    with zipfile.ZipFile(path) as z:
        return {info.filename.removesuffix(".npy"): z.read(info) for info in z.infolist()}


def architecture_of(members: dict[str, bytes]) -> dict[str, Any]:
    text = np.lib.format.read_array(io.BytesIO(members["architecture"]))
    return dict(json.loads(str(text)))


def with_architecture(members: dict[str, bytes], arch: dict[str, Any] | str) -> dict[str, bytes]:
    text = arch if isinstance(arch, str) else json.dumps(arch)
    return {**members, "architecture": npy_bytes(np.array(text))}


def write_npz(
    path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_DEFLATED
) -> Path:
    with zipfile.ZipFile(path, "w", compression) as z:
        for name, data in members.items():
            z.writestr(f"{name}.npy", data)
    return path


def small_net_members(folder: Path) -> dict[str, bytes]:
    return saved_members(TwoLayerNet(12, 7, 4, rng=np.random.default_rng(0)), folder)


def patch_every_entry(
    path: Path, *, flag_bits: int | None = None, method: int | None = None
) -> None:
    """Rewrite the general-purpose flags or the compression method of every entry, in both
    the local headers and the central directory, as a hand-edited archive would have them.
    """
    data = bytearray(path.read_bytes())
    for signature, flag_at, method_at in ((b"PK\x03\x04", 6, 8), (b"PK\x01\x02", 8, 10)):
        start = 0
        while (start := data.find(signature, start)) != -1:
            if flag_bits is not None:
                old = struct.unpack_from("<H", data, start + flag_at)[0]
                struct.pack_into("<H", data, start + flag_at, old | flag_bits)
            if method is not None:
                struct.pack_into("<H", data, start + method_at, method)
            start += 4
    path.write_bytes(bytes(data))


def zip_bomb_member(z: zipfile.ZipFile, name: str, shape: tuple[int, ...]) -> None:
    """Add a deflated member of zeros with an honest header for ``shape`` (float32)."""
    nbytes = int(np.prod(shape)) * 4
    zeros = bytes(1 << 22)
    with z.open(f"{name}.npy", "w", force_zip64=True) as f:
        f.write(npy_header(shape))
        left = nbytes
        while left:
            step = min(left, len(zeros))
            f.write(zeros[:step])
            left -= step
