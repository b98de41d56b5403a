"""Run a small computational graph forward and backward, recording every step.

:class:`GraphTracer` is told the graph the way the book builds it by hand: input values,
then nodes in forward order, each reading named values and writing one. ``run()``
calls each node's own ``forward``, then each node's own ``backward`` in reverse order,
starting from ``dout = 1`` at the last node's scalar output. Where a value feeds
several nodes, the gradients they send back are added up, and the trace keeps each
contribution. Finally every input and parameter is differentiated by central
differences, so that backprop can be seen to agree with the definition.

>>> from mitbadak.graph import MulLayer
>>> tracer = GraphTracer("two apples")
>>> tracer.input("apple", 100.0)
>>> tracer.input("apple_num", 2.0)
>>> tracer.node("mul_apple", MulLayer(), ["apple", "apple_num"], "apple_price")
>>> trace = tracer.run()
>>> trace.result, trace.value("apple").grad.scalar, trace.value("apple_num").grad.scalar
(200.0, 2.0, 100.0)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mitbadak._checks import check_positive_int
from mitbadak.explain.record import (
    WHOLE_LIMIT,
    ArrayView,
    BackwardStep,
    NodeRecord,
    NumericalCheck,
    Trace,
    ValueRecord,
    largest_first,
)
from mitbadak.explain.rules import op_info
from mitbadak.gradcheck import relative_error
from mitbadak.layers import LossLayer
from mitbadak.numerical import numerical_gradient, numerical_partials

__all__ = ["GraphTracer"]


@dataclass
class _Node:
    name: str
    layer: Any
    inputs: list[str]
    output: str
    params: dict[str, str]  # value name -> key in layer.params
    record: NodeRecord | None = None


@dataclass
class _Leaf:
    role: str  # "input", "label" or "param"
    array: np.ndarray
    owner: _Node | None = None
    consumers: list[str] = field(default_factory=list)


class GraphTracer:
    """Build a graph node by node, then :meth:`run` it into a :class:`Trace`.

    Parameters
    ----------
    title, description : shown above the trace
    whole_limit : arrays with at most this many entries are kept whole in the trace
    numerical_limit : the most entries of one input or parameter differentiated by
        central differences (None: all). Beyond it, half are the entries with the
        largest backprop gradient and half are drawn at random (seeded).
    h : the step of the central differences (the computation runs in float64)
    """

    def __init__(
        self,
        title: str,
        description: str = "",
        *,
        whole_limit: int = WHOLE_LIMIT,
        numerical_limit: int | None = None,
        h: float = 1e-5,
    ) -> None:
        self.title = title
        self.description = description
        self.whole_limit = check_positive_int("whole_limit", whole_limit)
        if numerical_limit is not None:
            check_positive_int("numerical_limit", numerical_limit)
        self.numerical_limit = numerical_limit
        self.h = h
        self._leaves: dict[str, _Leaf] = {}
        self._nodes: list[_Node] = []
        self._produced: set[str] = set()
        #: After :meth:`run`: dL/d(value) for every value that has one, whole, by name.
        self.gradients: dict[str, np.ndarray] = {}

    def _new_name(self, name: str) -> None:
        if name in self._leaves or name in self._produced:
            raise ValueError(f"the graph already has a value named {name!r}")

    def input(self, name: str, value: ArrayLike) -> None:
        """A value fed into the graph that gets a gradient (a float or a float array)."""
        self._new_name(name)
        self._leaves[name] = _Leaf("input", np.array(value, dtype=np.float64))

    def label(self, name: str, value: ArrayLike) -> None:
        """Labels for a loss node: passed to its forward as given, no gradient."""
        self._new_name(name)
        self._leaves[name] = _Leaf("label", np.array(value))

    def node(
        self,
        name: str,
        layer: Any,
        inputs: Sequence[str],
        output: str,
        *,
        params: Mapping[str, str] | None = None,
    ) -> None:
        """Add ``layer`` reading the values ``inputs`` (in ``forward``'s order) and writing
        ``output``. ``params`` maps value names to keys of ``layer.params``: the layer's
        parameters, shown as inputs of the node. Nodes must come in forward order."""
        if any(n.name == name for n in self._nodes):
            raise ValueError(f"the graph already has a node named {name!r}")
        for value in inputs:
            if value not in self._leaves and value not in self._produced:
                raise ValueError(f"node {name!r} reads {value!r}, which no earlier step provides")
        spec = _Node(name, layer, list(inputs), output, dict(params or {}))
        for pname, key in spec.params.items():
            self._new_name(pname)
            self._leaves[pname] = _Leaf("param", layer.params[key], owner=spec)
        self._new_name(output)
        self._produced.add(output)
        self._nodes.append(spec)

    # --- the passes ------------------------------------------------------------------

    def _forward(self) -> dict[str, np.ndarray]:
        env = {name: leaf.array for name, leaf in self._leaves.items() if leaf.role != "param"}
        for spec in self._nodes:
            out = spec.layer.forward(*(env[v] for v in spec.inputs))
            env[spec.output] = np.asarray(out, dtype=np.float64)
        return env

    def _result(self) -> float:
        out = self._forward()[self._nodes[-1].output]
        return float(out.reshape(-1)[0])

    def run(self) -> Trace:
        """Forward, backward and the numerical check; returns the :class:`Trace`."""
        if not self._nodes:
            raise ValueError("the graph has no node to run")
        last = self._nodes[-1]
        env = self._forward()
        if env[last.output].size != 1:
            raise ValueError(
                f"the last node's output {last.output!r} must be one number (a loss), "
                f"received shape {env[last.output].shape}"
            )
        view = self._view
        consumers: dict[str, list[str]] = {}
        for spec in self._nodes:
            for v in [*spec.inputs, *spec.params]:
                consumers.setdefault(v, []).append(spec.name)
        nodes = []
        for i, spec in enumerate(self._nodes, start=1):
            info = op_info(spec.layer)
            spec.record = NodeRecord(
                spec.name,
                type(spec.layer).__name__,
                info.symbol,
                list(spec.inputs),
                list(spec.params),
                spec.output,
                i,
                info.forward,
            )
            nodes.append(spec.record)
        values: dict[str, ValueRecord] = {}
        for name, leaf in self._leaves.items():
            values[name] = ValueRecord(name, leaf.role, view(leaf.array))
        for spec in self._nodes:
            role = "output" if spec is last else "intermediate"
            values[spec.output] = ValueRecord(
                spec.output, role, view(env[spec.output]), producer=spec.name
            )
        for name, record in values.items():
            record.consumers = consumers.get(name, [])

        grads, steps = self._backward(env, values)
        self.gradients = grads
        for name, record in values.items():
            if name in grads:
                record.grad = view(grads[name])
        ordered = [values[n] for n in self._leaves] + [values[s.output] for s in self._nodes]
        return Trace(
            self.title,
            self.description,
            ordered,
            nodes,
            steps,
            self._numerical(grads),
            last.output,
            float(env[last.output].reshape(-1)[0]),
        )

    def _backward(
        self, env: dict[str, np.ndarray], values: dict[str, ValueRecord]
    ) -> tuple[dict[str, np.ndarray], list[BackwardStep]]:
        last = self._nodes[-1]
        grads: dict[str, np.ndarray] = {last.output: np.ones_like(env[last.output])}
        steps = []
        for k, spec in enumerate(reversed(self._nodes), start=1):
            dout = grads[spec.output]
            layer = spec.layer
            if isinstance(layer, LossLayer):
                returned: Any = (layer.backward(float(dout.reshape(-1)[0])),)
            else:
                # A copy: the trace keeps dout, whatever the layer does with its argument.
                returned = layer.backward(dout.copy())
                if not isinstance(returned, tuple):
                    returned = (returned,)
            sent = [
                (value, np.asarray(g, dtype=np.float64))
                for value, g in zip(spec.inputs, returned, strict=False)
                if not self._is_label(value)
            ]
            param_sent = [
                (pname, np.array(layer.grads[key], dtype=np.float64))
                for pname, key in spec.params.items()
            ]
            views = [(value, self._view(g)) for value, g in sent + param_sent]
            for (value, g), (_, view) in zip(sent + param_sent, views, strict=True):
                grads[value] = grads[value] + g if value in grads else g
                # Shares are kept for values used twice; with one consumer the share
                # is the gradient itself.
                if len(values[value].consumers) > 1:
                    values[value].contributions.append((spec.name, view))
            assert spec.record is not None
            spec.record.backward_step = k
            rule = op_info(layer).rule(layer, spec.inputs, self._view)
            steps.append(
                BackwardStep(
                    k,
                    spec.name,
                    spec.output,
                    self._view(dout),
                    rule,
                    tuple(views[: len(sent)]),
                    tuple(views[len(sent) :]),
                )
            )
        return grads, steps

    def _numerical(self, grads: dict[str, np.ndarray]) -> list[NumericalCheck]:
        checks = []
        for name, leaf in self._leaves.items():
            if leaf.role == "label" or name not in grads:
                continue
            backprop = grads[name]
            arr = leaf.array
            limit = self.numerical_limit
            if limit is None or arr.size <= limit:
                numerical = numerical_gradient(lambda _: self._result(), arr, self.h)
                a, n = backprop.reshape(-1), numerical.reshape(-1)
                flat_idx = np.arange(arr.size)
                full: ArrayView | None = self._view(numerical)
            else:
                flat_idx = _sample_entries(backprop, limit)
                indices = [tuple(int(i) for i in np.unravel_index(k, arr.shape)) for k in flat_idx]
                n = numerical_partials(lambda _: self._result(), arr, indices, self.h)
                a = backprop.reshape(-1)[flat_idx]
                full = None
            diff = np.abs(a - n)
            worst = [int(k) for k in np.argsort(-diff, kind="stable")[:3]]
            checks.append(
                NumericalCheck(
                    name,
                    int(arr.size),
                    int(len(flat_idx)),
                    float(diff.mean()),
                    float(diff.max()),
                    relative_error(a, n),
                    full,
                    tuple(
                        (
                            tuple(int(i) for i in np.unravel_index(int(flat_idx[k]), arr.shape)),
                            float(a[k]),
                            float(n[k]),
                        )
                        for k in worst
                    ),
                )
            )
        return checks

    def _is_label(self, name: str) -> bool:
        return name in self._leaves and self._leaves[name].role == "label"

    def _view(self, value: Any) -> ArrayView:
        return ArrayView.of(value, whole_limit=self.whole_limit)


def _sample_entries(grad: np.ndarray, count: int) -> np.ndarray:
    """``count`` flat indices: the half with the largest |grad|, the rest at random."""
    flat = np.abs(grad.reshape(-1))
    top = largest_first(flat, count // 2)
    others = np.ones(flat.size, dtype=bool)
    others[top] = False
    rest = np.flatnonzero(others)
    drawn = np.random.default_rng(0).choice(rest, size=count - top.size, replace=False)
    return np.sort(np.concatenate([top, drawn]))
