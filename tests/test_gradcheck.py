"""Tests for mitbadak.gradcheck: central differences, check_layer and compare."""

from __future__ import annotations

import numpy as np
import pytest

from mitbadak.gradcheck import (
    GradCheckResult,
    GradientCheckError,
    check_layer,
    compare,
    gradient_check,
)
from mitbadak.layers import Affine, Relu
from mitbadak.models import TwoLayerNet
from mitbadak.numerical import numerical_gradient


def sum_of_squares(x: np.ndarray) -> float:
    return float(np.sum(x**2))


# --- numerical_gradient ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(), (5,), (3, 4), (2, 3, 4)])
def test_numerical_gradient_of_sum_of_squares_is_2x(shape: tuple[int, ...]) -> None:
    x = np.random.default_rng(0).normal(size=shape)
    x_before = x.copy()
    grad = numerical_gradient(sum_of_squares, x)
    assert grad.shape == x.shape and grad.dtype == x.dtype
    np.testing.assert_allclose(grad, 2 * x, rtol=1e-9, atol=1e-9)
    np.testing.assert_array_equal(x, x_before)  # restored bit for bit


def test_numerical_gradient_of_a_product() -> None:
    # f(x) = x0 * x1**2 -> (x1**2, 2 x0 x1)
    x = np.array([3.0, -2.0])
    grad = numerical_gradient(lambda v: float(v[0] * v[1] ** 2), x, h=1e-5)
    np.testing.assert_allclose(grad, [4.0, -12.0], rtol=1e-8)


def test_numerical_gradient_keeps_float32() -> None:
    x = np.array([1.0, 2.0], dtype=np.float32)
    grad = numerical_gradient(sum_of_squares, x, h=1e-2)
    assert grad.dtype == np.float32
    np.testing.assert_allclose(grad, [2.0, 4.0], rtol=1e-3)


def test_numerical_gradient_restores_x_when_f_raises() -> None:
    x = np.array([[0.1, 0.2], [0.3, 0.4]])
    x_before = x.copy()
    calls = 0

    def explode(v: np.ndarray) -> float:
        nonlocal calls
        calls += 1
        if calls == 4:  # the second entry's minus step, while it is perturbed
            raise ArithmeticError("boom")
        return float(v.sum())

    with pytest.raises(ArithmeticError, match="boom"):
        numerical_gradient(explode, x)
    np.testing.assert_array_equal(x, x_before)


@pytest.mark.parametrize("h", [0.0, -1e-4, float("nan"), float("inf")])
def test_numerical_gradient_rejects_bad_h(h: float) -> None:
    with pytest.raises(ValueError, match=f"received h={h!r}"):
        numerical_gradient(sum_of_squares, np.ones(2), h=h)


def test_numerical_gradient_rejects_lists_and_integers() -> None:
    with pytest.raises(TypeError, match="received list"):
        numerical_gradient(sum_of_squares, [1.0, 2.0])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="received dtype int64"):
        numerical_gradient(sum_of_squares, np.array([1, 2], dtype=np.int64))


# --- compare --------------------------------------------------------------------------


def test_compare_on_a_hand_made_case() -> None:
    result = compare([1.0, 2.0, 3.0, -4.0], [1.0, 2.5, 3.0, -3.0])
    assert result.mean_abs_diff == pytest.approx((0.5 + 1.0) / 4)
    assert result.max_abs_diff == pytest.approx(1.0)
    assert result.max_rel_error == pytest.approx(0.25)  # |−4 − (−3)| / 4 beats 0.5 / 2.5


def test_compare_uses_the_floor_for_tiny_gradients() -> None:
    result = compare([0.0], [1e-10])
    assert result.max_rel_error == pytest.approx(1e-10 / 1e-8)
    assert compare([0.0], [1e-10], floor=1e-12).max_rel_error == pytest.approx(1.0)


