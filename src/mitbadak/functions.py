"""Numerically stable building blocks: activations, softmax and cross-entropy.

Every function here works for float32 and float64 and keeps the input's dtype.
None of them overflows, divides by zero or warns for finite input.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "as_label_indices",
    "cross_entropy_error",
    "identity",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
]

FloatArray = NDArray[np.floating]


def _as_float_array(x: ArrayLike, name: str = "x") -> FloatArray:
    arr = np.asarray(x)
    if arr.dtype.kind in "iub":
        return arr.astype(np.float64)
    if arr.dtype.kind != "f":
        raise TypeError(f"{name} must hold real numbers, received dtype {arr.dtype}")
    return arr


def identity(x: ArrayLike) -> FloatArray:
    """Return ``x`` unchanged (as an array)."""
    return _as_float_array(x)


def relu(x: ArrayLike) -> FloatArray:
    """``max(x, 0)`` elementwise."""
    arr = _as_float_array(x)
    return np.maximum(arr, 0, dtype=arr.dtype)


def sigmoid(x: ArrayLike) -> FloatArray:
    """Logistic function ``1 / (1 + exp(-x))`` that never overflows.

    ``exp`` is only ever taken of ``-|x|``, so it stays in (0, 1]; the two
    algebraically equal forms are picked by the sign of ``x``.
    """
    arr = _as_float_array(x)
    e = np.exp(-np.abs(arr))
    return np.where(arr >= 0, 1 / (1 + e), e / (1 + e)).astype(arr.dtype, copy=False)


def softmax(x: ArrayLike) -> FloatArray:
    """Softmax over the last axis, with the row maximum subtracted first.

    x: (..., C) scores. Returns probabilities of the same shape; each row sums to 1.
    """
    arr = _as_float_array(x)
    z = arr - arr.max(axis=-1, keepdims=True)
    e = np.exp(z)
    e /= e.sum(axis=-1, keepdims=True)
    return e


def log_softmax(x: ArrayLike) -> FloatArray:
    """``log(softmax(x))`` over the last axis, computed without taking log of 0.

    x: (..., C) scores. A very wrong class gets a large negative value, not ``-inf``.
    """
    arr = _as_float_array(x)
    z = arr - arr.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def as_label_indices(t: ArrayLike, n: int, num_classes: int) -> NDArray[np.intp]:
    """Validate integer labels and return them as indices.

    t: (N,) integers in ``[0, num_classes)``. One-hot labels are not accepted here;
    callers convert them with ``argmax`` first where that is meaningful.
    """
    arr = np.asarray(t)
    if arr.dtype.kind not in "iu":
        raise TypeError(
            f"integer class labels expected, received dtype {arr.dtype}; "
            "pass integer labels of shape (N,) or one-hot labels of shape (N, C)"
        )
    if arr.shape != (n,):
        raise ValueError(f"labels must have shape ({n},) to match the batch, received {arr.shape}")
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][0]
        raise ValueError(f"labels must lie in [0, {num_classes}), received a label of {int(bad)}")
    return arr.astype(np.intp, copy=False)


def _check_one_hot(t: NDArray, shape: tuple[int, ...]) -> None:
    if t.shape != shape:
        raise ValueError(f"one-hot labels must have the scores' shape {shape}, received {t.shape}")


def softmax_cross_entropy(x: ArrayLike, t: ArrayLike) -> float:
    """Mean cross-entropy of ``softmax(x)`` against labels, straight from scores.

    x: (N, C) scores (logits). t: (N,) integer labels or (N, C) one-hot rows.
    The true loss is returned even for confident wrong answers: scores
    ``[1000, 0]`` with label 1 give 1000.
    """
    scores = _as_float_array(x)
    if scores.ndim == 1:
        scores = scores[np.newaxis]
        t = np.asarray(t)[np.newaxis]
    if scores.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), received {scores.shape}")
    logp = log_softmax(scores)
    n, c = scores.shape
    labels = np.asarray(t)
    if labels.ndim == 2:
        _check_one_hot(labels, scores.shape)
        return float(-(labels * logp).sum() / n)
    idx = as_label_indices(labels, n, c)
    return float(-logp[np.arange(n), idx].sum() / n)


def cross_entropy_error(y: ArrayLike, t: ArrayLike) -> float:
    """The book's cross-entropy of probabilities ``y`` against labels ``t``.

    y: (N, C) probabilities (or (C,) for one sample). t: (N,) integer labels or
    (N, C) one-hot rows. Probabilities of exactly 0 are clamped to the smallest
    positive number of the dtype instead of the book's ``+ 1e-7``, so the loss
    stays finite without being capped at 16. To get exact losses for very wrong
    predictions, pass scores to :func:`softmax_cross_entropy` instead.
    """
    probs = _as_float_array(y, "y")
    if probs.ndim == 1:
        probs = probs[np.newaxis]
        t = np.asarray(t)[np.newaxis]
    if probs.ndim != 2:
        raise ValueError(f"y must have shape (N, C), received {probs.shape}")
    n, c = probs.shape
    logp = np.log(np.maximum(probs, np.finfo(probs.dtype).tiny))
    labels = np.asarray(t)
    if labels.ndim == 2:
        _check_one_hot(labels, probs.shape)
        return float(-(labels * logp).sum() / n)
    idx = as_label_indices(labels, n, c)
    return float(-logp[np.arange(n), idx].sum() / n)
