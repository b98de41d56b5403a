"""Array type aliases shared by the whole package (the only place they are defined)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = ["FloatArray", "IntArray"]

#: A floating-point array: float32 for training, float64 for gradient checks.
FloatArray = NDArray[np.floating[Any]]

#: An integer array: class labels, indices.
IntArray = NDArray[np.integer[Any]]
