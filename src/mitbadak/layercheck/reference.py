"""The book's layers, for comparing a learner's forward when the class name says which.

A class named ``Relu`` (or ``MyReLU``, ``ReluLayer``) should compute what ReLU computes:
if its forward and backward agree with each other but not with ReLU, the gradient check
alone cannot notice. The references are mitbadak's own layers, built with the learner's
parameters.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np

from mitbadak.graph import AddLayer, MulLayer
from mitbadak.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss

__all__ = ["reference_for"]


def _affine(params: dict[str, np.ndarray]) -> Any:
    return Affine(params["W"], params["b"])


_REFERENCES: dict[str, tuple[str, Callable[[dict[str, np.ndarray]], Any]]] = {
    "relu": ("Relu", lambda p: Relu()),
    "sigmoid": ("Sigmoid", lambda p: Sigmoid()),
    "affine": ("Affine", _affine),
    "softmaxwithloss": ("SoftmaxWithLoss", lambda p: SoftmaxWithLoss()),
    "mul": ("MulLayer", lambda p: MulLayer()),
    "add": ("AddLayer", lambda p: AddLayer()),
}


def _key(class_name: str) -> str:
    name = re.sub(r"[^a-z]", "", class_name.lower())
    for affix in ("my", "naive", "simple", "layer", "custom"):
        name = name.removeprefix(affix).removesuffix(affix)
    return name


def reference_for(class_name: str, params: dict[str, np.ndarray]) -> tuple[str, Any] | None:
    """(the book's name, a mitbadak layer built with ``params``), or None if the class
    name is not one of the book's layers or its parameters are not W and b as expected."""
    entry = _REFERENCES.get(_key(class_name))
    if entry is None:
        return None
    name, build = entry
    try:
        return name, build({k: np.asarray(v, dtype=np.float64) for k, v in params.items()})
    except (KeyError, ValueError, TypeError):
        return None


def reference_forward(layer: Any, inputs: tuple[np.ndarray, ...]) -> np.ndarray:
    """The reference layer's forward on the same inputs, as an array."""
    return np.asarray(layer.forward(*inputs), dtype=np.float64)
