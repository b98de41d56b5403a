"""The PyTorch twins of mitbadak's networks, written once, for the torch oracle tests.

Each twin computes the same function as the network from the network's own settings
(``net.cfg``) and parameters, with torch autograd supplying the gradients that our
hand-written backward passes must match. Everything is float64.

- :func:`tensors`: the network's parameters as float64 leaf tensors that record gradients;
- :func:`scores`: the scores before softmax of ``TwoLayerNet``, ``MultiLayerNet`` (batch
  norm in training mode, no dropout), ``SimpleConvNet`` or ``DeepConvNet`` (with the
  dropout masks of the network's most recent training forward);
- :func:`cross_entropy`: the mean cross-entropy for integer labels or one-hot rows;
- :func:`penalty`: ``MultiLayerNet``'s weight decay ``0.5 λ Σ ‖W‖²``;
- :func:`loss`: cross-entropy plus penalty, the quantity ``net.loss_and_gradient`` returns;
- :func:`loss_and_grads`: that loss as a float and autograd's gradients as numpy arrays.

Only the torch test files import this module, after they have skipped for a missing torch.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from numpy.typing import ArrayLike

from mitbadak.batchnorm import BatchNormalization
from mitbadak.dropout import Dropout
from mitbadak.models import DeepConvNet, MultiLayerNet, Network, SimpleConvNet, TwoLayerNet

__all__ = ["cross_entropy", "loss", "loss_and_grads", "penalty", "scores", "tensors"]


def tensors(net: Network) -> dict[str, torch.Tensor]:
    """``net.params`` copied into float64 leaf tensors with ``requires_grad``, by name."""
    return {
        name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
        for name, value in net.params.items()
    }


def _input(x: ArrayLike) -> torch.Tensor:
    return torch.tensor(np.asarray(x), dtype=torch.float64)


def _two_layer_scores(x: ArrayLike, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Affine → ReLU → Affine; images are flattened first, as Affine does."""
    xt = _input(x)
    xt = xt.reshape(xt.shape[0], -1)
    return torch.relu(xt @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"]


def _multi_layer_scores(
    net: MultiLayerNet, x: ArrayLike, p: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Affine → [batch norm, training mode] → ReLU | sigmoid, per hidden layer; then Affine."""
    cfg = net.cfg
    if cfg.dropout_ratio > 0:
        raise ValueError(
            "the torch twin of MultiLayerNet has no dropout (its masks are random); "
            f"received dropout_ratio={cfg.dropout_ratio}"
        )
    activation = {"relu": torch.relu, "sigmoid": torch.sigmoid}[cfg.activation]
    h = _input(x)
    h = h.reshape(h.shape[0], -1)
    last = len(cfg.hidden_size_list) + 1
    for i in range(1, last):
        h = h @ p[f"W{i}"] + p[f"b{i}"]
        if cfg.use_batchnorm:
            bn = net.layers[f"BatchNorm{i}"]
            assert isinstance(bn, BatchNormalization)
            h = F.batch_norm(
                h, None, None, p[f"gamma{i}"], p[f"beta{i}"], training=True, eps=bn.eps
            )
        h = activation(h)
    return h @ p[f"W{last}"] + p[f"b{last}"]


def _simple_conv_scores(
    net: SimpleConvNet, x: ArrayLike, p: dict[str, torch.Tensor]
) -> torch.Tensor:
    """Conv → ReLU → 2x2 max pooling, stride 2 → flatten → Affine → ReLU → Affine."""
    conv = net.cfg.conv_param
    xt = _input(x)
    xt = xt.reshape(xt.shape[0], *net.cfg.input_dim)  # flattened rows are images too
    h = F.conv2d(xt, p["W1"], p["b1"], stride=conv["stride"], padding=conv["pad"])
    h = F.max_pool2d(torch.relu(h), 2, 2)
    h = torch.relu(h.flatten(1) @ p["W2"] + p["b2"])
    return h @ p["W3"] + p["b3"]


def _deep_conv_scores(net: DeepConvNet, x: ArrayLike, p: dict[str, torch.Tensor]) -> torch.Tensor:
    """Six convolutions with ReLU, max pooling after every second; Affine → ReLU →
    dropout → Affine → dropout. The dropout masks are the network's own, from its most
    recent training forward (our masks already hold the 1 / (1 - p) scale)."""

    def dropout(h: torch.Tensor, name: str) -> torch.Tensor:
        layer = net.layers.get(name)
        if not isinstance(layer, Dropout) or layer.mask is None:
            return h
        return h * torch.tensor(layer.mask, dtype=torch.float64)

    xt = _input(x)
    h = xt.reshape(xt.shape[0], *net.cfg.input_dim)
    for i, conv in enumerate(net.cfg.conv_params, start=1):
        h = F.conv2d(h, p[f"W{i}"], p[f"b{i}"], stride=conv["stride"], padding=conv["pad"])
        h = torch.relu(h)
        if i % 2 == 0:
            h = F.max_pool2d(h, 2, 2)
    h = dropout(torch.relu(h.flatten(1) @ p["W7"] + p["b7"]), "Dropout1")
    return dropout(h @ p["W8"] + p["b8"], "Dropout2")


def scores(net: Network, x: ArrayLike, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The scores before softmax that ``net.predict(x, train=True)`` computes, in torch.

    ``params`` are the tensors to differentiate, usually :func:`tensors` of ``net``;
    the architecture and its settings come from ``net`` itself.
    """
    if isinstance(net, TwoLayerNet):
        return _two_layer_scores(x, params)
    if isinstance(net, MultiLayerNet):
        return _multi_layer_scores(net, x, params)
    if isinstance(net, SimpleConvNet):
        return _simple_conv_scores(net, x, params)
    if isinstance(net, DeepConvNet):
        return _deep_conv_scores(net, x, params)
    raise TypeError(f"no torch twin for {type(net).__name__}")


def cross_entropy(scores: torch.Tensor, t: ArrayLike) -> torch.Tensor:
    """Mean softmax cross-entropy; ``t`` is integer labels ``(N,)`` or one-hot rows ``(N, C)``."""
    labels = np.asarray(t)
    # A float target is read as class probabilities; an int64 target as class indices.
    target = torch.tensor(labels, dtype=torch.float64) if labels.ndim == 2 else torch.tensor(labels)
    return F.cross_entropy(scores, target)


def penalty(net: Network, params: dict[str, torch.Tensor]) -> torch.Tensor | float:
    """``0.5 λ Σ ‖W‖²`` over MultiLayerNet's Affine weights; 0 for the other networks."""
    if not isinstance(net, MultiLayerNet):
        return 0.0
    lam = net.cfg.weight_decay_lambda
    weights = range(1, len(net.cfg.hidden_size_list) + 2)
    return sum(0.5 * lam * (params[f"W{i}"] ** 2).sum() for i in weights)


def loss(net: Network, x: ArrayLike, t: ArrayLike, params: dict[str, torch.Tensor]) -> torch.Tensor:
    """The training loss of ``net`` on ``(x, t)``: cross-entropy plus :func:`penalty`."""
    return cross_entropy(scores(net, x, params), t) + penalty(net, params)


def loss_and_grads(net: Network, x: ArrayLike, t: ArrayLike) -> tuple[float, dict[str, np.ndarray]]:
    """What ``net.loss_and_gradient(x, t)`` should return, computed by torch autograd."""
    params = tensors(net)
    value = loss(net, x, t, params)
    value.backward()
    grads: dict[str, np.ndarray] = {}
    for name, param in params.items():
        assert param.grad is not None, f"torch computed no gradient for {name}"
        grads[name] = param.grad.numpy()
    return value.item(), grads
