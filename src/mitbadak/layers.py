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
``random_state()`` / ``set_random_state(state, replay=False)``
    The one hook for layers that draw random numbers in ``forward`` (Dropout): a
    snapshot of their random state, and its restoration. With ``replay=True`` the next
    training forward draws exactly what the most recent one drew, which is how a
    gradient check differentiates the same function that backprop did. Layers without
    randomness return ``None`` and ignore it.
"""

from __future__ import annotations

import copy
from typing import Any, ClassVar, Self

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mitbadak._checks import as_float_input, check_param
from mitbadak._types import FloatArray
from mitbadak.functions import sigmoid, softmax_loss_parts

__all__ = [
    "Affine",
    "Layer",
    "LossLayer",
    "Relu",
    "Sigmoid",
    "SoftmaxWithLoss",
    "WeightLayer",
]


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

    def random_state(self) -> object | None:
        """A snapshot of the layer's random state, or None if it draws no random numbers."""
        return None

    def set_random_state(self, state: object | None, *, replay: bool = False) -> None:
        """Restore a :meth:`random_state` snapshot.

        ``replay=True`` instead rewinds to just before the most recent training
        forward's draws (or keeps the snapshot's next draws if there was none), so the
        next training forward repeats them.
        """

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
        # caller's gradient) and is much faster than np.where on large inputs.
        return dout * ~mask


class Sigmoid(Layer):
    """Logistic activation; backward uses the stored output: ``dout * (1 - y) * y``."""

    def __init__(self) -> None:
        super().__init__()
        self.out: FloatArray | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: any shape. Returns the same shape and dtype, values in (0, 1)."""
        self.out = sigmoid(x)
        return self.out

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

    def random_state(self) -> object | None:
        """Loss layers draw no random numbers; see :meth:`Layer.random_state`."""
        return None

    def set_random_state(self, state: object | None, *, replay: bool = False) -> None:
        """Nothing to restore; see :meth:`Layer.set_random_state`."""

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
        self.loss, self.y, self.t = softmax_loss_parts(x, t)
        return self.loss

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
