"""The spiral data set of volume 2, chapter 1 (three interleaved arms)."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def load_spiral(
    rng: np.random.Generator | None = None, *, n_per_class: int = 100, n_classes: int = 3
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Return ``x: (n_per_class * n_classes, 2)`` points and one-hot ``t: (..., n_classes)``.

    Arm ``j`` has radius ``i / N`` and angle ``4j + 4i/N`` plus Gaussian noise of
    standard deviation 0.2, as the book builds it; the noise comes from ``rng``.
    """
    if n_per_class <= 0 or n_classes <= 0:
        raise ValueError(
            f"n_per_class and n_classes must be positive, received {n_per_class}, {n_classes}"
        )
    rng = np.random.default_rng(1984) if rng is None else rng
    rate = np.arange(n_per_class) / n_per_class
    xs, ts = [], []
    for j in range(n_classes):
        theta = j * 4.0 + 4.0 * rate + rng.standard_normal(n_per_class) * 0.2
        xs.append(np.stack([rate * np.sin(theta), rate * np.cos(theta)], axis=1))
        t = np.zeros((n_per_class, n_classes), dtype=np.int64)
        t[:, j] = 1
        ts.append(t)
    return np.concatenate(xs), np.concatenate(ts)
