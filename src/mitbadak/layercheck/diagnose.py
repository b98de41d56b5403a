"""Turning a wrong gradient, a wrong shape or an exception into a likely cause.

Each function returns diagnoses as ``(key, fields)`` pairs: the key names a message in
:mod:`mitbadak.layercheck.messages` (and is what the tests check), the fields fill it.
The patterns are the classic mistakes of chapter 5: a missing ``/ N``, a sign, a mask the
wrong way round, the sigmoid's derivative written with ``x`` instead of ``y``, a product
that does not swap its inputs, a sum over the wrong axis, a missing transpose.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = [
    "Context",
    "Diagnosis",
    "band",
    "diagnose_exception",
    "diagnose_gradient",
    "diagnose_shape",
    "first_mismatch",
]

Diagnosis = tuple[str, dict[str, Any]]

#: Bands of the relative error ‖a − n‖ / max(‖a‖, ‖n‖) in float64, and whether they pass.
BANDS = ((1e-7, "exact", True), (1e-5, "close", True), (1e-2, "suspicious", False))


def band(error: float) -> tuple[str, bool]:
    """The band's name and whether it passes: exact < 1e-7 ≤ close < 1e-5 ≤ suspicious
    < 1e-2 ≤ wrong."""
    for limit, name, ok in BANDS:
        if error < limit:
            return name, ok
    return "wrong", False


@dataclass
class Context:
    """What the diagnoses may compare a gradient with: the layer's inputs and output."""

    kind: str
    name: str  # "x", "y" (a node's second input) or a parameter name
    family: str  # "conv", "pool", "batchnorm", "dropout" or "plain" (setup.family)
    batch: int
    x: np.ndarray
    out: np.ndarray | None
    dout: np.ndarray | float
    other: np.ndarray | None = None  # a node's other input, or a loss layer's labels
    ignoring_dout: np.ndarray | None = None  # backward's answer for dout = ones


def _close(a: np.ndarray, b: Any, rtol: float = 1e-6) -> bool:
    b = np.broadcast_to(np.asarray(b, dtype=np.float64), a.shape)
    scale = max(float(np.abs(b).max(initial=0.0)), 1e-12)
    return bool(np.allclose(a, b, rtol=rtol, atol=rtol * scale))


def first_mismatch(a: np.ndarray, n: np.ndarray) -> tuple[tuple[int, ...], float, float]:
    """The first entry (in C order) where backprop and numerical differ beyond noise."""
    scale = max(float(np.abs(n).max(initial=0.0)), 1e-12)
    bad = np.abs(a - n) > 1e-6 * scale + 1e-4 * np.abs(n)
    k = int(np.argmax(bad)) if bad.any() else int(np.argmax(np.abs(a - n)))
    index = tuple(int(i) for i in np.unravel_index(k, n.shape))
    return index, float(a.reshape(-1)[k]), float(n.reshape(-1)[k])


def _factor(a: np.ndarray, n: np.ndarray, batch: int) -> list[Diagnosis]:
    nn = float(np.sum(n * n))
    if nn == 0.0:
        return [("hint.zero_expected", {})] if np.any(a) else []
    c = float(np.sum(a * n)) / nn
    if not _close(a, c * n, 1e-6) or abs(c - 1) < 1e-6:
        return []
    if abs(c) < 1e-9:
        return [("hint.zero_gradient", {})]
    for value, key in (
        (batch, "hint.missing_batch_division"),
        (1 / batch, "hint.extra_batch_division"),
        (-1.0, "hint.sign_flipped"),
    ):
        if abs(c - value) < 1e-6 * max(1.0, abs(value)):
            return [(key, {"n": batch})]
    if abs(c + batch) < 1e-6 * batch or abs(c + 1 / batch) < 1e-6:
        return [("hint.sign_flipped", {}), ("hint.constant_factor", {"c": -c})]
    return [("hint.constant_factor", {"c": c})]


def _local(x: np.ndarray, y: np.ndarray | None) -> dict[str, np.ndarray]:
    """Named local derivatives of elementwise layers, in x (input) and y (output)."""
    found = {
        "x > 0": (x > 0).astype(float),
        "x <= 0": (x <= 0).astype(float),
        "x(1 - x)": x * (1 - x),
        "x": x,
        "1 - x^2": 1 - x * x,
        "1": np.ones_like(x),
    }
    if y is not None and y.shape == x.shape:
        found.update({"y(1 - y)": y * (1 - y), "y": y, "1 - y": 1 - y, "1 - y^2": 1 - y * y})
    return found


def _which(g: np.ndarray, dout: np.ndarray, table: dict[str, np.ndarray]) -> str | None:
    for label, local in table.items():
        if _close(g, dout * local):
            return label
    return None


#: (backprop's local derivative, the true one) -> the mistake's key.
_SWAPS = {
    ("x(1 - x)", "y(1 - y)"): "hint.sigmoid_uses_x",
    ("x <= 0", "x > 0"): "hint.inverted_mask",
    ("1", "x > 0"): "hint.mask_missing",
}


def _elementwise(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Diagnosis]:
    dout = np.asarray(ctx.dout, dtype=np.float64)
    if ctx.kind != "layer" or ctx.name != "x" or not (a.shape == dout.shape == ctx.x.shape):
        return []
    table = _local(ctx.x, ctx.out)
    got, true = _which(a, dout, table), _which(n, dout, table)
    if got is None or got == true or (got == "1" and true is None):
        return []  # "1" against no simple formula: a mask not of x (dropout); see _masks
    if true is None:
        return [("hint.local_derivative_is", {"got": got})]
    if (got, true) in _SWAPS:
        return [(_SWAPS[(got, true)], {"got": got, "true": true})]
    return [("hint.wrong_local_derivative", {"got": got, "true": true})]