def test_compare_of_identical_and_empty_gradients() -> None:
    assert compare(np.ones((2, 2)), np.ones((2, 2))) == GradCheckResult(0.0, 0.0, 0.0)
    assert compare(np.zeros(0), np.zeros(0)) == GradCheckResult(0.0, 0.0, 0.0)


def test_compare_rejects_different_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2,\) vs \(3,\)"):
        compare(np.ones(2), np.ones(3))


# --- check_layer ----------------------------------------------------------------------


def make_affine(dtype: type[np.floating] = np.float64) -> Affine:
    rng = np.random.default_rng(1)
    return Affine(rng.normal(size=(4, 3)).astype(dtype), rng.normal(size=3).astype(dtype))


class WrongdWAffine(Affine):
    """dW one percent too large: the kind of bug a gradient check exists for."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        dx = super().backward(dout)
        self.grads["W"] = self.grads["W"] * 1.01
        return dx


class WrongdxAffine(Affine):
    """dx with the wrong sign; dW and db are right."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return -super().backward(dout)


class DoutMutatingRelu(Relu):
    """The book's Relu.backward: writes zeros into the caller's dout."""

    def backward(self, dout: np.ndarray) -> np.ndarray:
        assert self.mask is not None
        dout[self.mask] = 0
        return dout


def test_check_layer_passes_a_correct_layer_and_reports_every_gradient() -> None:
    x = np.random.default_rng(2).normal(size=(5, 4))
    results = check_layer(make_affine(), x)
    assert set(results) == {"x", "W", "b"}
    for result in results.values():
        assert result.max_abs_diff < 1e-7


def test_check_layer_does_not_touch_the_layer_or_x() -> None:
    layer = make_affine(np.float32)
    W_before = layer.W.copy()
    x = np.random.default_rng(3).normal(size=(2, 4)).astype(np.float32)
    x_before = x.copy()
    check_layer(layer, x)
    np.testing.assert_array_equal(layer.W, W_before)
    assert layer.W.dtype == np.float32
    np.testing.assert_array_equal(x, x_before)


def test_check_layer_catches_a_wrong_dW() -> None:
    W, b = make_affine().W, make_affine().b
    x = np.random.default_rng(4).normal(size=(5, 4))
    with pytest.raises(GradientCheckError, match="gradient for W") as info:
        check_layer(WrongdWAffine(W, b), x)
    message = str(info.value)
    assert "WrongdWAffine" in message
    assert "largest absolute error" in message
    assert "relative" in message


def test_check_layer_catches_a_wrong_dx() -> None:
    W, b = make_affine().W, make_affine().b
    x = np.random.default_rng(5).normal(size=(5, 4))
    with pytest.raises(GradientCheckError, match="gradient for x.*largest absolute error"):
        check_layer(WrongdxAffine(W, b), x)


def test_check_layer_catches_a_backward_that_mutates_dout() -> None:
    x = np.array([[1.0, -1.0, 2.0], [-0.5, 0.5, -2.0]])
    with pytest.raises(GradientCheckError, match="DoutMutatingRelu.backward modified dout"):
        check_layer(DoutMutatingRelu(), x)


def test_gradient_check_errors_are_assertion_errors() -> None:
    assert issubclass(GradientCheckError, AssertionError)


# --- gradient_check -------------------------------------------------------------------


def test_gradient_check_of_a_small_float32_net() -> None:
    rng = np.random.default_rng(6)
    net = TwoLayerNet(6, 5, 3, weight_init_std=0.5, rng=rng)
    W1_before = net.params["W1"].copy()
    x = rng.normal(size=(4, 6)).astype(np.float32)
    results = gradient_check(net, x, np.array([0, 1, 2, 1]))
    assert set(results) == {"W1", "b1", "W2", "b2"}
    for result in results.values():
        assert result.mean_abs_diff < 1e-8
    # The check runs on a float64 copy; the float32 net is untouched.
    assert net.params["W1"].dtype == np.float32
    np.testing.assert_array_equal(net.params["W1"], W1_before)
