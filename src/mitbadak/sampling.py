"""Shuffling a dataset, with its labels, from an explicit generator (section 6.5 of the book).

Splitting a validation set off the training data must not take the first images as
they come: MNIST's files are not in random order everywhere. :func:`shuffle_dataset`
permutes the samples and their labels together.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from mitbadak._checks import check_rng

__all__ = ["shuffle_dataset"]


def shuffle_dataset(
    x: NDArray, t: NDArray, *, rng: np.random.Generator | None = None
) -> tuple[NDArray, NDArray]:
    """``x`` and ``t`` in one random order (new arrays; the inputs are not touched).

    x: (N, ...) samples of any shape (rows, images); t: (N,) labels or (N, C) one-hot.
    ``rng`` draws the permutation (a fresh unseeded generator if omitted).

    >>> x, t = shuffle_dataset(np.arange(4.0), np.arange(4), rng=np.random.default_rng(0))
    >>> bool((x == t).all()), sorted(t.tolist())
    (True, [0, 1, 2, 3])
    """
    xs, ts = np.asarray(x), np.asarray(t)
    if xs.ndim == 0 or ts.ndim == 0 or len(xs) != len(ts):
        raise ValueError(
            f"x and t must hold the same number of samples, received shapes {xs.shape} "
            f"and {ts.shape}"
        )
    order = check_rng(rng).permutation(len(xs))
    return xs[order], ts[order]
