"""The book's ``common/layers.py``: mitbadak's layers with the book's signatures.

``from common.layers import *`` becomes ``from mitbadak.book.layers import *``, for
the book's scripts and for the networks readers type in from chapters 5-8. Each class
is mitbadak's layer (same math, same ``params``/``grads``) with what the book's code
expects:

- inputs as the book's code passes them: integer arrays or lists become float arrays,
  and labels shaped ``(N, 1)`` become ``(N,)`` (mitbadak's own layers refuse both);
- ``Affine(W, b)`` and ``Convolution(W, b, stride=1, pad=0)`` take the arrays they are
  given and use them, so updating a network's ``params`` dict in place (``-=``)
  reaches the layer as in the book; ``W`` and ``b`` may be assigned (the book's
  ``load_params``), and a number for ``b`` means that bias for every output (the
  book's ``Convolution(w, b=0)`` in chapter 7);
- ``Dropout(dropout_ratio=0.5)`` and ``BatchNormalization(gamma, beta, ...)`` take the
  mode as the book passes it, ``forward(x, train_flg=True)``;
- ``Pooling(pool_h, pool_w, stride=2, pad=0)``: the book's code defaults to stride 2.

Differences that remain, by design: ``Relu.backward`` does not write into ``dout``;
``Dropout`` is inverted (it scales by ``1 / (1 - ratio)`` while training instead of
by ``1 - ratio`` at inference); ``BatchNormalization`` keeps one statistic per
channel for images; the loss is computed through log-softmax.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from mitbadak import batchnorm, conv, dropout, layers
from mitbadak._checks import as_book_labels, as_float_lenient
from mitbadak._types import FloatArray

__all__ = [
    "Affine",
    "BatchNormalization",
    "Convolution",
    "Dropout",
    "Pooling",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "np",  # the book's star import brings numpy too
]


def _bias(b: object, n_out: int, like: FloatArray) -> FloatArray:
    """``b`` as a float array; a number means that bias for each of ``n_out`` outputs."""
    arr = as_float_lenient(b, "b")
    if arr.ndim == 0:
        return np.full(n_out, arr, dtype=like.dtype)
    return arr.astype(like.dtype, copy=False)


class _Settable:
    """``W`` and ``b`` that can be assigned, as the book's ``load_params`` does."""

    params: dict[str, FloatArray]

    def _set(self, key: str, value: object) -> None:
        current = self.params[key]
        arr = as_float_lenient(value, key)
        if arr.shape != current.shape:
            raise ValueError(f"{key} must keep shape {current.shape}, received {arr.shape}")
        self.params[key] = arr

    @property
    def W(self) -> FloatArray:
        return self.params["W"]

    @W.setter
    def W(self, value: object) -> None:
        self._set("W", value)

    @property
    def b(self) -> FloatArray:
        return self.params["b"]

    @b.setter
    def b(self, value: object) -> None:
        self._set("b", value)


class Relu(layers.Relu):
    """``out = max(x, 0)``; :class:`mitbadak.layers.Relu`."""

    def forward(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train)


class Sigmoid(layers.Sigmoid):
    """``1 / (1 + exp(-x))``; :class:`mitbadak.layers.Sigmoid`."""

    def forward(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train)


class Affine(_Settable, layers.Affine):
    """``out = x · W + b``; :class:`mitbadak.layers.Affine`."""

    def __init__(self, W: ArrayLike, b: ArrayLike) -> None:
        w = as_float_lenient(W, "W")
        super().__init__(w, _bias(b, w.shape[-1], w))

    def forward(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train)


class Convolution(_Settable, conv.Convolution):
    """Filters ``W: (FN, C, FH, FW)`` over images; :class:`mitbadak.conv.Convolution`."""

    def __init__(self, W: ArrayLike, b: ArrayLike, stride: int = 1, pad: int = 0) -> None:
        w = as_float_lenient(W, "W")
        super().__init__(w, _bias(b, w.shape[0], w), stride, pad)

    def forward(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train)


class Pooling(conv.Pooling):
    """Max pooling, stride 2 unless given (the book's default); :class:`mitbadak.conv.Pooling`."""

    def __init__(self, pool_h: int, pool_w: int, stride: int = 2, pad: int = 0) -> None:
        super().__init__(pool_h, pool_w, stride, pad)

    def forward(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train)


class SoftmaxWithLoss(layers.SoftmaxWithLoss):
    """Softmax and cross-entropy; :class:`mitbadak.layers.SoftmaxWithLoss`.

    ``t``: labels ``(N,)`` or ``(N, 1)``, or one-hot rows ``(N, C)``.
    """

    def forward(self, x: ArrayLike, t: ArrayLike, *, train: bool = False) -> float:
        return super().forward(as_float_lenient(x), as_book_labels(t), train=train)


class Dropout(dropout.Dropout):
    """``Dropout(dropout_ratio=0.5)``, ``forward(x, train_flg=True)``;
    :class:`mitbadak.dropout.Dropout` (inverted dropout)."""

    def __init__(self, dropout_ratio: float = 0.5, *, rng: np.random.Generator | None = None):
        super().__init__(dropout_ratio, rng=rng)

    def forward(
        self, x: ArrayLike, train_flg: bool = True, *, train: bool | None = None
    ) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train_flg if train is None else train)


class BatchNormalization(batchnorm.BatchNormalization):
    """``BatchNormalization(gamma, beta, momentum=0.9, running_mean=None,
    running_var=None)``, ``forward(x, train_flg=True)``, with the book's ``eps`` of
    1e-6; :class:`mitbadak.batchnorm.BatchNormalization`."""

    def __init__(
        self,
        gamma: ArrayLike,
        beta: ArrayLike,
        momentum: float = 0.9,
        running_mean: ArrayLike | None = None,
        running_var: ArrayLike | None = None,
        *,
        eps: float = 1e-6,
    ) -> None:
        mean, var = (
            None if s is None else as_float_lenient(s, "running statistics")
            for s in (running_mean, running_var)
        )
        gamma_, beta_ = as_float_lenient(gamma, "gamma"), as_float_lenient(beta, "beta")
        super().__init__(gamma_, beta_, momentum, mean, var, eps=eps)

    def forward(
        self, x: ArrayLike, train_flg: bool = True, *, train: bool | None = None
    ) -> FloatArray:
        return super().forward(as_float_lenient(x), train=train_flg if train is None else train)
