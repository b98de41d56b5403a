"""Batch normalisation (section 6.3 of the book).

In training mode (``forward(x, train=True)``) the layer normalises with the batch's
statistics and updates its running averages; ``train=False`` is the deterministic
inference mode that uses those averages.
"""

from __future__ import annotations

import numpy as np

from mitbadak._checks import as_float_input, check_param, check_ratio, check_real
from mitbadak._types import FloatArray
from mitbadak.layers import Layer

__all__ = ["BatchNormalization"]


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
        self.momentum = check_ratio("momentum", momentum, high_open=False)
        self.eps = check_real("eps", eps, low=0.0, low_open=True, not_real=ValueError)
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
