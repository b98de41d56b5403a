"""The book's ``common/functions.py``: activations and losses as plain functions.

``from common.functions import *`` becomes ``from mitbadak.book.functions import *``.
``sigmoid``, ``relu``, ``softmax`` and ``cross_entropy_error`` are
:mod:`mitbadak.functions`' stable versions (no overflow; probabilities of 0 are
clamped to the smallest float instead of adding 1e-7); like the book's, these accept
integer arrays and lists, and labels as one-hot rows, indices ``(N,)`` or ``(N, 1)``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mitbadak import functions
from mitbadak._checks import as_book_labels, as_float_lenient
from mitbadak._types import FloatArray

__all__ = [
    "cross_entropy_error",
    "identity_function",
    "mean_squared_error",
    "relu",
    "relu_grad",
    "sigmoid",
    "sigmoid_grad",
    "softmax",
    "softmax_loss",
    "step_function",
    "sum_squared_error",
    "np",  # the book's star import brings numpy too
]


def identity_function(x: ArrayLike) -> ArrayLike:
    """``x`` itself (the output activation of a regression network)."""
    return x


def step_function(x: ArrayLike) -> NDArray[np.int_]:
    """1 where ``x > 0``, else 0 (integers, as the book's)."""
    return (as_float_lenient(x) > 0).astype(int)


def sigmoid(x: ArrayLike) -> FloatArray:
    """``1 / (1 + exp(-x))``, computed without overflow."""
    return functions.sigmoid(as_float_lenient(x))


def sigmoid_grad(x: ArrayLike) -> FloatArray:
    """The sigmoid's derivative at ``x``: ``(1 - sigmoid(x)) * sigmoid(x)``."""
    s = sigmoid(x)
    return (1 - s) * s


def relu(x: ArrayLike) -> FloatArray:
    """``max(x, 0)`` elementwise."""
    return functions.relu(as_float_lenient(x))


def relu_grad(x: ArrayLike) -> FloatArray:
    """ReLU's derivative at ``x``, taking 1 at 0 as the book does."""
    arr = as_float_lenient(x)
    return (arr >= 0).astype(arr.dtype)


def softmax(x: ArrayLike) -> FloatArray:
    """Softmax over the last axis (a sample ``(C,)`` or a batch ``(N, C)``)."""
    return functions.softmax(as_float_lenient(x))


def sum_squared_error(y: ArrayLike, t: ArrayLike) -> float:
    """``0.5 * Σ (y - t)²`` (chapter 4's first loss)."""
    return 0.5 * float(np.sum((as_float_lenient(y, "y") - as_float_lenient(t, "t")) ** 2))


def mean_squared_error(y: ArrayLike, t: ArrayLike) -> float:
    """The book's other name for ``0.5 * Σ (y - t)²`` (not a mean, as in the book)."""
    return sum_squared_error(y, t)


def cross_entropy_error(y: ArrayLike, t: ArrayLike) -> float:
    """Mean cross-entropy of probabilities ``y`` ((C,) or (N, C)) against labels ``t``."""
    return functions.cross_entropy_error(as_float_lenient(y, "y"), as_book_labels(t))


def softmax_loss(X: ArrayLike, t: ArrayLike) -> float:
    """Cross-entropy of ``softmax(X)``, computed from the scores through log-softmax."""
    return functions.softmax_cross_entropy(as_float_lenient(X, "X"), as_book_labels(t))
