"""What each kind of node computes, and the local derivative its backward applies.

For every layer class of the book (and the two nodes of the computational graph) this
module knows the forward formula, the backward rule in words and the arrays that rule
uses, read from the state the layer kept in ``forward``: ReLU's mask, the sigmoid's
``y(1 - y)``, Affine's ``Wᵀ`` and ``xᵀ``, softmax's ``y`` and the one-hot ``t``. A layer
it does not know gets a generic description, so any network can still be traced.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mitbadak.batchnorm import BatchNormalization
from mitbadak.conv import Convolution, Flatten, Pooling
from mitbadak.dropout import Dropout
from mitbadak.explain.record import ArrayView, Rule
from mitbadak.graph import AddLayer, MulLayer
from mitbadak.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss

__all__ = ["OpInfo", "op_info"]

View = Callable[[Any], ArrayView]


@dataclass(frozen=True)
class OpInfo:
    """How to show one kind of node: a symbol for the graph (× and + as in the book's
    figures, "" for a box with the layer's name), its forward formula, and its rule."""

    symbol: str
    forward: str
    rule: Callable[[Any, Sequence[str], View], Rule]


def _mul(layer: MulLayer, names: Sequence[str], view: View) -> Rule:
    x, y = names
    return Rule(
        "dx = dout × y,  dy = dout × x",
        f"Multiplication swaps its inputs: {x} receives dout times {y}, and {y} "
        f"receives dout times {x}.",
        ((f"y = {y}", view(layer.y)), (f"x = {x}", view(layer.x))),
    )


def _add(layer: AddLayer, names: Sequence[str], view: View) -> Rule:
    x, y = names
    return Rule(
        "dx = dout,  dy = dout",
        f"Addition passes dout through unchanged to both {x} and {y}: its local derivative is 1.",
    )


def _relu(layer: Relu, names: Sequence[str], view: View) -> Rule:
    assert layer.mask is not None
    return Rule(
        "dx = dout × (x > 0)",
        "ReLU lets the gradient through where its input was positive and blocks it "
        "(sends 0) where the input was 0 or less: the mask that forward stored.",
        (("passes (x > 0)", view((~layer.mask).astype(np.float64))),),
    )


def _sigmoid(layer: Sigmoid, names: Sequence[str], view: View) -> Rule:
    assert layer.out is not None
    y = layer.out
    return Rule(
        "dx = dout × y(1 − y)",
        "The sigmoid's derivative is written with its own output y = sigmoid(x), "
        "which forward stored: no exp is needed going backward.",
        (("y(1 − y)", view(y * (1 - y))),),
    )


def _affine(layer: Affine, names: Sequence[str], view: View) -> Rule:
    assert layer.x is not None
    n = layer.x.shape[0]
    batch = "the batch's one row" if n == 1 else f"the {n} rows of the batch"
    return Rule(
        "dx = dout · Wᵀ,  dW = xᵀ · dout,  db = Σ dout (over the batch, axis 0)",
        "The gradient flows back through the transposed weights. dW = xᵀ · dout has "
        f"W's shape and adds up {batch}; b was added to every row, so its gradient is "
        "dout summed over the rows.",
        (("Wᵀ", view(layer.W.T)), ("xᵀ", view(layer.x.T))),
    )


def _softmax_loss(layer: SoftmaxWithLoss, names: Sequence[str], view: View) -> Rule:
    assert layer.y is not None and layer.t is not None
    y, t = layer.y, layer.t
    n = y.shape[0]
    one_hot = t if t.ndim == 2 else np.eye(y.shape[1])[t]
    return Rule(
        "dx = (y − t) / N",
        "Softmax followed by cross-entropy has a simple derivative: the predicted "
        f"probabilities y minus the one-hot labels t, divided by the batch size N = {n} "
        "because the loss is the batch's mean.",
        (("y = softmax(x)", view(y)), ("t (one-hot)", view(one_hot))),
    )


def _convolution(layer: Convolution, names: Sequence[str], view: View) -> Rule:
    return Rule(
        "dcol = Wᵀ · dout, dx = col2im(dcol),  dW = dout · colᵀ,  db = Σ dout",
        "A convolution is an Affine layer applied to every patch of the image (im2col): "
        "the same three rules, with the patches' gradients folded back into the image "
        "(col2im) and db summed over the batch and every position.",
    )


def _pooling(layer: Pooling, names: Sequence[str], view: View) -> Rule:
    return Rule(
        "dx = dout at each window's maximum, 0 elsewhere",
        "Max pooling passes each output's gradient to the one input that won its window.",
    )


def _flatten(layer: Flatten, names: Sequence[str], view: View) -> Rule:
    return Rule(
        "dx = dout reshaped to x's shape",
        "Flattening only arranges the numbers differently; backward arranges them back.",
    )


def _batchnorm(layer: BatchNormalization, names: Sequence[str], view: View) -> Rule:
    if layer.train_flag:
        return Rule(
            "dx = (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)) / std,  dx̂ = dout × γ",
            "In training mode the batch's mean and variance depend on x too, which adds "
            "the two mean terms.",
        )
    return Rule(
        "dx = dout × γ / std,  dγ = Σ dout × x̂,  dβ = Σ dout",
        "In inference mode the running mean and variance are constants, so batch "
        "normalisation is a per-feature scale and shift.",
    )


def _dropout(layer: Dropout, names: Sequence[str], view: View) -> Rule:
    if layer.mask is None:
        return Rule("dx = dout", "In inference mode dropout drops nothing: dout passes through.")
    return Rule(
        "dx = dout × mask",
        "The units dropped in forward get no gradient; the kept ones are scaled as in forward.",
        (("mask", view(layer.mask)),),
    )


_OPS: dict[type, OpInfo] = {
    MulLayer: OpInfo("×", "out = x × y", _mul),
    AddLayer: OpInfo("+", "out = x + y", _add),
    Relu: OpInfo("", "out = max(x, 0)", _relu),
    Sigmoid: OpInfo("", "out = 1 / (1 + exp(−x))", _sigmoid),
    Affine: OpInfo("", "out = x · W + b", _affine),
    SoftmaxWithLoss: OpInfo("", "L = −Σ t · log softmax(x) / N", _softmax_loss),
    Convolution: OpInfo("", "out = W ⊛ x + b", _convolution),
    Pooling: OpInfo("", "out = the maximum of each window", _pooling),
    Flatten: OpInfo("", "out = x reshaped to (N, −1)", _flatten),
    BatchNormalization: OpInfo("", "out = γ x̂ + β,  x̂ = (x − mean) / std", _batchnorm),
    Dropout: OpInfo("", "out = x × mask (training), x (inference)", _dropout),
}


def _generic(layer: Any, names: Sequence[str], view: View) -> Rule:
    return Rule(f"see {type(layer).__name__}.backward", "")


def op_info(layer: object) -> OpInfo:
    """How to show ``layer``; a generic description for a class this module does not know."""
    for cls in type(layer).__mro__:
        if cls in _OPS:
            return _OPS[cls]
    name = type(layer).__name__
    return OpInfo("", f"out = {name}(x)", _generic)
