"""The checks of ``mitbadak check``: run a learner's layer and judge what it does.

Every check gets a fresh copy of one prototype layer, so that a mistake found by one
check cannot spoil another. Forward and backward run on float64 inputs; each gradient
is compared with central differences of ``sum(forward(x) * dout)`` (of the loss itself
for a loss layer), and the relative error is read in bands (see
:func:`mitbadak.layercheck.diagnose.band`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak.gradcheck import relative_error
from mitbadak.layercheck.diagnose import (
    Context,
    Diagnosis,
    band,
    diagnose_gradient,
    diagnose_shape,
    first_mismatch,
)
from mitbadak.layercheck.reference import reference_for, reference_forward
from mitbadak.layercheck.runner import (
    Finding,
    LearnerError,
    Runner,
    copies,
    differing,
    grads_of,
    raised,
)
from mitbadak.layercheck.setup import Setup, find_params
from mitbadak.numerical import numerical_gradient

__all__ = ["run_checks"]

#: Parameter names whose gradient backward must set, even when it never does.
TRAINABLE = frozenset({"W", "b", "gamma", "beta", "weight", "bias"})
#: The step of the central differences, in float64.
H = 1e-6


class _Checks:
    def __init__(self, setup: Setup, path: Path) -> None:
        self.setup = setup
        self.findings: list[Finding] = []
        self.run = Runner(setup, path)
        self.params = [
            p
            for p in find_params(self.run.proto)
            if p.style == "dict" or p.name in TRAINABLE or p.grad(self.run.proto) is not None
        ]

    def add(
        self,
        check: str,
        ok: bool,
        fields: dict | None = None,
        details: list | None = None,
        status: str | None = None,
    ) -> None:
        state = status or ("pass" if ok else "fail")
        self.findings.append(Finding(check, state, fields or {}, details or []))

    # --- the main pass -------------------------------------------------------------

    def main(self) -> None:
        s, run = self.setup, self.run
        layer = run.fresh()
        work = tuple(a.copy() for a in s.inputs)
        try:
            out = run.forward(layer, work)
        except LearnerError as exc:
            if not (s.kind == "loss" and self.index_labels_work()):
                self.add("check.forward", False, details=exc.details)
                return
            layer, work = run.fresh(), tuple(a.copy() for a in s.inputs)
            out = run.forward(layer, work)
        if out is None:
            self.add("check.forward", False, details=[("hint.forward_returns_none", {})])
            return
        out = np.asarray(out, dtype=np.float64)
        self.add("check.forward", True, {"shape": out.shape})
        self.reference(out)
        changed = [
            i
            for i, (a, b) in enumerate(zip(work, s.inputs, strict=True))
            if not np.array_equal(a, b)
        ]
        self.add(
            "check.input_unchanged",
            not changed,
            {"name": "xy"[changed[0]] if changed else "x"},
            [("hint.mutates_input", {})] if changed else [],
        )
        dout: Any = 1.0 if s.kind == "loss" else s.dout_for(out)
        sent = dout if s.kind == "loss" else dout.copy()
        try:
            returned = run.backward(layer, sent)
        except LearnerError as exc:
            self.add("check.backward", False, details=exc.details)
            return
        if returned is None:
            self.add("check.backward", False, details=[("hint.no_return", {})])
            return
        if s.kind == "node" and (not isinstance(returned, tuple | list) or len(returned) != 2):
            self.add("check.backward", False, details=[("hint.node_returns_two", {})])
            return
        grads = grads_of(s, returned, layer, self.params)
        self.add("check.backward", True, {"shape": np.shape(grads["x"])})
        if s.kind != "loss":
            self.dout_checks(dout, sent, grads)
        shaped = self.shape_checks(grads)
        self.gradient_checks(grads, shaped, out, dout)
        if len(shaped) == len(grads):
            self.state_checks(copies(grads), dout)
        if s.kind == "loss" and run.backward_takes_dout:
            self.loss_dout(grads["x"])

    def index_labels_work(self) -> bool:
        """A loss layer written for labels as indices: switch to them if they work."""
        self.setup.use_index_labels()
        try:
            self.run.forward(self.run.fresh(), tuple(a.copy() for a in self.setup.inputs))
        except LearnerError:
            return False
        return True

    def reference(self, out: np.ndarray) -> None:
        values = {p.name: p.value(self.run.proto) for p in self.params}
        found = reference_for(self.setup.cls.__name__, values)
        if found is None:
            return
        name, ref = found
        expected = reference_forward(ref, self.setup.inputs)
        # 1e-6: the book's cross-entropy adds 1e-7 inside its log, which is right too.
        ok = out.shape == expected.shape and np.allclose(out, expected, rtol=1e-6, atol=1e-12)
        details: list[Diagnosis] = []
        if not ok and out.shape == expected.shape:
            index, a, n = first_mismatch(out, expected)
            details.append(("info.first_difference", {"index": index, "got": a, "expected": n}))
        elif not ok:
            details.append(("info.shape_differs", {"got": out.shape, "expected": expected.shape}))
        self.add("check.reference", ok, {"name": name}, details)

    def dout_checks(self, dout: np.ndarray, sent: np.ndarray, grads: dict[str, Any]) -> None:
        changed = sent != dout
        details: list[Diagnosis] = []
        if changed.any():
            k = int(np.argmax(changed))
            index = tuple(int(i) for i in np.unravel_index(k, dout.shape))
            details = [
                (
                    "info.dout_changed",
                    {
                        "count": int(changed.sum()),
                        "total": dout.size,
                        "index": index,
                        "before": float(dout.reshape(-1)[k]),
                        "after": float(sent.reshape(-1)[k]),
                    },
                ),
                ("hint.mutates_dout", {}),
            ]
        self.add("check.dout_unchanged", not changed.any(), {}, details)
        returned = [
            (n, g) for n, g in grads.items() if n in ("x", "y") and isinstance(g, np.ndarray)
        ]
        aliased = [(n, g) for n, g in returned if g is sent or np.shares_memory(g, sent)]
        # dout itself handed back is the classic mistake; a view (Flatten's reshape) is noted.
        same_shape = [n for n, g in aliased if g is sent]
        if same_shape:
            self.add(
                "check.not_aliased",
                False,
                {"name": same_shape[0]},
                [("hint.aliases_dout", {"name": same_shape[0]})],
            )
        elif aliased:
            self.add(
                "check.not_aliased",
                True,
                {"name": aliased[0][0]},
                [("info.view_of_dout", {"name": aliased[0][0]})],
                status="note",
            )
        elif len(returned) == 2 and np.shares_memory(returned[0][1], returned[1][1]):
            self.add("check.not_aliased", False, {"name": "x"}, [("hint.aliases_each_other", {})])
        else:
            self.add("check.not_aliased", True, {"name": "x"})

    def expected_shapes(self) -> dict[str, tuple[int, ...]]:
        s = self.setup
        shapes = {"x": s.inputs[0].shape}
        if s.kind == "node":
            shapes["y"] = s.inputs[1].shape
        for p in self.params:
            shapes[p.name] = np.shape(p.value(self.run.proto))
        return shapes

    def shape_checks(self, grads: dict[str, Any]) -> list[str]:
        ok_names = []
        for name, expected in self.expected_shapes().items():
            g = grads.get(name)
            label = self.label(name)
            if g is None:
                self.add(
                    "check.grad_set",
                    False,
                    {"name": label},
                    [("hint.grad_not_set", {"name": label})],
                )
                continue
            got = np.shape(g)
            if got == expected:
                ok_names.append(name)
                self.add("check.shape", True, {"name": label, "shape": expected})
            else:
                self.add(
                    "check.shape",
                    False,
                    {"name": label, "shape": expected, "got": got},
                    diagnose_shape(name, got, expected, self.setup.batch, label),
                )
        return ok_names

    def label(self, name: str) -> str:
        for p in self.params:
            if p.name == name:
                return p.grad_name()
        return f"d{name}"

    # --- gradients against central differences -------------------------------------

    def objective(self, dout: Any, replace: int | None) -> Callable[[np.ndarray], float]:
        s, run = self.setup, self.run

        def f(v: np.ndarray) -> float:
            inputs = list(s.inputs)
            if replace is not None:
                inputs[replace] = v
            out = run.forward(run.fresh(), tuple(a.copy() for a in inputs))
            return float(np.sum(np.asarray(out, dtype=np.float64) * dout))

        return f

    def numerical(self, name: str, dout: Any) -> np.ndarray:
        if name in ("x", "y"):
            k = 0 if name == "x" else 1
            return numerical_gradient(self.objective(dout, k), self.setup.inputs[k].copy(), H)
        param = next(p for p in self.params if p.name == name)
        return numerical_gradient(self.objective(dout, None), param.value(self.run.proto), H)

    def gradient_checks(self, grads: dict[str, Any], names: list[str], out: Any, dout: Any) -> None:
        s = self.setup
        for name in names:
            a = np.asarray(grads[name], dtype=np.float64)
            try:
                with np.errstate(all="ignore"):
                    n = self.numerical(name, dout)
            except LearnerError as exc:
                self.add("check.gradient", False, {"name": self.label(name)}, exc.details)
                continue
            if not (np.all(np.isfinite(a)) and np.all(np.isfinite(n))):
                self.add(
                    "check.gradient", False, {"name": self.label(name)}, [("hint.not_finite", {})]
                )
                continue
            error = relative_error(a, n)
            band_name, ok = band(error)
            details: list[Diagnosis] = [("info.band." + band_name, {"error": error})]
            if not ok:
                index, av, nv = first_mismatch(a, n)
                details.append(
                    ("info.first_mismatch", {"index": index, "backprop": av, "numerical": nv})
                )
                other = s.inputs[1] if len(s.inputs) > 1 else None
                ctx = Context(
                    s.kind,
                    name,
                    s.family,
                    s.batch,
                    s.inputs[0],
                    np.asarray(out),
                    dout,
                    other,
                    self.ignoring_dout(name),
                )
                details += diagnose_gradient(a, n, ctx)
            self.add("check.gradient", ok, {"name": self.label(name), "error": error}, details)

    def ignoring_dout(self, name: str) -> np.ndarray | None:
        """What backward gives for ``dout = ones``: equal to a gradient that ignores dout."""
        if self.setup.kind == "loss":
            return None
        try:
            layer = self.run.fresh()
            out = self.run.forward(layer, tuple(a.copy() for a in self.setup.inputs))
            returned = self.run.backward(layer, np.ones(np.shape(out)))
            g = grads_of(self.setup, returned, layer, self.params).get(name)
        except (LearnerError, TypeError, ValueError):
            return None
        return None if g is None else np.asarray(g, dtype=np.float64)

    # --- state ----------------------------------------------------------------------

    def results(self, layer: Any, dout: Any) -> dict[str, Any]:
        sent = dout if self.setup.kind == "loss" else dout.copy()
        return copies(grads_of(self.setup, self.run.backward(layer, sent), layer, self.params))

    def state_checks(self, expected: dict[str, Any], dout: Any) -> None:
        s, run = self.setup, self.run
        try:
            probe = run.fresh()
            first = np.asarray(run.forward(probe, s.inputs), dtype=np.float64)
            again = np.asarray(run.forward(probe, s.inputs), dtype=np.float64)
            if not np.allclose(first, again, equal_nan=True):
                for check in ("check.forward_twice", "check.two_instances", "check.backward_twice"):
                    self.add(check, True, {}, [("info.random_forward", {})], status="skip")
                return
            twice = run.fresh()
            run.forward(twice, s.others)
            run.forward(twice, s.inputs)
            differ = differing(expected, self.results(twice, dout))
            self.add(
                "check.forward_twice",
                not differ,
                {"names": self.labels(differ)},
                [("hint.stale_state", {"names": self.labels(differ)})] if differ else [],
            )
            mine, theirs = run.fresh(), run.fresh()
            run.forward(mine, s.inputs)
            run.forward(theirs, s.others)
            differ = differing(expected, self.results(mine, dout))
            self.add(
                "check.two_instances",
                not differ,
                {"names": self.labels(differ)},
                [("hint.shared_state", {"names": self.labels(differ)})] if differ else [],
            )
            layer = run.fresh()
            run.forward(layer, s.inputs)
            once, twice_ = self.results(layer, dout), self.results(layer, dout)
        except LearnerError as exc:
            self.add("check.state", False, {}, exc.details)
            return
        differ = differing(once, twice_)
        doubled = differ and all(
            once[n] is not None and np.allclose(twice_[n], 2 * once[n]) for n in differ
        )
        hint = "hint.accumulates" if doubled else "hint.backward_changes_state"
        self.add(
            "check.backward_twice",
            not differ,
            {"names": self.labels(differ)},
            [(hint, {"names": self.labels(differ)})] if differ else [],
        )

    def labels(self, names: list[str]) -> str:
        return ", ".join(self.label(n) for n in names)

    def loss_dout(self, dx: Any) -> None:
        layer = self.run.fresh()
        try:
            self.run.forward(layer, self.setup.inputs)
            doubled = np.asarray(self.run.backward(layer, 2.0), dtype=np.float64)
        except LearnerError:
            return
        if np.allclose(doubled, np.asarray(dx, dtype=np.float64)):
            self.add("check.loss_dout", True, {}, [("info.loss_ignores_dout", {})], status="note")


def run_checks(setup: Setup, path: Path) -> tuple[list[Finding], list[str]]:
    """Every check of the layer described by ``setup``, in the report's order, and the
    names of the parameters found (``W``, ``b``; none if the constructor failed)."""
    # The checks reseed the global generator for the learner's code; the caller's is kept.
    state = np.random.get_state()  # noqa: NPY002
    try:
        try:
            checks = _Checks(setup, path)
        except Exception as exc:  # the learner's constructor may raise anything
            return [Finding("check.construct", "fail", {}, raised(exc, path))], []
        checks.main()
        return checks.findings, [p.name for p in checks.params]
    finally:
        np.random.set_state(state)  # noqa: NPY002
