"""Checks of backprop against numerical gradients, for layers and for whole networks.

Backprop is only trustworthy once it agrees with the slow, obvious definition of
a derivative: ``(f(x + h) - f(x - h)) / 2h`` for every entry
(:func:`mitbadak.numerical.numerical_gradient`). The checks here run in float64,
where that agreement can be tight. This module sits on top of the layers and models.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from mitbadak._types import FloatArray
from mitbadak.layers import Layer, LossLayer
from mitbadak.models.sequential import Sequential
from mitbadak.numerical import numerical_gradient

__all__ = [
    "GradCheckResult",
    "GradientCheckError",
    "check_layer",
    "compare",
    "gradient_check",
    "relative_error",
]


class GradientCheckError(AssertionError):
    """Backprop and numerical gradients disagree beyond the tolerance."""


@dataclass(frozen=True)
class GradCheckResult:
    """Agreement of one gradient: the book's mean absolute difference and the worst
    relative error ``|a - n| / max(|a|, |n|, floor)``."""

    mean_abs_diff: float
    max_abs_diff: float
    max_rel_error: float


def compare(analytic: ArrayLike, numerical: ArrayLike, *, floor: float = 1e-8) -> GradCheckResult:
    """Mean and max absolute difference and max relative error of two gradients."""
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"gradients differ in shape: {a.shape} vs {n.shape}")
    if a.size == 0:
        return GradCheckResult(0.0, 0.0, 0.0)
    diff = np.abs(a - n)
    rel = diff / np.maximum(np.maximum(np.abs(a), np.abs(n)), floor)
    return GradCheckResult(float(diff.mean()), float(diff.max()), float(rel.max()))


def relative_error(analytic: ArrayLike, numerical: ArrayLike) -> float:
    """``‖a - n‖ / max(‖a‖, ‖n‖)`` over the whole gradient: one number per gradient.

    Unlike the entry-wise relative error, it is not blown up by entries where both
    gradients are zero up to rounding (a ReLU's blocked units), so its size can be read
    directly: about 1e-10 for a correct backward in float64, order 1 for a wrong one.
    0 when both are zero.

    >>> relative_error(np.array([1.0, 2.0]), np.array([1.0, 2.0]))
    0.0
    >>> round(relative_error(np.array([3.0, 0.0]), np.array([1.0, 0.0])), 6)
    0.666667
    """
    a = np.asarray(analytic, dtype=np.float64)
    n = np.asarray(numerical, dtype=np.float64)
    if a.shape != n.shape:
        raise ValueError(f"gradients differ in shape: {a.shape} vs {n.shape}")
    scale = max(float(np.linalg.norm(a)), float(np.linalg.norm(n)))
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(a - n)) / scale


def check_layer(
    layer: Layer | LossLayer,
    x: ArrayLike,
    t: ArrayLike | None = None,
    *,
    train: bool = False,
    h: float = 1e-6,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    rng: np.random.Generator | None = None,
) -> dict[str, GradCheckResult]:
    """Check a layer's ``backward`` against central differences, in float64.

    The layer is copied and cast to float64, so the original is not touched. A
    random upstream gradient ``dout`` is drawn and the scalar ``sum(forward(x) *
    dout)`` is differentiated numerically with respect to ``x`` and to every
    parameter. For a loss layer pass labels ``t``; its loss is the scalar.

    Returns the agreement per gradient (``"x"`` and each parameter name) and
    raises :class:`GradientCheckError` naming the gradient, the largest absolute
    and relative error and the index where ``|a - n| > atol + rtol * |n|``.
    It also fails if ``backward`` wrote into ``dout``.
    """
    rng = np.random.default_rng(0) if rng is None else rng
    x64 = np.array(x, dtype=np.float64)  # a private copy: it is perturbed in place
    is_loss = isinstance(layer, LossLayer)
    clone: Any = layer.astype(np.float64) if isinstance(layer, Layer) else layer
    # Layers that draw random numbers in forward (Dropout) start every forward from
    # the same state, so the function being differentiated is one fixed function.
    state = clone.random_state()

    def forward() -> Any:
        clone.set_random_state(state)
        if is_loss:
            return clone.forward(x64, t, train=train)
        return clone.forward(x64, train=train)

    out = forward()
    if is_loss:
        dout_scalar = float(rng.uniform(0.5, 2.0))
        analytic = {"x": clone.backward(dout_scalar)}

        def objective(_: FloatArray) -> float:
            return float(forward()) * dout_scalar
    else:
        dout = rng.standard_normal(np.shape(out))
        dout_before = dout.copy()
        analytic = {"x": clone.backward(dout)}
        if not np.array_equal(dout, dout_before):
            raise GradientCheckError(f"{type(layer).__name__}.backward modified dout")

        def objective(_: FloatArray) -> float:
            return float(np.sum(forward() * dout))

    analytic.update({key: grad.copy() for key, grad in clone.grads.items()})
    numeric = {"x": numerical_gradient(objective, x64, h)}
    for key, value in clone.params.items():
        numeric[key] = numerical_gradient(objective, value, h)

    results: dict[str, GradCheckResult] = {}
    for key, a in analytic.items():
        n = numeric[key]
        if np.shape(a) != n.shape:
            raise GradientCheckError(
                f"{type(layer).__name__}: gradient for {key} has shape {np.shape(a)}, "
                f"expected {n.shape}"
            )
        results[key] = compare(a, n)
        bad = np.abs(a - n) > atol + rtol * np.abs(n)
        if np.any(bad):
            where = np.unravel_index(int(np.argmax(np.abs(a - n))), n.shape)
            raise GradientCheckError(
                f"{type(layer).__name__}: backprop gradient for {key} disagrees with "
                f"central differences at {int(bad.sum())} of {bad.size} entries; "
                f"largest absolute error {results[key].max_abs_diff:.3e} at index {where}, "
                f"largest relative error {results[key].max_rel_error:.3e} "
                f"(atol={atol}, rtol={rtol})"
            )
    return results


def gradient_check(
    net: Sequential, x: ArrayLike, t: ArrayLike, *, h: float = 1e-4
) -> dict[str, GradCheckResult]:
    """The book's gradient check: backprop against numerical gradients per parameter.

    The network is copied to float64 first, so a float32 net can be checked too.
    x: (N, ...) inputs, t: (N,) or (N, C) labels. Returns, for each parameter
    name, the mean absolute difference (the figure the book prints) and the
    worst relative error.
    """
    net64 = net.astype(np.float64)
    x64 = np.asarray(x, dtype=np.float64)
    backprop = net64.gradient(x64, t)
    numerical = net64.numerical_gradient(x64, t, h=h)
    return {name: compare(backprop[name], numerical[name]) for name in backprop}
