"""mitbadak.book's functions, layers, gradient and optimizers, used as the book uses them.

Each test is a small piece of chapter 3-7 style code written against the book's API
(in our own words), checked against numbers worked out by hand or against mitbadak's
own modules.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np
import pytest

from mitbadak import layers as core_layers
from mitbadak import serialization
from mitbadak.book import functions as F
from mitbadak.book.gradient import numerical_gradient
from mitbadak.book.layer_naive import AddLayer, MulLayer
from mitbadak.book.layers import (
    Affine,
    BatchNormalization,
    Convolution,
    Dropout,
    Pooling,
    Relu,
    SoftmaxWithLoss,
)
from mitbadak.book.optimizer import SGD, AdaGrad, Adam, Momentum
from mitbadak.book.util import col2im, im2col, shuffle_dataset, smooth_curve

# --- chapter 5: the shop's computational graph ------------------------------------------


def test_two_apples_and_three_oranges_with_tax() -> None:
    apples, oranges, tax = MulLayer(), MulLayer(), MulLayer()
    basket = AddLayer()
    total = tax.forward(basket.forward(apples.forward(100, 2), oranges.forward(150, 3)), 1.1)
    assert round(total, 6) == 715.0 and isinstance(total, float)
    d_basket, d_tax = tax.backward(1)
    d_apple_total, d_orange_total = basket.backward(d_basket)
    d_apple, d_apple_count = apples.backward(d_apple_total)
    d_orange, d_orange_count = oranges.backward(d_orange_total)
    got = [d_apple, d_apple_count, d_orange, d_orange_count, d_tax]
    np.testing.assert_allclose(got, [2.2, 110.0, 3.3, 165.0, 650.0])
    # Arrays broadcast as in mitbadak.graph: one price for a row of quantities.
    node = MulLayer()
    np.testing.assert_allclose(node.forward(np.array([1, 2, 3]), 10), [10.0, 20.0, 30.0])
    assert node.backward(np.ones(3))[1] == 6.0


# --- chapter 3-4: functions and the numerical gradient ----------------------------------


def test_functions_take_what_the_book_passes() -> None:
    assert F.step_function(np.array([-1, 0, 2])).tolist() == [0, 0, 1]
    np.testing.assert_allclose(F.sigmoid([0, 0]), [0.5, 0.5])
    np.testing.assert_allclose(F.sigmoid_grad(np.array([0.0])), [0.25])
    assert F.relu_grad(np.array([-1.0, 0.0, 3.0])).tolist() == [0.0, 1.0, 1.0]
    np.testing.assert_allclose(F.relu([-2, 5]), [0.0, 5.0])
    y = F.softmax(np.array([0.3, 2.9, 4.0]))
    assert y.sum() == pytest.approx(1.0) and y.argmax() == 2
    # One sample against an integer one-hot vector, a label, or a column of labels.
    assert F.cross_entropy_error(y, np.array([0, 0, 1])) == pytest.approx(-np.log(y[2]))
    assert F.cross_entropy_error(y, 2) == pytest.approx(-np.log(y[2]))
    batch = np.stack([y, y[::-1]])
    expected = -(np.log(y[2]) + np.log(y[0])) / 2
    assert F.cross_entropy_error(batch, np.array([[2], [2]])) == pytest.approx(expected)
    assert F.softmax_loss(np.log(batch), [2, 2]) == pytest.approx(expected)
    assert F.sum_squared_error([0.1, 0.9], [0, 1]) == pytest.approx(0.01)
    # The book's mean_squared_error is the same 0.5 * sum, not divided by N.
    assert F.mean_squared_error([[0.1, 0.9], [1.0, 0.0]], [[0, 1], [0, 1]]) == pytest.approx(1.01)
    assert F.identity_function("anything") == "anything"


def test_numerical_gradient_of_a_weight_matrix_read_through_a_closure() -> None:
    # The chapter-4 pattern: f ignores its argument and reads W through the model.
    rng = np.random.default_rng(0)
    W = rng.standard_normal((2, 3))
    x, t = np.array([0.6, 0.9]), np.array([0, 0, 1])

    def loss(_: np.ndarray) -> float:
        return F.cross_entropy_error(F.softmax(x @ W), t)

    dW = numerical_gradient(loss, W)
    analytic = np.outer(x, F.softmax(x @ W) - t)
    np.testing.assert_allclose(dW, analytic, atol=1e-8)
    assert dW.sum() == pytest.approx(0.0, abs=1e-8)  # softmax's rows sum to one


# --- chapter 5-7: layers ----------------------------------------------------------------


def test_a_network_typed_in_the_books_style_learns() -> None:
    # A params dict shared with Affine layers kept in an OrderedDict, updated with -=.
    rng = np.random.default_rng(1)
    params = {
        "W1": 0.5 * rng.standard_normal((2, 8)),
        "b1": np.zeros(8),
        "W2": 0.5 * rng.standard_normal((8, 2)),
        "b2": np.zeros(2),
    }
    net: OrderedDict[str, object] = OrderedDict(
        affine1=Affine(params["W1"], params["b1"]),
        relu=Relu(),
        affine2=Affine(params["W2"], params["b2"]),
    )
    last = SoftmaxWithLoss()
    x = rng.standard_normal((64, 2))
    t = (x[:, 0] * x[:, 1] > 0).astype(int).reshape(-1, 1)  # XOR-like labels, (N, 1)

    def forward(inputs: np.ndarray) -> np.ndarray:
        for layer in net.values():
            inputs = layer.forward(inputs)  # type: ignore[attr-defined]
        return inputs

    first = last.forward(forward(x), t)
    for _ in range(300):
        last.forward(forward(x), t)
        dout = last.backward(1)
        for layer in reversed(net.values()):
            dout = layer.backward(dout)  # type: ignore[attr-defined]
        for name, layer in (("1", net["affine1"]), ("2", net["affine2"])):
            params["W" + name] -= 0.3 * layer.dW  # type: ignore[attr-defined]
            params["b" + name] -= 0.3 * layer.db  # type: ignore[attr-defined]
    assert last.forward(forward(x), t) < 0.5 * first
    assert (forward(x).argmax(axis=1) == t[:, 0]).mean() > 0.9


def test_weights_can_be_reassigned_as_the_books_load_params_does() -> None:
    layer = Affine(np.ones((3, 2)), np.zeros(2))
    layer.W = np.full((3, 2), 2.0)
    layer.b = [1, 1]
    np.testing.assert_allclose(layer.forward(np.ones((1, 3))), [[7.0, 7.0]])
    with pytest.raises(ValueError, match=r"W must keep shape \(3, 2\), received \(2, 2\)"):
        layer.W = np.ones((2, 2))


def test_convolution_with_a_scalar_bias_on_an_integer_image() -> None:
    # Chapter 7's filter demo: one filter, b=0, an image that may be integers.
    image = np.arange(16).reshape(1, 1, 4, 4)
    edge = np.array([[[[1.0, -1.0]]]])
    out = Convolution(edge, 0).forward(image)
    np.testing.assert_allclose(out, -np.ones((1, 1, 4, 3)))
    assert Convolution(np.ones((3, 1, 2, 2)), 0.5).b.tolist() == [0.5] * 3


def test_pooling_dropout_and_batchnorm_take_the_books_arguments() -> None:
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    assert Pooling(2, 2).forward(x).shape == (1, 1, 2, 2)  # stride 2 by default
    drop = Dropout(0.5, rng=np.random.default_rng(0))
    h = np.ones((50, 40))
    assert (drop.forward(h, False) == h).all()  # inference: positional flag
    kept = drop.forward(h, True)
    assert set(np.unique(kept)) == {0.0, 2.0}  # inverted dropout scales by 1/(1-p)
    assert isinstance(drop, Dropout)
    bn = BatchNormalization(np.ones(3), np.zeros(3))
    out = bn.forward(np.array([[1, 2, 3], [3, 4, 5]]), True)
    np.testing.assert_allclose(out.mean(axis=0), 0.0, atol=1e-12)
    assert bn.running_mean.tolist() == pytest.approx([0.2, 0.3, 0.4])


def test_softmax_with_loss_accepts_a_column_of_labels() -> None:
    scores = np.array([[2.0, 0.0, -1.0], [0.0, 3.0, 0.0]])
    a, b = SoftmaxWithLoss(), core_layers.SoftmaxWithLoss()
    assert a.forward(scores, np.array([[0], [1]])) == b.forward(scores, np.array([0, 1]))
    np.testing.assert_array_equal(a.backward(), b.backward())
    with pytest.raises(ValueError):
        b.forward(scores, np.array([[0], [1]]))  # mitbadak's own layer stays strict


def test_the_adapters_never_replace_mitbadaks_layers_when_loading(tmp_path: object) -> None:
    classes = serialization._layer_classes()
    assert classes["Affine"] is core_layers.Affine
    assert classes["Dropout"].__module__ == "mitbadak.dropout"


def test_im2col_in_the_books_layout() -> None:
    x = np.arange(2 * 3 * 4 * 4.0).reshape(2, 3, 4, 4)
    col = im2col(x, 2, 2, stride=2)
    assert col.shape == (2 * 2 * 2, 3 * 2 * 2)
    np.testing.assert_array_equal(col[0], x[0, :, :2, :2].ravel())  # first window, image 0
    np.testing.assert_array_equal(col[4], x[1, :, :2, :2].ravel())  # first window, image 1
    # Non-overlapping windows: col2im puts every value back where it came from.
    np.testing.assert_array_equal(col2im(col, x.shape, 2, 2, stride=2), x)


# --- chapter 6: optimizers on plain numbers, smoothing, shuffling -----------------------


@pytest.mark.parametrize(
    ("optimizer", "steps"),
    [(SGD(lr=0.95), 30), (Momentum(lr=0.1), 60), (AdaGrad(lr=1.5), 60), (Adam(lr=0.3), 60)],
)
def test_optimizers_walk_a_dict_of_floats_to_the_minimum(optimizer: object, steps: int) -> None:
    # f(x, y) = x**2 / 20 + y**2, from (-7, 2), as in the book's comparison of section 6.1.
    params: dict[str, float] = {"x": -7.0, "y": 2.0}
    for _ in range(steps):
        grads = {"x": params["x"] / 10.0, "y": 2.0 * params["y"]}
        optimizer.update(params, grads)  # type: ignore[attr-defined]
        assert isinstance(params["x"], float)
    assert abs(params["x"]) < 2.0 and abs(params["y"]) < 0.5


def test_optimizers_still_update_arrays_in_place() -> None:
    W = np.ones(3)
    SGD(lr=0.5).update({"W": W}, {"W": np.ones(3)})
    np.testing.assert_allclose(W, 0.5)


def test_util_smooth_curve_and_shuffle_dataset() -> None:
    assert smooth_curve([1.0] * 20).tolist() == pytest.approx([1.0] * 20)
    x, t = np.arange(8.0).reshape(8, 1), np.arange(8)
    xs, ts = shuffle_dataset(x, t)
    np.testing.assert_array_equal(xs[:, 0], ts)
