"""Numerically stable building blocks: activations, softmax and cross-entropy.

Every function takes a floating-point array (see :mod:`mitbadak._checks` for the policy)
and keeps its dtype. None of them overflows, divides by zero or warns for finite input.
The layers call these functions rather than repeating the math.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mitbadak._checks import as_float_input
from mitbadak._types import FloatArray

__all__ = [
    "as_label_indices",
    "cross_entropy_error",
    "identity",
    "log_softmax",
    "relu",
    "sigmoid",
    "softmax",
    "softmax_cross_entropy",
    "softmax_loss_parts",
]


def identity(x: ArrayLike) -> FloatArray:
    """Return ``x`` unchanged."""
    return as_float_input(x)


def relu(x: ArrayLike) -> FloatArray:
    """``max(x, 0)`` elementwise."""
    arr = as_float_input(x)
    return np.maximum(arr, 0, dtype=arr.dtype)


def sigmoid(x: ArrayLike) -> FloatArray:
    """Logistic function ``1 / (1 + exp(-x))`` that never overflows.

    ``exp`` is only ever taken of ``-|x|``, so it stays in (0, 1]; the two
    algebraically equal forms are picked by the sign of ``x``.
    """
    arr = as_float_input(x)
    e = np.exp(-np.abs(arr))
    return np.where(arr >= 0, 1 / (1 + e), e / (1 + e)).astype(arr.dtype, copy=False)


def _shifted_exp(arr: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """``z = x - max(x)``, ``exp(z)`` and its row sums over the last axis.

    Subtracting the maximum keeps ``exp`` from overflowing; the largest term is 1, so
    the sum is at least 1 and its log is never ``-inf``.
    """
    z = arr - arr.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return z, e, e.sum(axis=-1, keepdims=True)


def softmax(x: ArrayLike) -> FloatArray:
    """Softmax over the last axis, with the row maximum subtracted first.

    x: (..., C) scores. Returns probabilities of the same shape; each row sums to 1.
    """
    _, e, sum_e = _shifted_exp(as_float_input(x))
    e /= sum_e
    return e


def log_softmax(x: ArrayLike) -> FloatArray:
    """``log(softmax(x))`` over the last axis, computed without taking log of 0.

    x: (..., C) scores. A very wrong class gets a large negative value, not ``-inf``.
    """
    z, _, sum_e = _shifted_exp(as_float_input(x))
    return z - np.log(sum_e)


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
        count = f"got {n} score rows but {arr.shape[0]} labels; " if arr.ndim == 1 else ""
        raise ValueError(
            f"{count}labels must have shape ({n},) or ({n}, {num_classes}) to match the "
            f"batch, received {arr.shape}"
        )
    if n and (arr.min() < 0 or arr.max() >= num_classes):
        bad = arr[(arr < 0) | (arr >= num_classes)][0]
        raise ValueError(f"labels must lie in [0, {num_classes}), received a label of {int(bad)}")
    return arr.astype(np.intp, copy=False)


def _labels(t: ArrayLike, shape: tuple[int, ...]) -> NDArray:
    """(N,) label indices, or the (N, C) one-hot rows as given, checked against scores."""
    labels = np.asarray(t)
    if labels.ndim == 2:
        if labels.shape != shape:
            raise ValueError(
                f"one-hot labels must have the scores' shape {shape}, received {labels.shape}"
            )
        return labels
    if labels.ndim != 1:
        n, c = shape
        raise ValueError(f"labels must have shape ({n},) or ({n}, {c}), received {labels.shape}")
    return as_label_indices(labels, *shape)


def _mean_nll(logp: FloatArray, labels: NDArray) -> float:
    """Mean negative log-likelihood of the labels (indices or one-hot) under ``logp``."""
    n = logp.shape[0]
    if labels.ndim == 2:
        return float(-(labels * logp).sum() / n)
    return float(-logp[np.arange(n), labels].sum() / n)


def _as_batch(x: ArrayLike, t: ArrayLike, name: str) -> tuple[FloatArray, ArrayLike]:
    """Scores or probabilities as (N, C); one sample (C,) becomes a batch of one."""
    arr = as_float_input(x, name)
    if arr.ndim == 1:
        return arr[np.newaxis], np.asarray(t)[np.newaxis]
    if arr.ndim != 2:
        raise ValueError(f"{name} must have shape (N, C), received {arr.shape}")
    return arr, t


def softmax_loss_parts(x: FloatArray, t: ArrayLike) -> tuple[float, FloatArray, NDArray]:
    """What :class:`~mitbadak.layers.SoftmaxWithLoss` needs from one batch, in one pass.

    x: (N, C) scores, t: (N,) integer labels or (N, C) one-hot. Returns the mean
    cross-entropy loss, the softmax probabilities (N, C) and the checked labels
    (indices (N,) or the one-hot rows). ``exp`` is computed once for both.
    """
    if x.ndim != 2:
        raise ValueError(f"scores must have shape (N, C), received {x.shape}")
    labels = _labels(t, x.shape)
    z, e, sum_e = _shifted_exp(x)
    log_sum_e = np.log(sum_e)
    if labels.ndim == 2:
        loss = _mean_nll(z - log_sum_e, labels)
    else:
        # Only the labelled entries of log p are needed: mean(log_sum_e - z[label]).
        n = x.shape[0]
        loss = float(log_sum_e.sum() - z[np.arange(n), labels].sum()) / n
    e /= sum_e
    return loss, e, labels


def softmax_cross_entropy(x: ArrayLike, t: ArrayLike) -> float:
    """Mean cross-entropy of ``softmax(x)`` against labels, straight from scores.

    x: (N, C) scores (logits). t: (N,) integer labels or (N, C) one-hot rows.
    The true loss is returned even for confident wrong answers: scores
    ``[1000, 0]`` with label 1 give 1000.
    """
    scores, labels = _as_batch(x, t, "scores")
    return softmax_loss_parts(scores, labels)[0]


def cross_entropy_error(y: ArrayLike, t: ArrayLike) -> float:
    """The book's cross-entropy of probabilities ``y`` against labels ``t``.

    y: (N, C) probabilities (or (C,) for one sample). t: (N,) integer labels or
    (N, C) one-hot rows. Probabilities of exactly 0 are clamped to the smallest
    positive number of the dtype instead of the book's ``+ 1e-7``, so the loss
    stays finite without being capped at 16. To get exact losses for very wrong
    predictions, pass scores to :func:`softmax_cross_entropy` instead.
    """
    probs, labels = _as_batch(y, t, "y")
    checked = _labels(labels, probs.shape)
    return _mean_nll(np.log(np.maximum(probs, np.finfo(probs.dtype).tiny)), checked)
