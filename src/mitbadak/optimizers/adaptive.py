"""Optimizers with per-element step sizes: AdaGrad, RMSprop and Adam (section 6.1)."""

from __future__ import annotations

import math

import numpy as np

from mitbadak._types import FloatArray
from mitbadak.optimizers.base import Optimizer, positive, unit_interval

__all__ = ["AdaGrad", "Adam", "RMSprop"]


class AdaGrad(Optimizer):
    """AdaGrad: per-element learning rates that shrink with the sum of squared gradients.

    ``h += g * g``, then ``p -= lr * g / (sqrt(h) + eps)``. This is
    ``torch.optim.Adagrad(lr, eps=eps)`` (torch's default eps is 1e-10, the book's 1e-7).
    See Duchi et al., JMLR 12 (2011), https://jmlr.org/papers/v12/duchi11a.html.

    Parameters
    ----------
    eps : float, keyword-only
        Added to ``sqrt(h)`` to avoid division by zero, > 0. Default 1e-7 (the book's).

    Attributes
    ----------
    h : dict[str, ndarray]
        Sum of squared gradients per parameter name.
    """

    def __init__(self, lr: float = 0.01, *, eps: float = 1e-7, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.eps = positive("eps", eps)
        self.h: dict[str, FloatArray] = {}

    def _hyperparameters(self) -> dict[str, float]:
        return {"lr": self.lr, "eps": self.eps, "weight_decay": self.weight_decay}

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        h = self._state(self.h, key, param)
        h += grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class RMSprop(Optimizer):
    """RMSprop: AdaGrad with an exponential moving average instead of a growing sum.

    ``h = decay_rate * h + (1 - decay_rate) * g * g``, then
    ``p -= lr * g / (sqrt(h) + eps)``. This is
    ``torch.optim.RMSprop(lr, alpha=decay_rate, eps=eps)`` (not centered, no momentum).
    Proposed by Hinton in the Coursera course "Neural Networks for Machine Learning",
    lecture 6e.

    Parameters
    ----------
    decay_rate : float
        Weight of the old average, in [0, 1). Default 0.99.
    eps : float, keyword-only
        Added to ``sqrt(h)`` to avoid division by zero, > 0. Default 1e-7 (the book's).

    Attributes
    ----------
    h : dict[str, ndarray]
        Moving average of squared gradients per parameter name.
    """

    def __init__(
        self,
        lr: float = 0.01,
        decay_rate: float = 0.99,
        *,
        eps: float = 1e-7,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.decay_rate = unit_interval("decay_rate", decay_rate)
        self.eps = positive("eps", eps)
        self.h: dict[str, FloatArray] = {}

    def _hyperparameters(self) -> dict[str, float]:
        return {
            "lr": self.lr,
            "decay_rate": self.decay_rate,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        h = self._state(self.h, key, param)
        h *= self.decay_rate
        h += (1 - self.decay_rate) * grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba, https://arxiv.org/abs/1412.6980).

    With ``t`` the number of updates of this parameter so far (this one included)::

        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p -= lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    which is ``torch.optim.Adam(lr, betas=(beta1, beta2), eps=eps)``.

    The book folds both corrections into the learning rate,
    ``lr_t = lr * sqrt(1 - beta2**t) / (1 - beta1**t)``, and steps
    ``p -= lr_t * m / (sqrt(v) + 1e-7)`` (the paper's "efficient" form, section 2). That
    is this update with ``eps = 1e-7 / sqrt(1 - beta2**t)``: a larger eps in the first steps
    (about 3e-6 at ``t = 1`` with ``beta2 = 0.999``) that falls to 1e-7. The book also counts
    ``t`` once per call rather than per parameter.

    Parameters
    ----------
    beta1 : float
        Decay of the first-moment (mean) estimate, in [0, 1). Default 0.9.
    beta2 : float
        Decay of the second-moment estimate, in [0, 1). Default 0.999.
    eps : float, keyword-only
        Added to the corrected ``sqrt(v)``, > 0. Default 1e-8 (the paper's and torch's).

    Attributes
    ----------
    m, v : dict[str, ndarray]
        First and second moment estimates per parameter name.
    t : dict[str, int]
        Number of updates per parameter name, for the bias correction.
    """

    def __init__(
        self,
        lr: float = 0.001,
        beta1: float = 0.9,
        beta2: float = 0.999,
        *,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.beta1 = unit_interval("beta1", beta1)
        self.beta2 = unit_interval("beta2", beta2)
        self.eps = positive("eps", eps)
        self.m: dict[str, FloatArray] = {}
        self.v: dict[str, FloatArray] = {}
        self.t: dict[str, int] = {}

    def _hyperparameters(self) -> dict[str, float]:
        return {
            "lr": self.lr,
            "beta1": self.beta1,
            "beta2": self.beta2,
            "eps": self.eps,
            "weight_decay": self.weight_decay,
        }

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        m = self._state(self.m, key, param)
        v = self._state(self.v, key, param)
        # Counted per parameter, as torch does, so a parameter that skips an update
        # still gets the correction for the number of gradients it has actually seen.
        t = self.t[key] = self.t.get(key, 0) + 1
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        step_size = self.lr / (1 - self.beta1**t)
        denom = np.sqrt(v) / math.sqrt(1 - self.beta2**t) + self.eps
        param -= step_size * m / denom
