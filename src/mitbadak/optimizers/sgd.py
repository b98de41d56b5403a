"""Plain, momentum and Nesterov gradient descent (section 6.1 of the book)."""

from __future__ import annotations

from mitbadak._types import FloatArray
from mitbadak.optimizers.base import Optimizer, unit_interval

__all__ = ["SGD", "Momentum", "Nesterov"]


class SGD(Optimizer):
    """Stochastic gradient descent: ``p -= lr * g`` (``lr`` and ``weight_decay`` as in
    :class:`~mitbadak.optimizers.base.Optimizer`)."""

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
    momentum : float
        Velocity decay in [0, 1). Default 0.9.

    Attributes
    ----------
    v : dict[str, ndarray]
        Velocity per parameter name, created as zeros on the first update.
    """

    def __init__(
        self, lr: float = 0.01, momentum: float = 0.9, *, weight_decay: float = 0.0
    ) -> None:
        super().__init__(lr, weight_decay=weight_decay)
        self.momentum = unit_interval("momentum", momentum)
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

    Parameters and attributes are those of :class:`Momentum`.
    """

    def _update_param(self, key: str, param: FloatArray, grad: FloatArray) -> None:
        v = self._state(self.v, key, param)
        v *= self.momentum
        step = self.lr * grad
        v -= step
        param += self.momentum * v
        param -= step
