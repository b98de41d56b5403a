"""Calling a learner's layer: fresh copies, quiet prints, exceptions as report details.

Before every forward the global NumPy generator is reseeded, so a Dropout written with
``np.random.rand`` draws the same mask each time and stays one fixed function.
"""

from __future__ import annotations

import contextlib
import copy
import inspect
import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak.layercheck.diagnose import Diagnosis, diagnose_exception
from mitbadak.layercheck.loading import learner_location
from mitbadak.layercheck.setup import SEED, Param, Setup

__all__ = ["Finding", "LearnerError", "Runner", "copies", "differing", "grads_of", "raised"]


@dataclass
class Finding:
    """One check's outcome: ``status`` "pass", "fail", "note" or "skip".

    ``check`` names the message of its title, ``fields`` fill it, ``details`` are more
    messages: facts (``info.*``) and likely causes (``hint.*``).
    """

    check: str
    status: str
    fields: dict[str, Any] = field(default_factory=dict)
    details: list[Diagnosis] = field(default_factory=list)

    @property
    def hints(self) -> list[str]:
        return [key.removeprefix("hint.") for key, _ in self.details if key.startswith("hint.")]


class LearnerError(Exception):
    """The learner's forward or backward raised; carries the report's details."""

    def __init__(self, details: list[Diagnosis]) -> None:
        super().__init__(details)
        self.details = details


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """The learner's prints, repeated for every numerical derivative, are dropped."""
    with contextlib.redirect_stdout(io.StringIO()):
        yield


class Runner:
    def __init__(self, setup: Setup, path: Path) -> None:
        self.setup = setup
        self.path = path
        self.proto = setup.construct()
        cls: Any = setup.cls  # a learner's class: load_class checked it has backward
        takes = [p for p in inspect.signature(cls.backward).parameters if p != "self"]
        self.backward_takes_dout = bool(takes)

    def fresh(self) -> Any:
        return copy.deepcopy(self.proto)

    def call(self, func: Callable[..., Any], *args: Any) -> Any:
        try:
            with _quiet():
                return func(*args)
        except Exception as exc:  # the learner's code may raise anything
            raise LearnerError(raised(exc, self.path)) from exc

    def forward(self, layer: Any, inputs: tuple[np.ndarray, ...]) -> Any:
        # The learner's code may draw from the global generator (the book's Dropout does);
        # run_checks restores its state afterwards.
        np.random.seed(SEED)  # noqa: NPY002
        return self.call(layer.forward, *inputs)

    def backward(self, layer: Any, dout: Any) -> Any:
        if self.setup.kind == "loss":
            return (
                self.call(layer.backward, dout)
                if self.backward_takes_dout
                else self.call(layer.backward)
            )
        return self.call(layer.backward, dout)


def grads_of(setup: Setup, returned: Any, layer: Any, params: list[Param]) -> dict[str, Any]:
    names = ["x", "y"] if setup.kind == "node" else ["x"]
    values = list(returned) if setup.kind == "node" else [returned]
    found = dict(zip(names, values, strict=False))
    for p in params:
        found[p.name] = p.grad(layer)
    return found


def differing(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    """Names whose arrays differ between two sets of results."""
    differ = []
    for name, value in a.items():
        other = b.get(name)
        if value is None or other is None:
            if (value is None) != (other is None):
                differ.append(name)
        elif np.shape(value) != np.shape(other) or not np.allclose(
            value, other, rtol=1e-9, atol=1e-12, equal_nan=True
        ):
            differ.append(name)
    return differ


def copies(grads: dict[str, Any]) -> dict[str, Any]:
    return {k: None if v is None else np.array(v, dtype=np.float64) for k, v in grads.items()}


def raised(exc: BaseException, path: Path) -> list[Diagnosis]:
    """An exception from the learner's code as report details: what, where, likely why."""
    lines = str(exc).splitlines() or [""]
    fields: dict[str, Any] = {"error": type(exc).__name__, "message": lines[0][:200]}
    where = learner_location(exc, path)
    if where:
        fields.update(line=where[0], source=where[1])
    return [("info.raised" if where else "info.raised_here", fields), *diagnose_exception(exc)]
