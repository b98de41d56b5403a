"""Reading the book's pickles (``params.pkl``, ``deep_convnet_params.pkl``, ``mnist.pkl``)
without running code from them.

``pickle.load`` calls whatever functions a file names, so a pickle from anywhere can
run anything. The book's files hold only a dict of NumPy arrays, which takes three
names: ``numpy.core.multiarray._reconstruct`` (``numpy._core`` since NumPy 2),
``numpy.ndarray`` and ``numpy.dtype`` (and ``_codecs.encode`` for latin-1 bytes in
pickle protocol 2). :func:`load_arrays` allows those, in guarded forms that build
nothing but plain numeric arrays, and refuses every other name with a ``ValueError``
that names the file, before anything is called.
"""

from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak._files import open_regular

__all__ = ["load_arrays"]

_RECONSTRUCT = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
}


class _ArrayType:
    """Stands for ``numpy.ndarray`` in the stream: usable only as ``_reconstruct``'s
    first argument, never called (the real class would build arrays from any
    arguments)."""


_ARRAY_TYPE = _ArrayType()


def _dtype(*args: Any) -> np.dtype:
    dtype = np.dtype(*args)
    if dtype.hasobject:
        raise pickle.UnpicklingError(f"refused an array of Python objects (dtype {dtype})")
    return dtype


def _latin1(text: str, encoding: str) -> bytes:
    # How protocol 2 stores bytes (an array's data): as text, encoded again on loading.
    if encoding != "latin1" or not isinstance(text, str):
        raise pickle.UnpicklingError(f"refused _codecs.encode with {encoding!r}")
    return text.encode("latin1")


def _reconstruct(subtype: object, shape: Any, dtype: Any) -> np.ndarray:
    if subtype is not _ARRAY_TYPE:
        raise pickle.UnpicklingError(f"refused to build {subtype!r}, which is not numpy.ndarray")
    # An empty shell, filled in by ndarray.__setstate__ with a dtype from _dtype.
    return np.ndarray(shape, dtype=_dtype(dtype))


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _RECONSTRUCT:
            return _reconstruct
        if (module, name) == ("numpy", "ndarray"):
            return _ARRAY_TYPE
        if (module, name) == ("numpy", "dtype"):
            return _dtype
        if (module, name) == ("_codecs", "encode"):
            return _latin1
        raise pickle.UnpicklingError(f"refused {module}.{name}: only NumPy arrays are read")

    def persistent_load(self, pid: Any) -> Any:
        raise pickle.UnpicklingError("refused a persistent id: only NumPy arrays are read")


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The dict of NumPy arrays pickled in ``path``, read without running its code.

    Returns name -> array for a pickle that holds exactly a dict with string keys and
    numeric arrays (bool, integer, float) as values. Anything else, including a pickle
    that names any other function or class, is a ``ValueError`` naming the file.
    """
    source = Path(path)
    # A FIFO or device would block or never end: only a regular file is read.
    with open_regular(source) as f:
        data = f.read()
    try:
        loaded = _ArraysOnly(io.BytesIO(data)).load()
    except Exception as exc:  # a hostile or broken stream may raise anything
        raise ValueError(
            f"{source}: not read: {exc} (mitbadak reads only pickles of NumPy arrays, "
            "such as the book's params.pkl, and never runs code from a file)"
        ) from None
    if not isinstance(loaded, dict):
        raise ValueError(
            f"{source}: expected a pickled dict of NumPy arrays, found {type(loaded).__name__}"
        )
    for key, value in loaded.items():
        if not isinstance(key, str):
            raise ValueError(f"{source}: expected names as keys, found {key!r}")
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            found = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(f"{source}: {key!r} is not a numeric NumPy array ({found})")
    return loaded
