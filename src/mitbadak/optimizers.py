"""Gradient-descent optimizers from chapter 6 of "Deep Learning from Scratch".

Every optimizer has the book's constructor and one method, ``update(params, grads)``, which
updates the arrays in ``params`` **in place**. The arrays belong to the layers, so writing into
them (``p -= ...``) is what makes the layers see the new weights; rebinding ``params[key]``
would leave the layers holding the old arrays.

Per-parameter state (velocities, squared-gradient sums, moments) is kept in dicts keyed by
the parameter's name and created on the first update with the parameter's shape and dtype.
Use one optimizer per model, with stable parameter names.

Each update rule agrees with its ``torch.optim`` counterpart (``SGD``, ``SGD(momentum=m)``,
``SGD(momentum=m, nesterov=True)``, ``Adagrad``, ``RMSprop``, ``Adam``) given the same
``lr``, ``eps`` and ``weight_decay``; the tests check this in float64.

Examples
--------
>>> import numpy as np
>>> W = np.ones((2, 2))
>>> params, grads = {"W": W}, {"W": np.full((2, 2), 0.5)}
>>> SGD(lr=0.1).update(params, grads)
>>> W
array([[0.95, 0.95],
       [0.95, 0.95]])
"""

from __future__ import annotations

import math
import numbers
from abc import ABC, abstractmethod
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "OPTIMIZERS",
    "SGD",
    "AdaGrad",
    "Adam",
    "Momentum",
    "Nesterov",
    "Optimizer",
    "RMSprop",
    "get_optimizer",
]

FloatArray = NDArray[np.floating[Any]]


def _real(name: str, value: object) -> float:
    """Return ``value`` as a finite Python float, or raise naming ``name``.

    Hyperparameters are stored as Python floats on purpose: NumPy treats them as "weak"
    scalars, so ``lr * g`` stays float32 for a float32 ``g``, whereas a stored
    ``np.float64`` would upcast every step.
    """
    # bool is an int subclass; lr=True is a bug, not 1.0.
    if isinstance(value, bool | np.bool_) or not isinstance(value, numbers.Real):
        raise TypeError(
            f"{name} must be a real number, received {name}={value!r} "
            f"of type {type(value).__name__}"
        )
    result = float(value)
    if not math.isfinite(result):
        raise ValueError(f"{name} must be a finite number, received {name}={value!r}")
    return result


def _positive(name: str, value: object) -> float:
    result = _real(name, value)
    if result <= 0:
        raise ValueError(f"{name} must be a positive number, received {name}={value!r}")
    return result


def _non_negative(name: str, value: object) -> float:
    result = _real(name, value)
    if result < 0:
        raise ValueError(f"{name} must be a non-negative number, received {name}={value!r}")
    return result


def _unit_interval(name: str, value: object) -> float:
    """A decay factor in [0, 1); 1 would never forget and stops Adam's bias correction."""
    result = _real(name, value)
    if not 0 <= result < 1:
        raise ValueError(f"{name} must be in the interval [0, 1), received {name}={value!r}")
    return result


