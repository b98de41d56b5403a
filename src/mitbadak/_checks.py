"""Argument checks shared by the models and the trainer; errors name what was received."""

from __future__ import annotations

import numpy as np
from numpy.typing import DTypeLike


def check_positive_int(name: str, value: object) -> int:
    """``value`` as an int, or ``ValueError`` if it is not a positive integer (bools refused)."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, received {name}={value!r}")
    return int(value)


def check_float_dtype(dtype: DTypeLike) -> np.dtype:
    """``dtype`` as a numpy dtype, or ``TypeError`` if it is not floating point."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"dtype must be a floating-point type, received {dt}")
    return dt
