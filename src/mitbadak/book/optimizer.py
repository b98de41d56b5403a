"""The book's ``common/optimizer.py``: SGD, Momentum, Nesterov, AdaGrad, RMSprop, Adam.

``from common.optimizer import *`` becomes ``from mitbadak.book.optimizer import *``.
Each is mitbadak's optimizer (:mod:`mitbadak.optimizers`, the same constructor and the
same update as ``torch.optim``'s) whose ``update(params, grads)`` also takes what the
book's chapter-6 demos pass: a dict of plain Python numbers, such as
``{"x": -7.0, "y": 2.0}``. Those entries are replaced by their updated values (floats
cannot be updated in place); arrays are updated in place, as always.
"""

from __future__ import annotations

from collections.abc import Mapping, MutableMapping
from typing import Any

import numpy as np

from mitbadak import optimizers
from mitbadak._checks import as_float_lenient
from mitbadak._types import FloatArray

# `np` too: the book's optimizer_compare_mnist.py gets numpy from this star import.
__all__ = ["SGD", "AdaGrad", "Adam", "Momentum", "Nesterov", "RMSprop", "np"]


class _Numbers(optimizers.Optimizer):
    """``update`` for dicts that may hold Python numbers instead of arrays."""

    def update(self, params: Mapping[str, Any], grads: Mapping[str, Any]) -> None:
        arrays: dict[str, FloatArray] = {}
        numbers: list[str] = []
        for key, value in params.items():
            if isinstance(value, np.ndarray):
                arrays[key] = value
            else:
                arrays[key] = np.array(
                    as_float_lenient(value, f"params[{key!r}]"), dtype=np.float64
                )
                numbers.append(key)
        if not numbers:
            super().update(params, grads)
            return
        if not isinstance(params, MutableMapping):
            raise TypeError(
                "params holds numbers, which can only be updated by replacing them: "
                f"pass a dict, received {type(params).__name__}"
            )
        gradients = {
            key: as_float_lenient(grads[key], f"grads[{key!r}]") for key in params if key in grads
        }
        super().update(arrays, gradients)
        for key in numbers:
            params[key] = float(arrays[key])


class SGD(_Numbers, optimizers.SGD):
    """``SGD(lr=0.01)``: ``p -= lr * g``."""


class Momentum(_Numbers, optimizers.Momentum):
    """``Momentum(lr=0.01, momentum=0.9)``."""


class Nesterov(_Numbers, optimizers.Nesterov):
    """``Nesterov(lr=0.01, momentum=0.9)``, in ``torch.optim``'s form (see
    :class:`mitbadak.optimizers.Nesterov` for how it relates to the book's code)."""


class AdaGrad(_Numbers, optimizers.AdaGrad):
    """``AdaGrad(lr=0.01)``."""


class RMSprop(_Numbers, optimizers.RMSprop):
    """``RMSprop(lr=0.01, decay_rate=0.99)``."""


class Adam(_Numbers, optimizers.Adam):
    """``Adam(lr=0.001, beta1=0.9, beta2=0.999)``, with the paper's bias correction."""


#: The names the book's ``Trainer`` accepts for ``optimizer=``, lower-cased.
OPTIMIZERS: dict[str, type[optimizers.Optimizer]] = {
    "sgd": SGD,
    "momentum": Momentum,
    "nesterov": Nesterov,
    "adagrad": AdaGrad,
    "rmsprop": RMSprop,
    "adam": Adam,
}
