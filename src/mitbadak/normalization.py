"""Batch normalisation and dropout (section 6.3 and 6.4 of the book).

Both layers behave differently when training: ``forward(x, train=True)`` uses the
batch's statistics (BatchNormalization) or drops units (Dropout), while
``train=False`` is the deterministic inference mode.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mitbadak.layers import Layer, as_float_input, check_param

__all__ = ["BatchNormalization", "Dropout"]

FloatArray = NDArray[np.floating]


def _check_ratio(name: str, value: object, *, low: float, high: float, high_open: bool) -> float:
    ok = isinstance(value, int | float | np.floating | np.integer) and not isinstance(value, bool)
    if ok:
        v = float(value)  # type: ignore[arg-type]
        ok = low <= v < high if high_open else low <= v <= high
    if not ok:
        bracket = ")" if high_open else "]"
        raise ValueError(f"{name} must be a number in [{low}, {high}{bracket}, received {value!r}")
    return float(value)  # type: ignore[arg-type]


def check_dropout_ratio(value: object) -> float:
    """``value`` as a float if it is a valid dropout ratio ``0 <= p < 1``, else ``ValueError``."""
    return _check_ratio("dropout_ratio", value, low=0.0, high=1.0, high_open=True)


class BatchNormalization(Layer):
    """Batch normalisation (Ioffe and Szegedy, 2015, https://arxiv.org/abs/1502.03167).

    Each feature (for x: (N, D)) or each channel (for x: (N, C, H, W), statistics
    over the batch and all pixels, as the paper prescribes for convolutions) is
    normalised to zero mean and unit variance, then scaled and shifted:
    ``out = gamma * (x - mean) / sqrt(var + eps) + beta``.

    Parameters
    ----------
    gamma, beta : (D,) or (C,) learned scale and shift (the book starts them at 1 and 0)
    momentum : weight of the old value in the running averages, in [0, 1]
    running_mean, running_var : (D,) or (C,) starting running statistics; default
        zeros and ones
    eps : added to the variance before the square root

    Modes
    -----
    ``train=True`` normalises with the batch mean and the biased batch variance
    (divided by ``M``, the number of values per feature) and updates the buffers::

        running_mean = momentum * running_mean + (1 - momentum) * batch_mean
        running_var  = momentum * running_var  + (1 - momentum) * batch_var

    ``train=False`` normalises with ``running_mean`` and ``running_var`` instead.

    Conventions, compared with the book and PyTorch:

    - ``momentum`` is the book's: the weight of the *old* value. PyTorch's
      ``momentum`` is the weight of the new one, ``1 - ours``.
    - ``running_var`` averages the *biased* batch variance, as the book does.
      PyTorch averages the unbiased one (``var * M / (M - 1)``) while normalising
      with the biased one. For large batches the difference is negligible.
    - ``running_var`` starts at ones (as in PyTorch), not at zeros as in the book,
      so an untrained layer is close to the identity in inference mode instead of
      multiplying by ``1 / sqrt(eps)``.
    - The book's layer flattens images to ``(N, C * H * W)`` and keeps statistics
      per pixel; here images get per-channel statistics, with gamma of shape (C,).

    ``buffers`` holds ``running_mean`` and ``running_var``; they are replaced by
    new arrays on every training step, never written in place, so arrays passed to
    the constructor are not modified.
    """

    config_keys = ("momentum", "eps")

    def __init__(
        self,
        gamma: FloatArray,
        beta: FloatArray,
        momentum: float = 0.9,
        running_mean: FloatArray | None = None,
        running_var: FloatArray | None = None,
        *,
        eps: float = 1e-5,
    ) -> None:
        super().__init__()
        gamma = check_param("gamma", gamma, 1)
        beta = check_param("beta", beta, 1)
        if beta.shape != gamma.shape:
            raise ValueError(f"beta must have gamma's shape {gamma.shape}, received {beta.shape}")
        if beta.dtype != gamma.dtype:
            raise TypeError(
                f"gamma and beta must share a dtype, received {gamma.dtype} and {beta.dtype}"
            )
        self.momentum = _check_ratio("momentum", momentum, low=0.0, high=1.0, high_open=False)
        if isinstance(eps, bool) or not isinstance(eps, int | float) or not eps > 0:
            raise ValueError(f"eps must be a positive number, received eps={eps!r}")
        self.eps = float(eps)
        if running_mean is None:
            running_mean = np.zeros_like(gamma)
        if running_var is None:
            running_var = np.ones_like(gamma)
        running_mean = check_param("running_mean", running_mean, 1)
        running_var = check_param("running_var", running_var, 1)
        for name, arr in (("running_mean", running_mean), ("running_var", running_var)):
            if arr.shape != gamma.shape:
                raise ValueError(
                    f"{name} must have gamma's shape {gamma.shape}, received {arr.shape}"
                )
        if np.any(running_var < 0):
            raise ValueError("running_var must be non-negative, received a negative entry")
        self.params = {"gamma": gamma, "beta": beta}
        self.grads = {"gamma": np.zeros_like(gamma), "beta": np.zeros_like(beta)}
        self.buffers = {
            "running_mean": running_mean.astype(gamma.dtype),
            "running_var": running_var.astype(gamma.dtype),
        }
        # Saved by forward for backward.
        self.x_shape: tuple[int, ...] | None = None
        self.xn: FloatArray | None = None  # normalised input
        self.std: FloatArray | None = None  # broadcastable sqrt(var + eps) used
        self.train_flag: bool = False

    @property
    def gamma(self) -> FloatArray:
        return self.params["gamma"]

    @property
    def beta(self) -> FloatArray:
        return self.params["beta"]

    @property
    def dgamma(self) -> FloatArray:
        return self.grads["gamma"]

    @property
    def dbeta(self) -> FloatArray:
        return self.grads["beta"]

    @property
    def running_mean(self) -> FloatArray:
        return self.buffers["running_mean"]

    @property
    def running_var(self) -> FloatArray:
        return self.buffers["running_var"]

    def _axes_and_shape(self, x: FloatArray) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """Axes to reduce over and the shape that broadcasts a (C,) vector against x."""
        features = self.params["gamma"].shape[0]
        if x.ndim == 2 and x.shape[1] == features:
            return (0,), (1, features)
        if x.ndim == 4 and x.shape[1] == features:
            return (0, 2, 3), (1, features, 1, 1)
        raise ValueError(
            f"BatchNormalization with {features} features expects input of shape "
            f"(N, {features}) or (N, {features}, H, W), received {x.shape}"
        )

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: (N, D) or (N, C, H, W). Returns the same shape and dtype."""
        x = as_float_input(x)
        axes, bshape = self._axes_and_shape(x)
        if train:
            if x.shape[0] == 0:
                raise ValueError(f"cannot take batch statistics of an empty batch {x.shape}")
            mean = x.mean(axis=axes)
            xc = x - mean.reshape(bshape)
            var = np.mean(np.square(xc), axis=axes)
            m = self.momentum
            self.buffers["running_mean"] = (
                m * self.buffers["running_mean"] + (1 - m) * mean
            ).astype(self.params["gamma"].dtype, copy=False)
            self.buffers["running_var"] = (m * self.buffers["running_var"] + (1 - m) * var).astype(
                self.params["gamma"].dtype, copy=False
            )
        else:
            xc = x - self.buffers["running_mean"].reshape(bshape)
            var = self.buffers["running_var"]
        std = np.sqrt(var + x.dtype.type(self.eps)).reshape(bshape)
        xn = xc / std
        out = xn * self.params["gamma"].reshape(bshape) + self.params["beta"].reshape(bshape)
        self.x_shape = x.shape
        self.xn = xn
        self.std = std
        self.train_flag = train
        return out.astype(x.dtype, copy=False)

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: x's shape. Returns dx; fills dgamma = Σ dout·xn and dbeta = Σ dout.

        In training mode the mean and variance depend on x, and the chain rule
        through them collapses to the standard compact form::

            dxn = dout * gamma
            dx  = (dxn - mean(dxn) - xn * mean(dxn * xn)) / std

        (means over the reduced axes). In inference mode the statistics are
        constants and ``dx = dout * gamma / std``.
        """
        dout = self._check_dout(dout, self.x_shape)
        xn, std = self.xn, self.std
        assert xn is not None and std is not None
        axes, bshape = self._axes_and_shape(xn)
        self.grads["gamma"] = np.sum(dout * xn, axis=axes).astype(self.params["gamma"].dtype)
        self.grads["beta"] = np.sum(dout, axis=axes).astype(self.params["beta"].dtype)
        dxn = dout * self.params["gamma"].reshape(bshape)
        if not self.train_flag:
            return (dxn / std).astype(dout.dtype, copy=False)
        dx = dxn - dxn.mean(axis=axes, keepdims=True)
        dx -= xn * np.mean(dxn * xn, axis=axes, keepdims=True)
        dx /= std
        return dx.astype(dout.dtype, copy=False)


class Dropout(Layer):
    """Inverted dropout (Srivastava et al., 2014, https://jmlr.org/papers/v15/srivastava14a.html).

    Parameters
    ----------
    dropout_ratio : probability ``p`` of dropping each unit, ``0 <= p < 1``
    rng : the generator that draws the masks (a fresh unseeded one if omitted),
        kept as ``self.rng``

    In training mode each unit is kept with probability ``1 - p`` and the kept
    units are scaled by ``1 / (1 - p)``, so every unit's expected value is
    unchanged and inference is the identity. The book instead scales by
    ``1 - p`` at inference; the two give the same expected outputs, but inverted
    dropout leaves inference untouched.

    ``last_rng_state`` is the generator's state before the most recent training
    mask was drawn, so that a gradient check can replay that very mask.
    """

    config_keys = ("dropout_ratio",)

    def __init__(
        self, dropout_ratio: float = 0.5, *, rng: np.random.Generator | None = None
    ) -> None:
        super().__init__()
        self.dropout_ratio = check_dropout_ratio(dropout_ratio)
        if rng is not None and not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, received {type(rng).__name__}")
        self.rng = np.random.default_rng() if rng is None else rng
        self.last_rng_state: Mapping[str, Any] | None = None
        self.mask: FloatArray | None = None  # 0 or 1/(1-p); None means identity
        self.out_shape: tuple[int, ...] | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: any shape. Returns the same shape and dtype (a new array)."""
        x = as_float_input(x)
        self.out_shape = x.shape
        p = self.dropout_ratio
        if not train or p == 0.0:
            self.mask = None
            return x.copy()
        self.last_rng_state = self.rng.bit_generator.state
        draw_dtype = x.dtype if x.dtype in (np.float32, np.float64) else np.float64
        keep = self.rng.random(x.shape, dtype=draw_dtype) >= p
        scale = x.dtype.type(1.0 / (1.0 - p))
        self.mask = np.where(keep, scale, x.dtype.type(0))
        return x * self.mask

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: the forward output's shape. Returns dx = dout * mask (new array)."""
        dout = self._check_dout(dout, self.out_shape)
        if self.mask is None:
            return dout.copy()
        return dout * self.mask
