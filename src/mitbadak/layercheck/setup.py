"""How to exercise a learner's layer: its kind, its constructor's arguments, its inputs.

The kind comes from ``forward``'s signature: ``forward(x)`` is a layer,
``forward(x, t)`` a loss layer (the second argument named like labels), ``forward(x,
y)`` a two-input node of the computational graph (MulLayer, AddLayer). The family
(convolution, pooling, batch normalisation, dropout, or any other) comes from the class
name and decides the shapes. Sizes differ on purpose, batch ``N = 3``, ``D = 4`` inputs,
``M = 5`` outputs, so that a sum over the wrong axis or a missing transpose shows as a
wrong shape instead of hiding behind a square matrix. Values stay at least 0.1 away from
0, where ReLU's kink would spoil central differences.
"""

from __future__ import annotations

import copy
import inspect
import math
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = ["Param", "Setup", "SetupError", "find_params", "make_setup"]

#: Second-argument names that make ``forward(x, t)`` a loss layer.
LABEL_NAMES = frozenset({"t", "label", "labels", "target", "targets", "y_true", "t_batch"})
BATCH, IN, OUT = 3, 4, 5
SEED = 0


class SetupError(Exception):
    """The checker cannot work out how to build or call the class (message key + fields)."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key, fields)
        self.key = key
        self.fields = fields


def _required_positional(func: Any) -> list[str]:
    try:
        sig = inspect.signature(func)
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [
        p.name
        for p in sig.parameters.values()
        if p.name != "self" and p.kind in kinds and p.default is p.empty
    ]


def forward_kind(cls: type) -> str:
    """ "layer", "loss" or "node", from ``forward``'s required arguments."""
    names = _required_positional(cls.forward)  # type: ignore[attr-defined]
    if len(names) >= 2:
        return "loss" if names[1].lower() in LABEL_NAMES else "node"
    return "layer"


def family(cls: type) -> str:
    """ "conv", "pool", "batchnorm", "dropout" or "plain", from the class name."""
    name = re.sub(r"[^a-z]", "", cls.__name__.lower())
    for key, fam in (
        ("conv", "conv"),
        ("pool", "pool"),
        ("batchnorm", "batchnorm"),
        ("dropout", "dropout"),
    ):
        if key in name:
            return fam
    return "plain"


@dataclass
class Setup:
    """Everything a probe needs: a prototype to copy, the inputs and the upstream gradient.

    ``inputs`` are the arrays passed to forward (x; x and t; x and y), ``others`` a second
    set of the same shapes for the state checks. ``dout`` is drawn once forward's output
    shape is known (:meth:`dout_for`).
    """

    cls: type
    kind: str
    family: str
    init_args: dict[str, Any]
    inputs: tuple[np.ndarray, ...]
    others: tuple[np.ndarray, ...]
    batch: int
    rng: np.random.Generator = field(repr=False)

    def construct(self) -> Any:
        np.random.seed(SEED)  # noqa: NPY002  (a layer may draw its weights from np.random)
        return self.cls(**copy.deepcopy(self.init_args))

    def use_index_labels(self) -> None:
        """Give a loss layer its labels as class indices (N,) instead of one-hot rows."""
        self.inputs = (self.inputs[0], self.inputs[1].argmax(axis=1))
        self.others = (self.others[0], self.others[1].argmax(axis=1))

    def dout_for(self, out: np.ndarray) -> np.ndarray:
        return np.random.default_rng(SEED + 1).standard_normal(np.shape(out))


def _away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    x = rng.standard_normal(shape)
    return np.sign(x) * (0.1 + np.abs(x))


def _shapes(fam: str, kind: str, input_shape: tuple[int, ...] | None) -> tuple[int, ...]:
    if input_shape is not None:
        return input_shape
    if fam == "conv":
        return (2, 3, 5, 5)
    if fam == "pool":
        return (2, 3, 4, 4)
    if fam == "batchnorm":
        return (4, OUT)
    if kind == "loss":
        return (BATCH, OUT)
    return (BATCH, IN)


