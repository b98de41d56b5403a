"""Tests for mitbadak.layers: the layer contract, hand-computed values and bad input."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from layer_contract import assert_layer_contract
from mitbadak.gradcheck import check_layer
from mitbadak.layers import Affine, Layer, Relu, Sigmoid, SoftmaxWithLoss


def away_from_zero(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Values with |x| in [0.1, 2): a central difference with h=1e-6 never crosses a kink."""
    return rng.uniform(0.1, 2.0, size=shape) * rng.choice([-1.0, 1.0], size=shape)


def make_affine(d: int, m: int, dtype: type[np.floating] = np.float32, seed: int = 0) -> Affine:
    rng = np.random.default_rng(seed)
    return Affine(rng.standard_normal((d, m)).astype(dtype), rng.standard_normal(m).astype(dtype))


# Each case: a layer factory and the input shape it is exercised with.
CONTRACT_CASES: dict[str, tuple[Callable[[type[np.floating]], Layer], tuple[int, ...]]] = {
    "Relu": (lambda dt: Relu(), (4, 5)),
    "Relu-4d": (lambda dt: Relu(), (2, 3, 2, 2)),
    "Sigmoid": (lambda dt: Sigmoid(), (4, 5)),
    "Affine": (lambda dt: make_affine(5, 3, dt), (4, 5)),
    "Affine-nchw": (lambda dt: make_affine(2 * 3 * 2, 4, dt), (3, 2, 3, 2)),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", list(CONTRACT_CASES))
def test_layer_contract(case: str, dtype: type[np.floating]) -> None:
    factory, shape = CONTRACT_CASES[case]
    x = away_from_zero(np.random.default_rng(42), shape).astype(dtype)
    layer = factory(dtype)
    assert_layer_contract(layer, x, train=True)
    assert_layer_contract(factory(dtype), x, train=False)


@pytest.mark.parametrize("labels", ["integer", "one-hot"])
def test_softmax_with_loss_passes_the_gradient_check(labels: str) -> None:
    rng = np.random.default_rng(7)
    x = rng.normal(0.0, 2.0, size=(5, 4))
    indices = rng.integers(0, 4, size=5)
    t = np.eye(4)[indices] if labels == "one-hot" else indices
    results = check_layer(SoftmaxWithLoss(), x, t)
    assert set(results) == {"x"}
    assert results["x"].max_abs_diff < 1e-8


def test_softmax_with_loss_float32_keeps_dtype() -> None:
    x = np.random.default_rng(8).normal(size=(3, 4)).astype(np.float32)
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, np.array([0, 1, 2]))
    assert isinstance(loss, float)
    assert layer.backward().dtype == np.float32
    layer.forward(x, np.eye(4, dtype=np.int64)[[0, 1, 2]])
    assert layer.backward().dtype == np.float32


# --- values computed by hand ----------------------------------------------------------


def test_relu_values_and_mask_like_the_book() -> None:
    layer = Relu()
    x = np.array([[1.0, -0.5], [-2.0, 3.0]])
    np.testing.assert_array_equal(layer.forward(x), [[1.0, 0.0], [0.0, 3.0]])
    dout = np.array([[10.0, 20.0], [30.0, 40.0]])
    np.testing.assert_array_equal(layer.backward(dout), [[10.0, 0.0], [0.0, 40.0]])
    np.testing.assert_array_equal(dout, [[10.0, 20.0], [30.0, 40.0]])


def test_relu_passes_no_gradient_at_zero() -> None:
    layer = Relu()
    layer.forward(np.array([0.0, -0.0]))
    np.testing.assert_array_equal(layer.backward(np.array([1.0, 1.0])), [0.0, 0.0])


def test_sigmoid_backward_is_dout_times_y_times_one_minus_y() -> None:
    layer = Sigmoid()
    x = np.array([-1.0, 0.0, 2.0])
    y = layer.forward(x)
    np.testing.assert_allclose(y, 1 / (1 + np.exp(-x)), rtol=1e-15)
    dout = np.array([1.0, 2.0, 3.0])
    np.testing.assert_allclose(layer.backward(dout), dout * (1 - y) * y, rtol=1e-15)


