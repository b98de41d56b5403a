"""Weight initialisation: the book's schemes (section 6.2), drawn from an explicit generator.

A weight's scale decides whether activations keep a useful spread through many
layers. The book compares three choices, all zero-mean Gaussians:

``"std"``
    ``scale * N(0, 1)`` with a fixed ``scale`` (0.01 in the book's early chapters).
``"xavier"`` (alias ``"sigmoid"``)
    standard deviation ``sqrt(1 / fan_in)``, suited to sigmoid and tanh
    (Glorot and Bengio, 2010, in the simplified form the book uses).
``"he"`` (alias ``"relu"``)
    standard deviation ``sqrt(2 / fan_in)``, suited to ReLU (He et al., 2015,
    https://arxiv.org/abs/1502.01852).

As in the book's ``MultiLayerNet``, a plain number may stand in for the scheme and
is used as the standard deviation itself.

``fan_in`` is the number of inputs each output unit sees: ``D`` for an Affine
weight of shape ``(D, M)``, ``C * FH * FW`` for a convolution filter bank of shape
``(FN, C, FH, FW)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from mitbadak._checks import check_float_dtype, check_positive_int, check_real, check_rng
from mitbadak._types import FloatArray

__all__ = ["SCHEMES", "check_scheme", "fan_in_of", "init_weight", "weight_std"]

_POSITIVE = "a positive finite number (the standard deviation)"

#: Scheme names accepted by :func:`init_weight`; the aliases are the book's.
SCHEMES: tuple[str, ...] = ("std", "xavier", "sigmoid", "he", "relu")


def fan_in_of(shape: Sequence[int]) -> int:
    """Number of inputs per output unit for a weight of ``shape``.

    ``(D, M)`` (Affine, inputs first as in the book) gives ``D``;
    ``(FN, C, FH, FW)`` or any shape with 3 or more axes gives ``C * FH * FW``
    (everything but the first axis). Other shapes raise ``ValueError``: pass
    ``fan_in`` explicitly for them.
    """
    dims = tuple(shape)
    if len(dims) == 2:
        return int(dims[0])
    if len(dims) >= 3:
        return int(math.prod(dims[1:]))
    raise ValueError(
        f"cannot infer fan_in from a weight of shape {dims}; expected (D, M) or "
        "(FN, C, FH, FW), or pass fan_in="
    )


def weight_std(scheme: str | float, fan_in: int | None = None, *, scale: float = 0.01) -> float:
    """The standard deviation that ``scheme`` prescribes.

    Parameters
    ----------
    scheme : ``"std"``, ``"xavier"``/``"sigmoid"``, ``"he"``/``"relu"``, or a
        positive number used directly as the standard deviation
    fan_in : inputs per output unit; needed by ``"xavier"`` and ``"he"``
    scale : the standard deviation of ``"std"``
    """
    if isinstance(scheme, bool):
        raise TypeError(f"scheme must be a name or a number, received {scheme!r}")
    if isinstance(scheme, int | float | np.floating | np.integer):
        return check_real("scheme", scheme, low=0.0, low_open=True, what=_POSITIVE)
    if not isinstance(scheme, str):
        raise TypeError(
            f"scheme must be one of {list(SCHEMES)} or a number, "
            f"received {type(scheme).__name__} {scheme!r}"
        )
    name = scheme.lower()
    if name == "std":
        return check_real("scale", scale, low=0.0, low_open=True, what=_POSITIVE)
    if name not in SCHEMES:
        raise ValueError(
            f"unknown initialisation scheme {scheme!r}; valid ones are {list(SCHEMES)}"
        )
    if fan_in is None:
        raise ValueError(f"scheme {scheme!r} needs fan_in, received None")
    fan_in = check_positive_int("fan_in", fan_in)
    gain = 2.0 if name in ("he", "relu") else 1.0
    return math.sqrt(gain / fan_in)


def init_weight(
    shape: Sequence[int],
    scheme: str | float,
    *,
    rng: np.random.Generator,
    dtype: DTypeLike = np.float32,
    fan_in: int | None = None,
    scale: float = 0.01,
) -> FloatArray:
    """A weight array drawn from ``N(0, std**2)`` with ``std`` given by ``scheme``.

    Parameters
    ----------
    shape : e.g. ``(D, M)`` for Affine or ``(FN, C, FH, FW)`` for Convolution
    scheme : see the module docstring; a number is the standard deviation itself
    rng : the generator to draw from (required: there is no hidden global state)
    dtype : a floating-point dtype; float32 and float64 are drawn directly
    fan_in : inputs per output unit; inferred from ``shape`` by :func:`fan_in_of`
    scale : the standard deviation of the ``"std"`` scheme

    Returns
    -------
    An array of ``shape`` and ``dtype``.
    """
    if rng is None:
        raise TypeError("rng must be a numpy.random.Generator, received None")
    rng = check_rng(rng)
    dims = tuple(int(d) for d in shape)
    if any(d < 0 for d in dims):
        raise ValueError(f"shape must have non-negative sizes, received {dims}")
    dt = check_float_dtype(dtype)
    needs_fan_in = isinstance(scheme, str) and scheme.lower() != "std"
    if needs_fan_in and fan_in is None:
        fan_in = fan_in_of(dims)
    std = weight_std(scheme, fan_in, scale=scale)
    if dt in (np.float32, np.float64):
        # Drawing in the target dtype avoids a float64 temporary of the full size.
        w = rng.standard_normal(dims, dtype=dt)
    else:
        w = rng.standard_normal(dims).astype(dt)
    w *= dt.type(std)
    return w


def check_scheme(name: str, scheme: object) -> str | float:
    """Validate an initialisation argument early, so that the error names ``name``.

    Returns the scheme name as given, or a number as a float standard deviation.
    """
    message = f"{name} must be one of {list(SCHEMES)} or a positive number, received {scheme!r}"
    if isinstance(scheme, str):
        if scheme.lower() not in SCHEMES:
            raise ValueError(message)
        return scheme
    try:
        return check_real(name, scheme, low=0.0, low_open=True)
    except (TypeError, ValueError):
        raise ValueError(message) from None
