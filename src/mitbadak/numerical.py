"""Derivatives by central differences: slow, obvious, and the yardstick for backprop.

This module sits at the bottom of the package (it imports only the argument checks), as
the book keeps its numerical gradient in a small module of its own: models use it, and
:mod:`mitbadak.gradcheck` compares backprop against it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from mitbadak._checks import as_float_input, check_real
from mitbadak._types import FloatArray

__all__ = ["numerical_gradient", "numerical_partials"]


def numerical_gradient(
    f: Callable[[FloatArray], float], x: FloatArray, h: float = 1e-4
) -> FloatArray:
    """Gradient of the scalar ``f(x)`` by central differences ``(f(x+h) - f(x-h)) / 2h``.

    x: any shape, floating point; it is perturbed in place one entry at a time
    (so that ``f`` may read it through a layer that owns it) and every entry is
    restored, even if ``f`` raises. Returns an array of x's shape and dtype.

    >>> numerical_gradient(lambda v: float((v**2).sum()), np.array([3.0, 4.0]))
    array([6., 8.])
    """
    x = as_float_input(x)
    return numerical_partials(f, x, list(np.ndindex(x.shape)), h).reshape(x.shape)


def numerical_partials(
    f: Callable[[FloatArray], float],
    x: FloatArray,
    indices: Sequence[tuple[int, ...]],
    h: float = 1e-4,
) -> FloatArray:
    """The central differences of :func:`numerical_gradient` at chosen entries only.

    For checking a few entries of a large parameter, where every entry would cost two
    forward passes each. ``indices``: entries of ``x`` (tuples of ``x.ndim`` ints).
    Returns one partial derivative per index, in x's dtype; x is restored as above.

    >>> numerical_partials(lambda v: float((v**2).sum()), np.array([3.0, 4.0]), [(1,)])
    array([8.])
    """
    x = as_float_input(x)
    check_real("h", h, low=0.0, low_open=True)
    partials = np.zeros(len(indices), dtype=x.dtype)
    for k, idx in enumerate(indices):
        original = x[idx].copy()
        try:
            x[idx] = original + h
            f_plus = float(f(x))
            x[idx] = original - h
            f_minus = float(f(x))
        finally:
            x[idx] = original
        partials[k] = (f_plus - f_minus) / (2 * h)
    return partials