def test_sigmoid_layer_saturates_without_overflow() -> None:
    layer = Sigmoid()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        y = layer.forward(np.array([800.0, -800.0], dtype=np.float32))
        dx = layer.backward(np.ones(2, dtype=np.float32))
    np.testing.assert_array_equal(y, [1.0, 0.0])
    np.testing.assert_array_equal(dx, [0.0, 0.0])


def test_affine_values_like_the_book() -> None:
    W = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    b = np.array([0.5, -0.5, 1.0])
    layer = Affine(W, b)
    x = np.array([[1.0, 1.0], [2.0, -1.0]])
    np.testing.assert_allclose(layer.forward(x), x @ W + b)
    dout = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    np.testing.assert_allclose(layer.backward(dout), dout @ W.T)
    np.testing.assert_allclose(layer.dW, x.T @ dout)
    np.testing.assert_allclose(layer.db, dout.sum(axis=0))
    assert layer.dW is layer.grads["W"] and layer.db is layer.grads["b"]


def test_affine_flattens_images_and_returns_dx_in_their_shape() -> None:
    layer = make_affine(2 * 3 * 4, 5, np.float64)
    x = np.random.default_rng(9).normal(size=(2, 2, 3, 4))
    out = layer.forward(x)
    assert out.shape == (2, 5)
    np.testing.assert_allclose(out, x.reshape(2, -1) @ layer.W + layer.b)
    dx = layer.backward(np.ones((2, 5)))
    assert dx.shape == x.shape
    np.testing.assert_allclose(layer.dW, x.reshape(2, -1).T @ np.ones((2, 5)))


def test_affine_backward_params_fills_grads_like_backward() -> None:
    x = np.random.default_rng(10).normal(size=(3, 4))
    dout = np.random.default_rng(11).normal(size=(3, 2))
    full, params_only = make_affine(4, 2, np.float64), make_affine(4, 2, np.float64)
    full.forward(x)
    full.backward(dout)
    params_only.forward(x)
    params_only.backward_params(dout)
    np.testing.assert_array_equal(params_only.dW, full.dW)
    np.testing.assert_array_equal(params_only.db, full.db)


def test_affine_attributes_are_the_params_dict() -> None:
    layer = make_affine(3, 2)
    assert layer.W is layer.params["W"] and layer.b is layer.params["b"]
    layer.params["W"] -= 1.0
    assert layer.W is layer.params["W"]


def test_softmax_with_loss_forward_and_backward_values() -> None:
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    t = np.array([2, 0])
    y = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    assert loss == pytest.approx(-(np.log(y[0, 2]) + np.log(y[1, 0])) / 2, rel=1e-14)
    np.testing.assert_allclose(layer.backward(), (y - np.eye(3)[t]) / 2, rtol=1e-14)
    np.testing.assert_allclose(layer.backward(3.0), 3 * (y - np.eye(3)[t]) / 2, rtol=1e-14)
    assert layer.forward(x, np.eye(3)[t]) == pytest.approx(loss, rel=1e-14)
    np.testing.assert_allclose(layer.backward(), (y - np.eye(3)[t]) / 2, rtol=1e-14)


def test_softmax_with_loss_of_a_confident_wrong_answer() -> None:
    layer = SoftmaxWithLoss()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss = layer.forward(np.array([[1000.0, 0.0]]), np.array([1]))
        dx = layer.backward()
    assert loss == pytest.approx(1000.0)
    np.testing.assert_allclose(dx, [[1.0, -1.0]])


def test_layer_astype_is_a_deep_copy() -> None:
    layer = make_affine(3, 2, np.float32)
    clone = layer.astype(np.float64)
    assert clone.W.dtype == np.float64 and clone.dW.dtype == np.float64
    clone.W[...] = 0.0
    assert np.all(layer.W != 0.0)
    assert layer.W.dtype == np.float32


def test_repr_shows_parameter_shapes() -> None:
    assert "W=(3, 2)" in repr(make_affine(3, 2))
    assert repr(Relu()) == "Relu()"


# --- bad input ------------------------------------------------------------------------


def test_affine_rejects_one_dimensional_W() -> None:
    with pytest.raises(ValueError, match=r"W must have 2 dimension\(s\), received shape \(3,\)"):
        Affine(np.zeros(3), np.zeros(3))


def test_affine_rejects_b_of_the_wrong_length() -> None:
    with pytest.raises(ValueError, match=r"b must have shape \(2,\).*received \(3,\)"):
        Affine(np.zeros((3, 2)), np.zeros(3))


