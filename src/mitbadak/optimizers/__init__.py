"""Gradient-descent optimizers from chapter 6 of "Deep Learning from Scratch".

``base`` holds what every optimizer shares; ``sgd`` the plain and momentum methods;
``adaptive`` AdaGrad, RMSprop and Adam. See :class:`~mitbadak.optimizers.base.Optimizer`.

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

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from mitbadak.optimizers.adaptive import AdaGrad, Adam, RMSprop
from mitbadak.optimizers.base import Optimizer
from mitbadak.optimizers.sgd import SGD, Momentum, Nesterov

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
