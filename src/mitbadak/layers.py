"""Layers with hand-written forward and backward passes (chapter 5 of the book).

Every layer follows one protocol:

``params`` / ``grads``
    Dicts with the same keys. The layer owns the arrays in ``params``; ``backward``
    puts fresh gradient arrays into ``grads``. Activation layers have empty dicts.
``buffers``
    Non-trainable state that must be saved with the model (BatchNorm's running
    statistics); empty for most layers.
``forward(x, *, train=False)``
    Returns the output and remembers what ``backward`` needs.
``backward(dout)``
    Returns ``dx`` with ``x``'s shape and fills ``grads``. It never writes into
    ``dout`` or into any array the caller passed to ``forward``.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mitbadak.functions import as_label_indices

__all__ = [
    "Affine",
    "Layer",
    "LossLayer",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "WeightLayer",
]

FloatArray = NDArray[np.floating]


def as_float_input(x: object, name: str = "x") -> FloatArray:
    """Return ``x`` as a floating-point ndarray or raise ``TypeError`` saying what it was."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy array, received {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point array, received dtype {x.dtype}")
    return x


def check_param(name: str, value: object, ndim: int) -> FloatArray:
    """Validate a parameter array handed to a layer constructor."""
    arr = as_float_input(value, name)
    if arr.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimension(s), received shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must hold finite numbers only, received NaN or inf")
    return arr


class Layer:
    """Base class of every layer; see the module docstring for the protocol."""

    #: Names of constructor arguments that are plain settings (saved as JSON).
    config_keys: ClassVar[tuple[str, ...]] = ()

    def __init__(self) -> None:
        self.params: dict[str, FloatArray] = {}
        self.grads: dict[str, FloatArray] = {}
        self.buffers: dict[str, FloatArray] = {}

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        raise NotImplementedError

    def backward(self, dout: FloatArray) -> FloatArray:
        raise NotImplementedError

    def backward_params(self, dout: FloatArray) -> None:
        """Fill ``grads`` without computing ``dx``.

        Models call this on their first layer, whose ``dx`` nobody reads; layers
        whose ``dx`` is expensive (Affine, Convolution) override it to skip that work.
        """
        self.backward(dout)

    def config(self) -> dict[str, Any]:
        """The constructor's settings, JSON-serialisable, for saving a model."""
        return {key: getattr(self, key) for key in self.config_keys}

    def astype(self, dtype: type[np.floating] | np.dtype) -> Self:
        """A deep copy of the layer with its parameters and buffers cast to ``dtype``."""
        clone = copy.deepcopy(self)
        clone.cast_(dtype)
        return clone

    def cast_(self, dtype: type[np.floating] | np.dtype) -> None:
        """Cast parameters and buffers to ``dtype`` in place (new arrays, same keys)."""
        for store in (self.params, self.buffers):
            for key, value in store.items():
                store[key] = value.astype(dtype)
        self.grads = {key: np.zeros_like(value) for key, value in self.params.items()}

    def _check_dout(self, dout: object, shape: tuple[int, ...] | None) -> FloatArray:
        if shape is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        arr = as_float_input(dout, "dout")
        if arr.shape != shape:
            raise ValueError(
                f"{type(self).__name__}.backward expected dout of shape {shape} "
                f"(the forward output), received {arr.shape}"
            )
        return arr

    def __repr__(self) -> str:
        shapes = ", ".join(f"{k}={v.shape}" for k, v in self.params.items())
        settings = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({', '.join(s for s in (shapes, settings) if s)})"


class Relu(Layer):
    """Rectified linear unit: ``out = max(x, 0)``; the gradient passes where ``x > 0``."""

    def __init__(self) -> None:
        super().__init__()
        self.mask: NDArray[np.bool_] | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: any shape. Returns the same shape and dtype."""
        x = as_float_input(x)
        self.mask = x <= 0
        return np.maximum(x, 0, dtype=x.dtype)

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: the forward output's shape. Returns dx of that shape (a new array)."""
        mask = self.mask
        dout = self._check_dout(dout, None if mask is None else mask.shape)
        assert mask is not None
        # A product makes a new array (the book's `dout[mask] = 0` overwrites the
        # caller's gradient) and runs about 10x faster than np.where on large inputs.
        return dout * ~mask


class Sigmoid(Layer):
    """Logistic activation; backward uses the stored output: ``dout * (1 - y) * y``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: FloatArray | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: any shape. Returns the same shape and dtype, values in (0, 1)."""
        x = as_float_input(x)
        # Same sign trick as functions.sigmoid; exp only sees -|x|, so never overflows.
        e = np.exp(-np.abs(x))
        out = np.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        self.out = out
        return out

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: the forward output's shape. Returns dx of that shape."""
        out = self.out
        dout = self._check_dout(dout, None if out is None else out.shape)
        assert out is not None
        return dout * (1 - out) * out


class WeightLayer(Layer):
    """A layer with a weight ``W`` and a bias ``b`` (Affine, Convolution).

    ``W``, ``b``, ``dW`` and ``db`` are the book's attribute names, read from the
    ``params`` and ``grads`` dicts so that each array has one owner.
    """

    def __init__(self, W: FloatArray, b: FloatArray, *, w_ndim: int, out_axis: int) -> None:
        """Validate and own ``W`` (``w_ndim`` dimensions) and ``b``: one bias per entry of
        ``W``'s axis ``out_axis`` (the outputs: Affine's columns, Convolution's filters)."""
        super().__init__()
        W = check_param("W", W, w_ndim)
        b = check_param("b", b, 1)
        n_out = W.shape[out_axis]
        if b.shape[0] != n_out:
            raise ValueError(
                f"b must have shape ({n_out},), one bias per output of W with shape "
                f"{W.shape}, received {b.shape}"
            )
        if b.dtype != W.dtype:
            raise TypeError(f"W and b must share a dtype, received {W.dtype} and {b.dtype}")
        self.params = {"W": W, "b": b}
        self.grads = {"W": np.zeros_like(W), "b": np.zeros_like(b)}

    @property
    def W(self) -> FloatArray:
        return self.params["W"]

    @property
    def b(self) -> FloatArray:
        return self.params["b"]

    @property
    def dW(self) -> FloatArray:
        return self.grads["W"]

    @property
    def db(self) -> FloatArray:
        return self.grads["b"]