def test_affine_rejects_mismatched_dtypes() -> None:
    with pytest.raises(TypeError, match="float32 and float64"):
        Affine(np.zeros((3, 2), dtype=np.float32), np.zeros(2, dtype=np.float64))


def test_affine_rejects_integer_W() -> None:
    with pytest.raises(TypeError, match="W must be a floating-point array, received dtype int"):
        Affine(np.zeros((3, 2), dtype=np.int64), np.zeros(2))


def test_affine_rejects_non_finite_W() -> None:
    with pytest.raises(ValueError, match="NaN or inf"):
        Affine(np.full((3, 2), np.nan), np.zeros(2))


def test_affine_rejects_a_list() -> None:
    with pytest.raises(TypeError, match="W must be a numpy array, received list"):
        Affine([[1.0, 2.0]], np.zeros(2))  # type: ignore[arg-type]


def test_affine_forward_rejects_the_wrong_feature_count() -> None:
    layer = make_affine(4, 2)
    with pytest.raises(ValueError, match=r"4 features.*received input of shape \(3, 5\)"):
        layer.forward(np.zeros((3, 5), dtype=np.float32))


def test_affine_forward_rejects_one_dimensional_x() -> None:
    layer = make_affine(4, 2)
    with pytest.raises(ValueError, match=r"received shape \(4,\)"):
        layer.forward(np.zeros(4, dtype=np.float32))


@pytest.mark.parametrize("layer", [Relu(), Sigmoid(), make_affine(2, 2)], ids=repr)
def test_forward_rejects_lists_and_integers(layer: Layer) -> None:
    with pytest.raises(TypeError, match="x must be a numpy array, received list"):
        layer.forward([[1.0, 2.0]])  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="received dtype int64"):
        layer.forward(np.array([[1, 2]], dtype=np.int64))


def test_softmax_with_loss_rejects_labels_out_of_range() -> None:
    x = np.zeros((2, 10))
    with pytest.raises(ValueError, match="received a label of 10"):
        SoftmaxWithLoss().forward(x, np.array([0, 10]))
    with pytest.raises(ValueError, match="received a label of -1"):
        SoftmaxWithLoss().forward(x, np.array([-1, 0]))


def test_softmax_with_loss_rejects_mismatched_batch_sizes() -> None:
    with pytest.raises(ValueError, match="got 2 score rows but 3 labels"):
        SoftmaxWithLoss().forward(np.zeros((2, 4)), np.array([0, 1, 2]))


def test_softmax_with_loss_rejects_one_hot_of_the_wrong_shape() -> None:
    with pytest.raises(ValueError, match=r"\(2, 4\), received \(2, 3\)"):
        SoftmaxWithLoss().forward(np.zeros((2, 4)), np.zeros((2, 3)))


def test_softmax_with_loss_rejects_float_labels() -> None:
    with pytest.raises(TypeError, match="received dtype float64"):
        SoftmaxWithLoss().forward(np.zeros((2, 4)), np.array([0.0, 1.0]))


def test_softmax_with_loss_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError, match=r"received \(2, 4, 1\)"):
        SoftmaxWithLoss().forward(np.zeros((2, 4, 1)), np.array([0, 1]))
    with pytest.raises(ValueError, match=r"received \(2, 4, 1\)"):
        SoftmaxWithLoss().forward(np.zeros((2, 4)), np.zeros((2, 4, 1)))


@pytest.mark.parametrize(
    "layer", [Relu(), Sigmoid(), make_affine(3, 2, np.float64)], ids=lambda layer: repr(layer)
)
def test_backward_rejects_dout_of_the_wrong_shape(layer: Layer) -> None:
    out = layer.forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match=rf"{out.shape}.*received \(4, 5\)"):
        layer.backward(np.ones((4, 5)))


@pytest.mark.parametrize(
    "layer", [Relu(), Sigmoid(), make_affine(3, 2), SoftmaxWithLoss()], ids=repr
)
def test_backward_before_forward_is_a_runtime_error(layer: Layer | SoftmaxWithLoss) -> None:
    with pytest.raises(RuntimeError, match=f"{type(layer).__name__}.backward called before"):
        layer.backward(np.ones((2, 2)))  # type: ignore[arg-type]
