"""Learning curves: smoothing the noisy loss of every iteration (section 6.1 of the book).

A mini-batch loss jumps from one batch to the next; comparing optimizers or initial
weights by eye needs the trend. :func:`smooth_curve` is a weighted moving average with
a Kaiser window, as the book's figures use.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from mitbadak._checks import check_int, check_real
from mitbadak._types import FloatArray

__all__ = ["smooth_curve"]


def smooth_curve(
    values: ArrayLike | Sequence[float], window: int = 11, beta: float = 2.0
) -> FloatArray:
    """A smoothed copy of a curve, with the same length.

    values: (N,) numbers, e.g. the loss of every iteration (a list is fine).
    Each point becomes the average of the ``window`` points around it, weighted by a
    Kaiser window with shape ``beta`` (``np.kaiser``); near the ends the curve is
    mirrored, so the first and last points are averages too. Returns (N,) float64.

    >>> smooth_curve([1.0, 1.0, 1.0, 1.0])
    array([1., 1., 1., 1.])
    """
    y = np.asarray(values, dtype=np.float64)
    if y.ndim != 1:
        raise ValueError(f"values must be a curve of shape (N,), received shape {y.shape}")
    window = check_int("window", window, 1)
    beta = check_real("beta", beta, low=0.0)
    if len(y) < 2:
        return y.copy()
    # At most half the curve on each side: np.pad cannot mirror more than it has.
    half = min(window // 2, len(y) - 1)
    weights = np.kaiser(2 * half + 1, beta)
    weights /= weights.sum()
    return np.convolve(np.pad(y, half, mode="reflect"), weights, mode="valid")