def _masks(a: np.ndarray, n: np.ndarray) -> list[Diagnosis]:
    scale = max(float(np.abs(n).max(initial=0.0)), float(np.abs(a).max(initial=0.0)), 1e-12)
    on_a, on_n = np.abs(a) > 1e-9 * scale, np.abs(n) > 1e-9 * scale
    if on_a.all() and on_n.all():
        return []
    if on_a.any() and on_n.any() and np.array_equal(on_a, ~on_n):
        return [("hint.inverted_mask", {})]
    same = _close(a[on_a & on_n], n[on_a & on_n]) if (on_a & on_n).any() else False
    if same and (on_a & ~on_n).any() and not (on_n & ~on_a).any():
        return [("hint.mask_missing", {"count": int((on_a & ~on_n).sum())})]
    if same and (on_n & ~on_a).any() and not (on_a & ~on_n).any():
        return [("hint.blocks_too_much", {"count": int((on_n & ~on_a).sum())})]
    return []


def _node(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Diagnosis]:
    if ctx.kind != "node" or ctx.other is None:
        return []
    dout = np.asarray(ctx.dout, dtype=np.float64)
    own = ctx.x if ctx.name == "x" else ctx.other
    other = ctx.other if ctx.name == "x" else ctx.x
    if own.shape == a.shape and _close(a, dout * own) and _close(n, dout * other):
        return [("hint.not_swapped", {"name": ctx.name})]
    return []


def _loss(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Diagnosis]:
    if ctx.kind != "loss" or ctx.other is None or a.shape != ctx.x.shape:
        return []
    t, found = ctx.other, list[Diagnosis]()
    if _close(a, (ctx.x - t) / ctx.batch) or _close(a, ctx.x - t):
        found.append(("hint.scores_not_probabilities", {}))
    return found


def _ignores_dout(a: np.ndarray, ctx: Context) -> list[Diagnosis]:
    ones = ctx.ignoring_dout
    if ones is None or ones.shape != a.shape or np.allclose(np.asarray(ctx.dout), 1.0):
        return []
    return [("hint.ignores_dout", {})] if _close(a, ones, 1e-9) else []


_FAMILY_HINTS = {
    "batchnorm": "hint.batchnorm_paths",
    "pool": "hint.pooling_max",
    "conv": "hint.conv_rules",
}


def _family(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Diagnosis]:
    """The rule of the layer's family, when no simpler pattern explains the mismatch."""
    key = _FAMILY_HINTS.get(ctx.family)
    return [(key, {})] if key and ctx.name == "x" else []


_PATTERNS: tuple[Callable[[np.ndarray, np.ndarray, Context], list[Diagnosis]], ...] = (
    _node,
    _loss,
    _elementwise,
    lambda a, n, ctx: _ignores_dout(a, ctx),
    lambda a, n, ctx: _factor(a, n, ctx.batch),
    lambda a, n, ctx: _masks(a, n),
    _family,
)


def diagnose_gradient(a: np.ndarray, n: np.ndarray, ctx: Context) -> list[Diagnosis]:
    """Likely causes of a gradient ``a`` that disagrees with the numerical ``n``."""
    found: list[Diagnosis] = []
    for pattern in _PATTERNS:
        for key, fields in pattern(a, n, ctx):
            if key not in {k for k, _ in found}:
                found.append((key, fields))
        if found:
            break
    return found or [("hint.generic_mismatch", {})]


def diagnose_shape(
    name: str, got: tuple[int, ...], expected: tuple[int, ...], batch: int, label: str = ""
) -> list[Diagnosis]:
    """Likely causes of a gradient of shape ``got`` for the value ``name`` of shape
    ``expected``; ``label`` is how the report calls the gradient (``db``)."""
    fields = {"name": label or f"d{name}", "got": got, "expected": expected, "n": batch}
    if len(expected) == 1 and name.lower() in ("b", "bias", "beta", "gamma"):
        if got == ():
            return [("hint.bias_summed_all", fields)]
        if got == (batch,):
            return [("hint.bias_wrong_axis", fields)]
        if got == (1, expected[0]):
            return [("hint.bias_keepdims", fields)]
        if len(got) == 2 and got[1] == expected[0]:
            return [("hint.bias_not_summed", fields)]
    if len(got) == 2 and got == expected[::-1] and got != expected:
        return [("hint.transposed", fields)]
    if name == "x" and len(expected) > 2 and got == (expected[0], int(np.prod(expected[1:]))):
        return [("hint.dx_not_reshaped", fields)]
    return [("hint.shape_mismatch", fields)]


_EXCEPTIONS = (
    ("not aligned", "hint.matmul_shapes"),
    ("matmul: Input operand", "hint.matmul_shapes"),
    ("mismatch in its core dimension", "hint.matmul_shapes"),
    ("could not be broadcast", "hint.broadcast"),
    ("cannot reshape", "hint.reshape"),
    ("'NoneType' object", "hint.none_state"),
    ("unsupported operand type(s) for", "hint.none_state"),
    ("required positional argument", "hint.signature"),
    ("positional argument", "hint.signature"),
)


def diagnose_exception(exc: BaseException) -> list[Diagnosis]:
    """A likely cause of an exception raised by the learner's forward or backward."""
    text = str(exc)
    for marker, key in _EXCEPTIONS:
        if marker in text and (key != "hint.none_state" or "NoneType" in text):
            return [(key, {})]
    return []
