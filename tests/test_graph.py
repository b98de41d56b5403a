"""MulLayer and AddLayer: the book's apple examples, gradients, broadcasting, bad input."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mitbadak.graph import AddLayer, MulLayer, sum_to_shape
from mitbadak.numerical import numerical_gradient


def test_buying_apples() -> None:
    # 2 apples at 100 each, 10% tax: 220; d/d(apple) = 2.2, d/d(count) = 110, d/d(tax) = 200.
    mul_apple, mul_tax = MulLayer(), MulLayer()
    price = mul_tax.forward(mul_apple.forward(100.0, 2.0), 1.1)
    assert price == pytest.approx(220.0)
    d_apple_price, d_tax = mul_tax.backward(1.0)
    d_apple, d_count = mul_apple.backward(d_apple_price)
    assert (d_apple, d_count, d_tax) == pytest.approx((2.2, 110.0, 200.0))


def test_buying_apples_and_oranges() -> None:
    # + 3 oranges at 150: 715; backward 110, 2.2, 3.3, 165, 650.
    mul_apple, mul_orange, add, mul_tax = MulLayer(), MulLayer(), AddLayer(), MulLayer()
    apples = mul_apple.forward(100.0, 2.0)
    oranges = mul_orange.forward(150.0, 3.0)
    price = mul_tax.forward(add.forward(apples, oranges), 1.1)
    assert price == pytest.approx(715.0)
    d_all, d_tax = mul_tax.backward(1.0)
    d_apples, d_oranges = add.backward(d_all)
    d_apple, d_apple_num = mul_apple.backward(d_apples)
    d_orange, d_orange_num = mul_orange.backward(d_oranges)
    assert (d_apple_num, d_apple, d_orange, d_orange_num, d_tax) == pytest.approx(
        (110.0, 2.2, 3.3, 165.0, 650.0)
    )


shapes = st.sampled_from(
    [((3, 4), (3, 4)), ((3, 4), (4,)), ((3, 1), (1, 4)), ((2, 3, 4), (3, 1)), ((5,), ())]
)


@settings(max_examples=30, deadline=None)
@given(data=st.data(), pair=shapes, node=st.sampled_from([MulLayer, AddLayer]))
def test_gradients_match_central_differences(
    data: st.DataObject, pair: tuple[tuple[int, ...], tuple[int, ...]], node: type
) -> None:
    x_shape, y_shape = pair
    values = st.floats(-3, 3, allow_nan=False)
    x = data.draw(hnp.arrays(np.float64, x_shape, elements=values))
    y = data.draw(hnp.arrays(np.float64, y_shape, elements=values))
    layer = node()
    out = layer.forward(x, y)
    dout = np.random.default_rng(0).standard_normal(np.shape(out))
    dout_before = dout.copy()
    dx, dy = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_before)
    assert dx.shape == x.shape and dy.shape == y.shape
    assert not np.shares_memory(dx, dout) and not np.shares_memory(dy, dout)

    def objective(_: np.ndarray) -> float:
        return float(np.sum(node().forward(x, y) * dout))

    np.testing.assert_allclose(dx, numerical_gradient(objective, x, 1e-6), atol=1e-6)
    np.testing.assert_allclose(dy, numerical_gradient(objective, y, 1e-6), atol=1e-6)


def test_a_value_used_twice_gets_both_gradients() -> None:
    # y = x * x: the gradient 2x arrives as x from each use.
    layer = MulLayer()
    layer.forward(3.0, 3.0)
    dx, dy = layer.backward(1.0)
    assert dx + dy == 6.0


def test_sum_to_shape_adds_up_broadcast_gradients() -> None:
    grad = np.arange(24.0).reshape(2, 3, 4)
    np.testing.assert_array_equal(sum_to_shape(grad, (3, 1)), grad.sum(axis=(0, 2))[:, None])
    np.testing.assert_array_equal(sum_to_shape(grad, ()), grad.sum())
    assert sum_to_shape(grad, (2, 3, 4)) is grad


def test_bad_input_is_named() -> None:
    with pytest.raises(TypeError, match="x must be a numpy array, received int"):
        MulLayer().forward(100, 2.0)
    with pytest.raises(TypeError, match="y must be a floating-point array, received dtype int64"):
        AddLayer().forward(1.0, np.array([1, 2]))
    with pytest.raises(ValueError, match=r"broadcast together.*\(3,\).*\(4,\)"):
        MulLayer().forward(np.zeros(3), np.zeros(4))
    with pytest.raises(RuntimeError, match="MulLayer.backward called before forward"):
        MulLayer().backward(1.0)
    layer = AddLayer()
    layer.forward(np.zeros(3), 1.0)
    with pytest.raises(ValueError, match=r"expected dout of shape \(3,\).*received \(2,\)"):
        layer.backward(np.zeros(2))
