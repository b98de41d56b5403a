"""The optimizers' common base: argument checks, weight decay, per-parameter state.

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
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping

import numpy as np

from mitbadak._checks import check_real
from mitbadak._types import FloatArray

__all__ = ["Optimizer"]


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

    Subclasses document only their own parameters; ``lr`` and ``weight_decay`` mean
    the same for all of them, with the defaults of the book (0.01, Adam 0.001).
    """

    def __init__(self, lr: float, *, weight_decay: float = 0.0) -> None:
        self.lr = lr
        self.weight_decay = check_real("weight_decay", weight_decay, low=0.0)

    @property
    def lr(self) -> float:
        """Learning rate, a finite number > 0."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = check_real("lr", value, low=0.0, low_open=True)

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


def unit_interval(name: str, value: object) -> float:
    """A decay factor in [0, 1); 1 would never forget and stops Adam's bias correction."""
    return check_real(name, value, low=0.0, high=1.0, high_open=True)


def positive(name: str, value: object) -> float:
    """A finite number > 0 (``eps``)."""
    return check_real(name, value, low=0.0, low_open=True)
