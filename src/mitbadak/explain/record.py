"""The record of one forward and backward pass: plain data, ready for JSON.

A :class:`Trace` holds what a learner wants to see of backprop on one small example:
every value of the computational graph (inputs, parameters, what each node computed)
with its gradient, the nodes in forward order, the backward steps in reverse order
with the rule each node applied, and the numerical gradient beside the backprop one.
Arrays are kept whole when small; large ones as their shape, summary statistics and a
few entries (:class:`ArrayView`). ``trace.to_dict()`` is plain lists, dicts, strings and
numbers: the text view, the HTML page and any later viewer read the same thing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

__all__ = [
    "FORMAT",
    "WHOLE_LIMIT",
    "ArrayView",
    "BackwardStep",
    "NodeRecord",
    "NumericalCheck",
    "Picture",
    "Rule",
    "Trace",
    "ValueRecord",
    "bundle_to_json",
    "largest_first",
    "plain_number",
]

FORMAT = "mitbadak-trace"
FORMAT_VERSION = 1

#: Arrays with at most this many entries are kept whole; larger ones are summarised.
WHOLE_LIMIT = 64


def plain_number(v: float) -> float | str:
    """A float for JSON: NaN and infinities become the strings "nan", "inf", "-inf"."""
    v = float(v)
    if math.isfinite(v):
        return v
    return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")


def _plain(a: np.ndarray) -> Any:
    """Nested lists of JSON numbers (a bare number for a 0-d array)."""
    if np.isfinite(a).all():
        return a.astype(np.float64, copy=False).tolist()  # NumPy's own loop: far faster
    if a.ndim == 0:
        return plain_number(float(a))
    return [_plain(row) for row in a]


def largest_first(magnitude: np.ndarray, count: int) -> np.ndarray:
    """Flat indices of the ``count`` largest entries, largest first, ties by index.

    The same as ``np.argsort(-magnitude, kind="stable")[:count]`` without sorting the
    whole array: only the entries that reach the count-th largest value are sorted.
    """
    flat = magnitude.reshape(-1)
    if count <= 0:
        return np.zeros(0, dtype=np.intp)
    if count >= flat.size:
        return np.argsort(-flat, kind="stable")
    threshold = np.partition(flat, flat.size - count)[flat.size - count]
    reach = np.flatnonzero(flat >= threshold)
    return reach[np.argsort(-flat[reach], kind="stable")[:count]]


@dataclass(frozen=True)
class ArrayView:
    """A value or gradient as the trace keeps it.

    ``data`` is the whole array (a copy) when it has at most ``whole_limit`` entries,
    else None. ``stats`` (min, max, mean, std, norm, zeros) and ``entries`` (the first
    three and the three largest in magnitude, as (index, value)) are always there.
    """

    shape: tuple[int, ...]
    data: np.ndarray | None
    stats: dict[str, float]
    entries: tuple[tuple[tuple[int, ...], float], ...]

    @classmethod
    def of(cls, value: ArrayLike, *, whole_limit: int = WHOLE_LIMIT) -> ArrayView:
        a = np.array(value, dtype=np.float64)  # a copy: later passes must not change it
        flat = a.reshape(-1)
        finite = flat[np.isfinite(flat)]
        if finite.size:
            stats = {
                "min": float(finite.min()),
                "max": float(finite.max()),
                "mean": float(finite.mean()),
                "std": float(finite.std()),
                "norm": float(np.linalg.norm(finite)),
            }
        else:
            stats = {key: math.nan for key in ("min", "max", "mean", "std", "norm")}
        stats["zeros"] = int(np.count_nonzero(flat == 0))
        picks = list(range(min(3, flat.size)))
        if flat.size > 3:
            magnitude = np.nan_to_num(np.abs(flat), nan=np.inf)
            picks += [int(i) for i in largest_first(magnitude, 3) if i not in picks]
        entries = tuple(
            (tuple(int(i) for i in np.unravel_index(k, a.shape)), float(flat[k])) for k in picks
        )
        return cls(a.shape, a if a.size <= whole_limit else None, stats, entries)

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def is_scalar(self) -> bool:
        return self.size == 1

    @property
    def scalar(self) -> float:
        """The one value of a single-entry array."""
        if self.data is not None and self.size == 1:
            return float(self.data.reshape(-1)[0])
        raise ValueError(f"not a single value: shape {self.shape}")

    def array(self) -> np.ndarray:
        """The whole array; ``ValueError`` if the trace kept only its summary."""
        if self.data is None:
            raise ValueError(f"an array of shape {self.shape} is kept as a summary, not whole")
        return self.data

    def to_dict(self) -> dict[str, Any]:
        return {
            "shape": list(self.shape),
            "size": self.size,
            "data": None if self.data is None else _plain(self.data),
            "stats": {key: plain_number(v) for key, v in self.stats.items()},
            "entries": [[list(i), plain_number(v)] for i, v in self.entries],
        }


@dataclass(frozen=True)
class Rule:
    """The local derivative a node applies: a formula, why, and the arrays it uses."""

    formula: str
    explanation: str
    arrays: tuple[tuple[str, ArrayView], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "formula": self.formula,
            "explanation": self.explanation,
            "arrays": [{"label": label, "value": v.to_dict()} for label, v in self.arrays],
        }


@dataclass
class ValueRecord:
    """One value of the graph: its forward value and dL/d(value).

    ``role``: "input", "param", "label" (no gradient), "intermediate" or "output".
    ``contributions`` has one (node, gradient) per consumer when the value feeds more
    than one node: its gradient is their sum.
    """

    name: str
    role: str
    value: ArrayView
    grad: ArrayView | None = None
    producer: str | None = None
    consumers: list[str] = field(default_factory=list)
    contributions: list[tuple[str, ArrayView]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "value": self.value.to_dict(),
            "grad": None if self.grad is None else self.grad.to_dict(),
            "producer": self.producer,
            "consumers": list(self.consumers),
            "contributions": [{"node": n, "grad": g.to_dict()} for n, g in self.contributions],
        }


@dataclass
class NodeRecord:
    """One node (layer) in forward order: which values it reads and writes."""

    name: str
    op: str
    symbol: str
    inputs: list[str]
    params: list[str]
    output: str
    forward_index: int
    formula: str
    backward_step: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "symbol": self.symbol,
            "inputs": list(self.inputs),
            "params": list(self.params),
            "output": self.output,
            "forward_index": self.forward_index,
            "backward_step": self.backward_step,
            "formula": self.formula,
        }


@dataclass(frozen=True)
class BackwardStep:
    """Step ``step`` (1 = first) of the backward pass: one node turns dout into gradients.

    ``grads``: (input value, gradient this node sends it); ``param_grads``: (parameter
    value, gradient), in the order of the node's inputs and parameters.
    """

    step: int
    node: str
    dout_value: str
    dout: ArrayView
    rule: Rule
    grads: tuple[tuple[str, ArrayView], ...]
    param_grads: tuple[tuple[str, ArrayView], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "node": self.node,
            "dout_value": self.dout_value,
            "dout": self.dout.to_dict(),
            "rule": self.rule.to_dict(),
            "grads": [{"value": n, "grad": g.to_dict()} for n, g in self.grads],
            "param_grads": [{"value": n, "grad": g.to_dict()} for n, g in self.param_grads],
        }


@dataclass(frozen=True)
class NumericalCheck:
    """Backprop against central differences for one input or parameter.

    ``checked`` of ``size`` entries were differentiated numerically (all of them when
    the value is small enough); ``worst`` lists up to three (index, backprop,
    numerical) with the largest difference.
    """

    value: str
    size: int
    checked: int
    mean_abs_diff: float
    max_abs_diff: float
    relative_error: float
    numerical: ArrayView | None
    worst: tuple[tuple[tuple[int, ...], float, float], ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "size": self.size,
            "checked": self.checked,
            "mean_abs_diff": plain_number(self.mean_abs_diff),
            "max_abs_diff": plain_number(self.max_abs_diff),
            "relative_error": plain_number(self.relative_error),
            "numerical": None if self.numerical is None else self.numerical.to_dict(),
            "worst": [[list(i), plain_number(a), plain_number(n)] for i, a, n in self.worst],
        }


@dataclass(frozen=True)
class Picture:
    """A 2-D array to draw as an image: a 28x28 input, its gradient, a column of dW1.

    ``signed`` pictures (gradients) are drawn with a colour per sign around zero.
    """

    title: str
    value: str
    data: np.ndarray
    signed: bool
    caption: str = ""

    def to_dict(self) -> dict[str, Any]:
        rows, cols = self.data.shape
        return {
            "title": self.title,
            "value": self.value,
            "rows": rows,
            "cols": cols,
            "data": _plain(self.data.reshape(-1)),
            "signed": self.signed,
            "caption": self.caption,
        }


@dataclass
class Trace:
    """One forward and backward pass through a graph, with everything a learner looks at.

    ``output`` names the scalar the backward pass starts from (the loss, or the apple
    example's price), ``result`` is its value. ``summary`` holds a few labelled facts
    (the prediction, the label); ``notes`` sentences worth reading first.
    """

    title: str
    description: str
    values: list[ValueRecord]
    nodes: list[NodeRecord]
    backward: list[BackwardStep]
    checks: list[NumericalCheck]
    output: str
    result: float
    dtype: str = "float64"
    pictures: list[Picture] = field(default_factory=list)
    summary: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def value(self, name: str) -> ValueRecord:
        """The value called ``name``; ``KeyError`` listing the names otherwise."""
        for record in self.values:
            if record.name == name:
                return record
        raise KeyError(f"no value named {name!r}; values are {[v.name for v in self.values]}")

    def node(self, name: str) -> NodeRecord:
        for record in self.nodes:
            if record.name == name:
                return record
        raise KeyError(f"no node named {name!r}; nodes are {[n.name for n in self.nodes]}")

    def to_dict(self) -> dict[str, Any]:
        """The whole trace as JSON-ready lists, dicts, strings and numbers."""
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "title": self.title,
            "description": self.description,
            "dtype": self.dtype,
            "output": self.output,
            "result": plain_number(self.result),
            "values": [v.to_dict() for v in self.values],
            "nodes": [n.to_dict() for n in self.nodes],
            "backward": [s.to_dict() for s in self.backward],
            "checks": [c.to_dict() for c in self.checks],
            "pictures": [p.to_dict() for p in self.pictures],
            "summary": [[label, text] for label, text in self.summary],
            "notes": list(self.notes),
        }

    def to_json(self, *, indent: int | None = None) -> str:
        """``to_dict()`` as strict JSON (no NaN literals)."""
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False, ensure_ascii=False)


def bundle_to_json(traces: list[Trace], *, title: str) -> str:
    """Several traces as one JSON document: ``{"format", "version", "title", "traces"}``."""
    bundle = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "title": title,
        "traces": [t.to_dict() for t in traces],
    }
    return json.dumps(bundle, allow_nan=False, ensure_ascii=False)