class Affine(WeightLayer):
    """Fully connected layer: ``out = x · W + b``.

    W: (D, M) weights, b: (M,) bias. ``forward`` accepts x: (N, D) or any
    (N, ...) whose trailing dimensions multiply to D (images are flattened), and
    ``backward`` returns dx in the input's original shape.
    """

    def __init__(self, W: FloatArray, b: FloatArray) -> None:
        super().__init__(W, b, w_ndim=2, out_axis=1)
        self.x: FloatArray | None = None
        self.original_x_shape: tuple[int, ...] | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: (N, D) or (N, ...) flattening to D. Returns (N, M)."""
        x = as_float_input(x)
        W, b = self.params["W"], self.params["b"]
        if x.ndim < 2:
            raise ValueError(
                f"Affine expects a batch of shape (N, {W.shape[0]}), received shape {x.shape}; "
                "wrap a single sample with x[np.newaxis]"
            )
        x2 = x.reshape(x.shape[0], -1)
        if x2.shape[1] != W.shape[0]:
            raise ValueError(
                f"Affine expects {W.shape[0]} features per sample (W is {W.shape}), "
                f"received input of shape {x.shape}"
            )
        self.original_x_shape = x.shape
        self.x = x2
        out = x2 @ W
        out += b
        return out

    def _out_shape(self) -> tuple[int, ...] | None:
        if self.x is None:
            return None
        return (self.x.shape[0], self.params["W"].shape[1])

    def backward_params(self, dout: FloatArray) -> None:
        """Fill dW = xᵀ·dout and db = Σ dout without computing dx."""
        dout = self._check_dout(dout, self._out_shape())
        assert self.x is not None
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: (N, M). Returns dx = dout · Wᵀ in the input's shape; fills dW, db."""
        self.backward_params(dout)
        assert self.original_x_shape is not None
        dx = dout @ self.params["W"].T
        return dx.reshape(self.original_x_shape)


class LossLayer:
    """Base class of output layers that turn scores and labels into a scalar loss."""

    def __init__(self) -> None:
        self.params: dict[str, FloatArray] = {}
        self.grads: dict[str, FloatArray] = {}
        self.buffers: dict[str, FloatArray] = {}

    def forward(self, x: FloatArray, t: ArrayLike, *, train: bool = False) -> float:
        raise NotImplementedError

    def backward(self, dout: float = 1.0) -> FloatArray:
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        return {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class SoftmaxWithLoss(LossLayer):
    """Softmax and cross-entropy fused: forward gives the mean loss, backward ``(y - t) / N``.

    The loss is computed through log-softmax, so it is the true value even for a
    confident wrong answer (scores ``[1000, 0]`` with label 1 give 1000, not a
    clipped 16) and never NaN for finite scores.
    """

    def __init__(self) -> None:
        super().__init__()
        self.loss: float | None = None
        self.y: FloatArray | None = None
        self.t: NDArray | None = None  # (N,) indices or (N, C) one-hot, as given

    def forward(self, x: FloatArray, t: ArrayLike, *, train: bool = False) -> float:
        """x: (N, C) scores. t: (N,) integer labels or (N, C) one-hot. Returns the mean loss."""
        x = as_float_input(x)
        if x.ndim != 2:
            raise ValueError(f"SoftmaxWithLoss expects scores of shape (N, C), received {x.shape}")
        n, c = x.shape
        labels = np.asarray(t)
        # log-softmax by hand, sharing its pieces with softmax: z = x - max(x) keeps exp
        # from overflowing, and log p = z - log(sum(exp(z))) is never log(0).
        z = x - x.max(axis=1, keepdims=True)
        e = np.exp(z)
        sum_e = e.sum(axis=1, keepdims=True)
        log_sum_e = np.log(sum_e)
        if labels.ndim == 2:
            if labels.shape != x.shape:
                raise ValueError(
                    f"one-hot labels must have the scores' shape {x.shape}, received {labels.shape}"
                )
            self.t = labels
            loss = -float((labels * (z - log_sum_e)).sum()) / n
        elif labels.ndim == 1:
            if labels.shape[0] != n:
                raise ValueError(
                    f"got {n} score rows but {labels.shape[0]} labels; batch sizes must match"
                )
            idx = as_label_indices(labels, n, c)
            self.t = idx
            # Only the labelled entries of log p are needed: sum(log_sum_e - z[label]).
            loss = float(log_sum_e.sum() - z[np.arange(n), idx].sum()) / n
        else:
            raise ValueError(
                f"labels must have shape ({n},) or ({n}, {c}), received {labels.shape}"
            )
        e /= sum_e
        self.y = e
        self.loss = loss
        return loss

    def backward(self, dout: float = 1.0) -> FloatArray:
        """Returns dL/dx: (N, C) = dout · (softmax(x) - t) / N."""
        if self.y is None or self.t is None:
            raise RuntimeError("SoftmaxWithLoss.backward called before forward")
        n = self.y.shape[0]
        if self.t.ndim == 2:
            dx = (self.y - self.t).astype(self.y.dtype, copy=False)
        else:
            dx = self.y.copy()
            dx[np.arange(n), self.t] -= 1
        dx *= dx.dtype.type(dout / n)
        return dx