def _init_value(name: str, x_shape: tuple[int, ...], fam: str, rng: np.random.Generator) -> Any:
    """A value for constructor argument ``name``, or None if the checker cannot guess one."""
    low = name.lower()
    features = x_shape[1] if len(x_shape) > 1 else x_shape[0]
    flat = math.prod(x_shape[1:]) if len(x_shape) > 1 else x_shape[0]
    if low in ("w", "weight", "weights"):
        if fam == "conv":
            return rng.standard_normal((4, x_shape[1], 3, 3)) * 0.5
        return rng.standard_normal((flat, OUT)) * 0.5
    if low in ("b", "bias"):
        return rng.standard_normal(4 if fam == "conv" else OUT) * 0.5
    if low == "gamma":
        return 1.0 + 0.3 * rng.standard_normal(features)
    if low == "beta":
        return 0.3 * rng.standard_normal(features)
    if low in ("pool_h", "pool_w", "pool_size", "kernel_size"):
        return 2
    if low == "stride":
        return 2 if fam == "pool" else 1
    if low in ("pad", "padding"):
        return 0
    if low in ("input_size", "in_features", "n_in", "in_size", "input_dim"):
        return flat
    if low in ("output_size", "out_features", "n_out", "out_size", "hidden_size"):
        return OUT
    if low in ("dropout_ratio", "ratio", "p", "rate", "drop_ratio"):
        return 0.5
    return None


def _init_args(cls: type, x_shape: tuple[int, ...], fam: str, rng: np.random.Generator) -> dict:
    try:
        sig = inspect.signature(cls)
    except (TypeError, ValueError):
        return {}
    args: dict[str, Any] = {}
    for p in sig.parameters.values():
        if p.kind in (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD):
            continue
        value = _init_value(p.name, x_shape, fam, rng)
        if value is not None and (p.default is p.empty or p.name.lower() in ("w", "b")):
            args[p.name] = value
        elif p.default is p.empty:
            raise SetupError("cannot_guess_arg", name=cls.__name__, arg=p.name)
    return args


def make_setup(cls: type, input_shape: tuple[int, ...] | None = None) -> Setup:
    """How to exercise ``cls``; ``input_shape`` replaces the default shape of x."""
    kind = forward_kind(cls)
    fam = family(cls)
    rng = np.random.default_rng(SEED)
    x_shape = _shapes(fam, kind, input_shape)
    init_args = _init_args(cls, x_shape, fam, rng)

    def draw() -> tuple[np.ndarray, ...]:
        x = _away_from_zero(rng, x_shape)
        if kind == "loss":
            n, c = x_shape[0], x_shape[-1]
            t = np.zeros(x_shape)
            t[np.arange(n), rng.permutation(np.arange(n) % c)] = 1.0
            return (x, t)
        if kind == "node":
            return (x, _away_from_zero(rng, x_shape))
        return (x,)

    inputs, others = draw(), draw()
    return Setup(cls, kind, fam, init_args, inputs, others, x_shape[0], rng)


@dataclass(frozen=True)
class Param:
    """One parameter of the layer: where its value and its gradient live.

    ``style`` "attr" for the book's ``W`` / ``dW`` attributes, "dict" for
    ``params["W"]`` / ``grads["W"]``.
    """

    name: str
    style: str

    def value(self, layer: Any) -> np.ndarray:
        return layer.params[self.name] if self.style == "dict" else getattr(layer, self.name)

    def grad_name(self) -> str:
        return f"grads[{self.name!r}]" if self.style == "dict" else f"d{self.name}"

    def grad(self, layer: Any) -> Any:
        if self.style == "dict":
            return getattr(layer, "grads", {}).get(self.name)
        return getattr(layer, f"d{self.name}", None)


def find_params(layer: Any) -> list[Param]:
    """Parameters of a freshly built layer: float arrays it holds before any forward.

    ``params``/``grads`` dicts if it has them, else every float-array attribute set by
    the constructor (W, b, gamma, beta; a running mean without a gradient attribute is
    state, not a parameter, and is recognised after backward by :func:`has_grad`).
    """
    params = getattr(layer, "params", None)
    if isinstance(params, dict) and params:
        return [
            Param(k, "dict")
            for k, v in params.items()
            if isinstance(v, np.ndarray) and v.dtype.kind == "f"
        ]
    return [
        Param(k, "attr")
        for k, v in vars(layer).items()
        if isinstance(v, np.ndarray) and v.dtype.kind == "f" and not k.startswith("_")
    ]