class Optimizer(ABC):
    """Base class: validates ``update``'s arguments and applies a per-parameter rule.

    Subclasses implement :meth:`_update_param`, which receives one parameter array to
    update in place and its gradient (weight decay already added, in the parameter's dtype).

    Parameters
    ----------
    lr : float
        Learning rate, a finite number > 0. It may be changed between updates (a learning
        rate schedule) and is validated again when set.
    weight_decay : float, keyword-only
        L2 penalty coefficient >= 0: the gradient used is ``g + weight_decay * p``, as with
        ``torch.optim``'s ``weight_decay`` (not AdamW's decoupled decay). Default 0.
    """

    def __init__(self, lr: float, *, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.weight_decay = _non_negative("weight_decay", weight_decay)

    @property
    def lr(self) -> float:
        """Learning rate, a finite number > 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _positive("lr", value)

    def _hyperparameters(self) -> dict[str, float]:
        return {"lr": self.lr, "weight_decay": self.weight_decay}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self._hyperparameters().items())
        return f"{type(self).__name__}({args})"

    def update(self, params: Mapping[str, FloatArray], grads: Mapping[str, FloatArray]) -> None:
        """Take one optimization step, writing the new values into the arrays of ``params``.

        Parameters
        ----------
        params : Mapping[str, ndarray]
            Parameter name -> floating-point array, any shape. Each array is updated in
            place; the mapping itself is not modified.
        grads : Mapping[str, ndarray]
            Parameter name -> gradient of the loss, with the same shape as the parameter.
            Keys that are not in ``params`` are ignored. The arrays are not modified. A
            gradient of another dtype is cast to the parameter's dtype, the precision the
            update is written in anyway.

        Raises
        ------
        TypeError
            If a parameter is not a floating-point ``numpy.ndarray`` or a gradient is not
            numeric.
        ValueError
            If a gradient is missing or its shape differs from the parameter's. Everything
            is checked before any array is touched, so a bad call leaves ``params`` as it was.
        """
        checked = [
            (key, param, self._checked_grad(key, param, grads)) for key, param in params.items()
        ]
        for key, param, grad in checked:
            if self.weight_decay:
                # A new array: the caller's gradient must not change.
                grad = grad + self.weight_decay * param
            self._update_param(key, param, grad)

    @staticmethod
    def _checked_grad(key: str, param: object, grads: Mapping[str, FloatArray]) -> FloatArray:
        if not isinstance(param, np.ndarray) or not np.issubdtype(param.dtype, np.floating):
            received = param.dtype if isinstance(param, np.ndarray) else type(param).__name__
            raise TypeError(
                f"params[{key!r}] must be a floating-point numpy.ndarray (it is updated in "
                f"place), received {received}"
            )
        if key not in grads:
            raise ValueError(
                f"grads has no entry for parameter {key!r}; expected a gradient for every key "
                f"in params, received keys {sorted(grads)}"
            )
        grad = np.asarray(grads[key])
        if grad.dtype.kind not in "fiu":
            raise TypeError(
                f"grads[{key!r}] must be a real numeric array, received dtype {grad.dtype}"
            )
        if grad.shape != param.shape:
            raise ValueError(
                f"grads[{key!r}] must have the shape of params[{key!r}], {param.shape}, "
                f"received shape {grad.shape}"
            )
        # No copy when the dtype already matches; callers never write into the result.
        return grad.astype(param.dtype, copy=False)

    @staticmethod
    def _state(store: dict[str, FloatArray], key: str, param: FloatArray) -> FloatArray:
        """Return ``store[key]``, created as zeros like ``param`` on first use."""
        buffer = store.get(key)
        if buffer is None:
            buffer = store[key] = np.zeros_like(param)
        elif buffer.shape != param.shape or buffer.dtype != param.dtype:
            raise ValueError(
                f"params[{key!r}] has shape {param.shape} and dtype {param.dtype}, but this "
                f"optimizer's state for {key!r} has shape {buffer.shape} and dtype "
                f"{buffer.dtype}; use a new optimizer for a different model"
            )
        return buffer

    @abstractmethod
    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        """Update ``param`` in place from ``grad`` (same shape and dtype; do not modify it)."""


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g``.

    Parameters
    ----------
    lr : float
        Learning rate > 0. Default 0.01.
    weight_decay : float, keyword-only
        L2 coefficient >= 0; the gradient used is ``g + weight_decay * p``. Default 0.
    """

    def __init__(self, lr: float = 0.01, *, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay=weight_decay)

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        param -= self.lr * grad


class Momentum(Optimizer):
    """SGD with momentum, in the book's velocity form.

    ``v = momentum * v - lr * g``, then ``p += v``. With a constant ``lr`` this is
    ``torch.optim.SGD(momentum=momentum)``, which keeps ``buf = momentum * buf + g`` and
    steps ``p -= lr * buf``: ``v == -lr * buf``. If ``lr`` changes between updates, the two
    differ: here the velocity is already scaled, so a new ``lr`` only scales new gradients.

    Parameters
    ----------
    lr : float
        Learning rate > 0. Default 0.01.
    momentum : float
        Velocity decay in [0, 1). Default 0.9.
    weight_decay : float, keyword-only
        L2 coefficient >= 0; the gradient used is ``g + weight_decay * p``. Default 0.

    Attributes
    ----------
    v : dict[str, ndarray]
        Velocity per parameter name, created as zeros on the first update.
    """

    def __init__(
        self, lr: float = 0.01, momentum: float = 0.9, *, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.momentum = _unit_interval("momentum", momentum)
        self.v: dict[str, FloatArray] = {}

    def _hyperparameters(self) -> dict[str, float]:
        return {"lr": self.lr, "momentum": self.momentum, "weight_decay": self.weight_decay}

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        v = self._state(self.v, key, param)
        v *= self.momentum
        v -= self.lr * grad
        param += v


class Nesterov(Momentum):
    """Nesterov accelerated gradient, in the form ``torch.optim.SGD(nesterov=True)`` uses.

    ``v = momentum * v - lr * g``, then ``p += momentum * v - lr * g`` with the updated
    ``v``: the step looks ahead along the new velocity. With ``v == -lr * buf`` this is
    torch's ``buf = momentum * buf + g; p -= lr * (g + momentum * buf)``.

    The book's code writes it as ``p += momentum**2 * v - (1 + momentum) * lr * g``. With
    the velocity from *before* this step that expands to the same update; the version of
    the code that updates ``v`` first and then applies the formula to the new ``v`` takes
    a different step and does not match torch.
    See Sutskever et al., "On the importance of initialization and momentum in deep
    learning" (ICML 2013), http://proceedings.mlr.press/v28/sutskever13.html.

    Parameters
    ----------
    lr : float
        Learning rate > 0. Default 0.01.
    momentum : float
        Velocity decay in [0, 1). Default 0.9.
    weight_decay : float, keyword-only
        L2 coefficient >= 0; the gradient used is ``g + weight_decay * p``. Default 0.

    Attributes
    ----------
    v : dict[str, ndarray]
        Velocity per parameter name, created as zeros on the first update.
    """

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        v = self._state(self.v, key, param)
        v *= self.momentum
        step = self.lr * grad
        v -= step
        param += self.momentum * v
        param -= step


class AdaGrad(Optimizer):
    """AdaGrad: per-element learning rates that shrink with the sum of squared gradients.

    ``h += g * g``, then ``p -= lr * g / (sqrt(h) + eps)``. This is
    ``torch.optim.Adagrad(lr, eps=eps)`` (torch's default eps is 1e-10, the book's 1e-7).
    See Duchi et al., JMLR 12 (2011), https://jmlr.org/papers/v12/duchi11a.html.

    Parameters
    ----------
    lr : float
        Learning rate > 0. Default 0.01.
    eps : float, keyword-only
        Added to ``sqrt(h)`` to avoid division by zero, > 0. Default 1e-7 (the book's).
    weight_decay : float, keyword-only
        L2 coefficient >= 0; the gradient used is ``g + weight_decay * p``. Default 0.

    Attributes
    ----------
    h : dict[str, ndarray]
        Sum of squared gradients per parameter name.
    """

    def __init__(self, lr: float = 0.01, *, eps: float = 1e-7, weight_decay: float = 0.0) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.eps = _positive("eps", eps)
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
    lr : float
        Learning rate > 0. Default 0.01.
    decay_rate : float
        Weight of the old average, in [0, 1). Default 0.99.
    eps : float, keyword-only
        Added to ``sqrt(h)`` to avoid division by zero, > 0. Default 1e-7 (the book's).
    weight_decay : float, keyword-only
        L2 coefficient >= 0; the gradient used is ``g + weight_decay * p``. Default 0.

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
        self.decay_rate = _unit_interval("decay_rate", decay_rate)
        self.eps = _positive("eps", eps)
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
    lr : float
        Learning rate > 0. Default 0.001.
    beta1 : float
        Decay of the first-moment (mean) estimate, in [0, 1). Default 0.9.
    beta2 : float
        Decay of the second-moment estimate, in [0, 1). Default 0.999.
    eps : float, keyword-only
        Added to the corrected ``sqrt(v)``, > 0. Default 1e-8 (the paper's and torch's).
    weight_decay : float, keyword-only
        L2 coefficient >= 0; the gradient used is ``g + weight_decay * p`` (Adam's
        ``weight_decay``, not AdamW's decoupled decay). Default 0.

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
        self.beta1 = _unit_interval("beta1", beta1)
        self.beta2 = _unit_interval("beta2", beta2)
        self.eps = _positive("eps", eps)
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


OPTIMIZERS: Mapping[str, type[Optimizer]] = MappingProxyType(
    {
        "sgd": SGD,
        "momentum": Momentum,
        "nesterov": Nesterov,
        "adagrad": AdaGrad,
        "rmsprop": RMSprop,
        "adam": Adam,
    }
)
"""Lower-case optimizer name -> class, as accepted by :func:`get_optimizer`."""


def get_optimizer(name: str, **kwargs: Any) -> Optimizer:
    """Build an optimizer from its name, e.g. a ``--optimizer`` command-line option.

    Parameters
    ----------
    name : str
        One of the keys of :data:`OPTIMIZERS`, in any case ("Adam", "adam", "ADAM").
    **kwargs
        Passed to the optimizer's constructor, e.g. ``lr=0.01``.

    Returns
    -------
    Optimizer

    Raises
    ------
    TypeError
        If ``name`` is not a string, or a keyword is not accepted by that optimizer.
    ValueError
        If ``name`` is not a known optimizer, or a hyperparameter is out of range.

    Examples
    --------
    >>> get_optimizer("Adam", lr=0.01)
    Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0)
    """
    if not isinstance(name, str):
        raise TypeError(
            f"name must be a string, received name={name!r} of type {type(name).__name__}"
        )
    try:
        cls = OPTIMIZERS[name.lower()]
    except KeyError:
        valid = ", ".join(repr(n) for n in OPTIMIZERS)
        raise ValueError(
            f"unknown optimizer, received name={name!r}; expected one of {valid}"
        ) from None
    return cls(**kwargs)
