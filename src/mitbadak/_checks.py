"""Argument checks for the whole package: the only copies. Errors name what was received.

One policy for numbers in arrays: the library computes on floating-point arrays and never
converts silently. A ``numpy`` array of floats (or a Python float, for the scalar nodes of
the computational graph) is accepted as it is, keeping its dtype; lists, integer and bool
arrays get a ``TypeError`` that says what was received, so that uint8 pixels or integer
labels passed by mistake are caught where they enter. Labels are the exception: they are
integers by nature (see :func:`mitbadak.functions.as_label_indices`).
"""

from __future__ import annotations

import math
import numbers

import numpy as np
from numpy.typing import DTypeLike

from mitbadak._types import FloatArray

__all__ = [
    "as_book_labels",
    "as_float_input",
    "as_float_lenient",
    "check_float_dtype",
    "check_int",
    "check_param",
    "check_positive_int",
    "check_ratio",
    "check_real",
    "check_rng",
]


def _is_int(value: object) -> bool:
    # Bools are ints to Python, but `stride=True` is a bug, not 1.
    return isinstance(value, int | np.integer) and not isinstance(value, bool)


def check_int(name: str, value: object, minimum: int) -> int:
    """``value`` as an int, or ``ValueError`` unless it is an integer ``>= minimum``."""
    if not _is_int(value) or value < minimum:  # type: ignore[operator]
        raise ValueError(f"{name} must be an integer >= {minimum}, received {name}={value!r}")
    return int(value)  # type: ignore[call-overload]


def check_positive_int(name: str, value: object) -> int:
    """``value`` as an int, or ``ValueError`` if it is not a positive integer."""
    if not _is_int(value) or value <= 0:  # type: ignore[operator]
        raise ValueError(f"{name} must be a positive integer, received {name}={value!r}")
    return int(value)  # type: ignore[call-overload]


def check_real(
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    not_real: type[Exception] = TypeError,
    what: str | None = None,
) -> float:
    """``value`` as a finite Python float in the interval from ``low`` to ``high``.

    ``not_real`` (``TypeError`` by default) if it is not a real number: bools and strings
    are refused, ``lr=True`` is a bug. ``ValueError`` if it is NaN, infinite or outside
    the interval (``low_open``/``high_open`` exclude the ends); ``what`` replaces the
    description of the interval in that message. Python floats, not NumPy
    scalars, come back on purpose: NumPy treats them as "weak" scalars, so ``lr * g``
    stays float32 for a float32 ``g``.
    """
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise not_real(
            f"{name} must be a real number, received {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    result = float(value)
    if not math.isfinite(result):
        what = what or "a finite number"
        raise ValueError(f"{name} must be {what}, received {name}={value!r}")
    above = low is None or (result > low if low_open else result >= low)
    below = high is None or (result < high if high_open else result <= high)
    if not (above and below):
        raise ValueError(
            f"{name} must be {what or _interval(low, high, low_open, high_open)}, "
            f"received {name}={value!r}"
        )
    return result


def _interval(low: float | None, high: float | None, low_open: bool, high_open: bool) -> str:
    if high is None and low == 0:
        return "a positive number" if low_open else "a non-negative number"
    if high is None:
        return f"a number {'>' if low_open else '>='} {low:g}"
    if low is None:
        return f"a number {'<' if high_open else '<='} {high:g}"
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    return f"a number in the interval {left}{low:g}, {high:g}{right}"


def check_ratio(name: str, value: object, *, high_open: bool = True) -> float:
    """A number in ``[0, 1)`` (``[0, 1]`` with ``high_open=False``) as a float.

    Always ``ValueError`` with the interval, whatever was received: ratios come from
    users and files.
    """
    what = _interval(0.0, 1.0, False, high_open)
    try:
        return check_real(name, value, low=0.0, high=1.0, high_open=high_open, what=what)
    except TypeError:
        raise ValueError(f"{name} must be {what}, received {name}={value!r}") from None


def check_float_dtype(dtype: DTypeLike) -> np.dtype:
    """``dtype`` as a numpy dtype, or ``TypeError`` if it is not floating point."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, received {dt}")
    return dt


def check_rng(rng: object) -> np.random.Generator:
    """``rng`` itself, a fresh unseeded generator for ``None``, else ``TypeError``."""
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, received {type(rng).__name__}")
    return rng


def as_float_input(x: object, name: str = "x") -> FloatArray:
    """``x`` if it is a floating-point ndarray; a Python float as a 0-d float64 array.

    Anything else raises ``TypeError`` saying what it was (see the module docstring).
    """
    if isinstance(x, float | np.floating):
        return np.asarray(x, dtype=np.float64 if isinstance(x, float) else x.dtype)
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, received {type(x).__name__}")
    if x.dtype.kind != "f":
        hint = f"; convert with {name}.astype(np.float32)" if x.dtype.kind in "iub" else ""
        raise TypeError(f"{name} must be a floating-point array, received dtype {x.dtype}{hint}")
    return x


def check_param(name: str, value: object, ndim: int) -> FloatArray:
    """Validate a parameter array handed to a layer: float, ``ndim`` dimensions, finite."""
    arr = as_float_input(value, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), received shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers only, received NaN or inf")
    return arr


def as_float_lenient(x: object, name: str = "x") -> FloatArray:
    """The book's leniency, for the adapters of :mod:`mitbadak.book` only.

    Float arrays come back as they are; Python numbers, lists and integer or bool arrays
    (which the book's code accepts) become float64 arrays. Anything that is not numbers
    is a ``TypeError``. The rest of the library stays strict (:func:`as_float_input`).
    """
    if isinstance(x, np.ndarray) and x.dtype.kind == "f":
        return x
    if isinstance(x, float | np.floating):
        return as_float_input(x, name)
    try:
        arr = np.asarray(x)
    except ValueError as exc:  # ragged lists
        raise TypeError(f"{name} must be numbers, received {type(x).__name__}: {exc}") from None
    if arr.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be numbers, received {type(x).__name__} of {arr.dtype}")
    return arr.astype(np.float64)


def as_book_labels(t: object) -> np.ndarray:
    """Labels as the book's code accepts them, for :mod:`mitbadak.book` only: a list
    becomes an array, and a column of labels ``(N, 1)`` becomes ``(N,)``. One-hot rows
    ``(N, C)`` and label vectors ``(N,)`` are returned as they are."""
    arr = np.asarray(t)
    if arr.ndim == 2 and arr.shape[1] == 1:
        return arr[:, 0]
    return arr
