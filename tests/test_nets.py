"""Tests for mitbadak.models: MultiLayerNet and SimpleConvNet.

Their training steps are compared with PyTorch in test_torch_networks.py, which imports
``small_mlp`` from here.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

from mitbadak.dropout import Dropout
from mitbadak.gradcheck import gradient_check
from mitbadak.models import MultiLayerNet, Network, SimpleConvNet
from mitbadak.numerical import numerical_gradient


def small_mlp(**kw: object) -> MultiLayerNet:
    return MultiLayerNet(20, [8, 6], 4, rng=np.random.default_rng(1), **kw)  # type: ignore[arg-type]


def small_convnet(**kw: object) -> SimpleConvNet:
    return SimpleConvNet(
        (1, 8, 8),
        {"filter_num": 3, "filter_size": 3},
        5,
        4,
        weight_init="he",
        rng=np.random.default_rng(2),
        **kw,  # type: ignore[arg-type]
    )


def rebuild(net: Network) -> Network:
    """What a loader does: constructor from JSON config, then params and buffers by name."""
    config = json.loads(json.dumps(net.config()))
    clone = type(net).from_config(config, rng=np.random.default_rng(0))
    for name in net.params:
        clone.params[name] = net.params[name].copy()
    for lname, layer in net.layers.items():
        for key, value in layer.buffers.items():
            clone.layers[lname].buffers[key] = value.copy()
    return clone


# --- MultiLayerNet -----------------------------------------------------------


def test_multilayernet_layers_and_names_follow_the_book() -> None:
    net = MultiLayerNet(
        10, [7, 5], 3, use_batchnorm=True, dropout_ratio=0.2, rng=np.random.default_rng(0)
    )
    assert list(net.layers) == [
        "Affine1",
        "BatchNorm1",
        "Relu1",
        "Dropout1",
        "Affine2",
        "BatchNorm2",
        "Relu2",
        "Dropout2",
        "Affine3",
    ]
    shapes = {name: net.params[name].shape for name in net.params}
    assert shapes == {
        "W1": (10, 7),
        "b1": (7,),
        "gamma1": (7,),
        "beta1": (7,),
        "W2": (7, 5),
        "b2": (5,),
        "gamma2": (5,),
        "beta2": (5,),
        "W3": (5, 3),
        "b3": (3,),
    }
    assert all(net.params[name].dtype == np.float32 for name in net.params)
    plain = MultiLayerNet(10, [7], 3, activation="sigmoid", rng=np.random.default_rng(0))
    assert list(plain.layers) == ["Affine1", "Sigmoid1", "Affine2"]
    assert list(MultiLayerNet(10, [], 3).layers) == ["Affine1"]
    # Each Dropout layer draws from its own child generator.
    d1, d2 = net.layers["Dropout1"], net.layers["Dropout2"]
    assert isinstance(d1, Dropout) and isinstance(d2, Dropout)
    assert d1.rng is not d2.rng
    assert d1.rng.bit_generator.state != d2.rng.bit_generator.state


@pytest.mark.parametrize(
    ("weight_init", "std"),
    [
        ("relu", math.sqrt(2 / 400)),
        ("he", math.sqrt(2 / 400)),
        ("sigmoid", math.sqrt(1 / 400)),
        ("xavier", math.sqrt(1 / 400)),
        (0.05, 0.05),
    ],
)
def test_multilayernet_weight_init(weight_init: str | float, std: float) -> None:
    net = MultiLayerNet(400, [300], 10, weight_init=weight_init, rng=np.random.default_rng(0))
    w = net.params["W1"]
    # Relative standard error of a sample std is 1 / sqrt(2 n); allow 5 of those.
    assert abs(float(w.std()) / std - 1) < 5 / math.sqrt(2 * w.size)
    np.testing.assert_array_equal(net.params["b1"], 0)


def test_weight_decay_enters_loss_and_gradient() -> None:
    rng = np.random.default_rng(3)
    x, t = rng.standard_normal((6, 20)), rng.integers(0, 4, 6)
    lam = 0.3
    plain = small_mlp(use_batchnorm=True).astype(np.float64)
    decayed = small_mlp(use_batchnorm=True, weight_decay_lambda=lam).astype(np.float64)
    weights = ["W1", "W2", "W3"]
    penalty = 0.5 * lam * sum(float(np.sum(plain.params[w] ** 2)) for w in weights)
    assert decayed.weight_decay_penalty() == pytest.approx(penalty, rel=1e-12)
    assert decayed.loss(x, t) == pytest.approx(plain.loss(x, t) + penalty, rel=1e-12)
    loss_p, grads_p = plain.loss_and_gradient(x, t)
    loss_d, grads_d = decayed.loss_and_gradient(x, t)
    assert loss_d == pytest.approx(loss_p + penalty, rel=1e-12)
    for name in plain.params:
        expected = grads_p[name] + (lam * plain.params[name] if name in weights else 0)
        np.testing.assert_allclose(grads_d[name], expected, rtol=1e-12, atol=1e-15)
        # The net's own grads view agrees with what was returned.
        np.testing.assert_array_equal(decayed.grads[name], grads_d[name])


@pytest.mark.parametrize(
    "kwargs",
    [
        {"use_batchnorm": True, "weight_decay_lambda": 0.1},
        {"use_batchnorm": True, "dropout_ratio": 0.3, "weight_decay_lambda": 0.1},
        {"dropout_ratio": 0.5},
        {"activation": "sigmoid", "weight_init": "sigmoid"},
    ],
)
def test_multilayernet_gradient_check(kwargs: dict[str, object]) -> None:
    rng = np.random.default_rng(4)
    x, t = rng.standard_normal((6, 20)), rng.integers(0, 4, 6)
    results = gradient_check(small_mlp(**kwargs), x, t)
    assert set(results) == set(small_mlp(**kwargs).params)
    # Central differences with h = 1e-4 have O(h²) truncation error, which
    # batch norm's curvature brings to ~1e-8; a wrong backprop is off by O(1).
    # A bias right before batch norm has a true gradient of exactly 0 (the mean is
    # subtracted again); there both sides are rounding noise of ~1e-12 and only the
    # absolute difference means anything.
    for name, result in results.items():
        assert result.mean_abs_diff < 1e-6, (name, result)
        assert result.max_rel_error < 1e-4 or result.max_abs_diff < 1e-10, (name, result)


def test_inference_mode_numerical_gradient_would_not_match_batchnorm() -> None:
    # Why numerical_gradient evaluates the training-mode loss: backprop differentiates
    # it (batch statistics), while the inference loss (running statistics) is a
    # different function.
    rng = np.random.default_rng(5)
    x, t = rng.standard_normal((6, 20)) * 3 + 1, rng.integers(0, 4, 6)
    net = small_mlp(use_batchnorm=True).astype(np.float64)
    backprop = net.gradient(x, t)
    inference = numerical_gradient(lambda _: net.loss(x, t), net.params["W3"])
    assert np.abs(backprop["W3"] - inference).max() > 1e-3
    train_mode = net.numerical_gradient(x, t)
    np.testing.assert_allclose(backprop["W3"], train_mode["W3"], rtol=1e-5, atol=1e-9)


def test_numerical_gradient_leaves_buffers_and_generators_alone() -> None:
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((5, 20)), rng.integers(0, 4, 5)
    net = small_mlp(use_batchnorm=True, dropout_ratio=0.4).astype(np.float64)
    net.gradient(x, t)
    buffers = {
        (lname, key): value.copy()
        for lname, layer in net.layers.items()
        for key, value in layer.buffers.items()
    }
    dropout = net.layers["Dropout1"]
    assert isinstance(dropout, Dropout)
    state, last = dropout.rng.bit_generator.state, dropout.last_rng_state
    net.numerical_gradient(x, t)
    for (lname, key), value in buffers.items():
        np.testing.assert_array_equal(net.layers[lname].buffers[key], value)
    assert dropout.rng.bit_generator.state == state
    assert dropout.last_rng_state == last


def test_numerical_gradient_of_a_float32_net_is_computed_in_float64() -> None:
    # In float32, (f(w+h) - f(w-h)) / 2h keeps about 3 digits of a gradient near 1e-3;
    # a float64 copy of the net (dropout masks and batch statistics replayed) keeps them.
    rng = np.random.default_rng(16)
    x, t = rng.standard_normal((5, 20)).astype(np.float32), rng.integers(0, 4, 5)
    net = small_mlp(use_batchnorm=True, dropout_ratio=0.3)
    backprop = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    assert net.dtype == np.float32
    assert all(numerical[name].dtype == np.float64 for name in numerical)
    for name in net.params:
        # float32 backprop against float64 differences: only float32 rounding remains.
        assert np.abs(backprop[name] - numerical[name]).max() < 1e-6, name

    # What the same central differences give when taken in float32 instead.
    plain = small_mlp()
    backprop = plain.gradient(x, t)
    in_float32 = numerical_gradient(lambda _: plain.loss(x, t), plain.params["W3"])
    in_float64 = plain.numerical_gradient(x, t)["W3"]
    error32 = np.abs(backprop["W3"] - in_float32).max()
    error64 = np.abs(backprop["W3"] - in_float64).max()
    assert error32 > 100 * error64, (error32, error64)


def test_seeded_nets_are_reproducible() -> None:
    rng = np.random.default_rng(7)
    x, t = rng.standard_normal((8, 20)).astype(np.float32), rng.integers(0, 4, 8)
    a, b = small_mlp(dropout_ratio=0.5), small_mlp(dropout_ratio=0.5)
    ga, gb = a.gradient(x, t), b.gradient(x, t)
    for name in a.params:
        np.testing.assert_array_equal(ga[name], gb[name])


def test_multilayernet_rebuilds_from_config() -> None:
    rng = np.random.default_rng(9)
    net = MultiLayerNet(
        12,
        [9, 7],
        3,
        activation="relu",
        weight_init=0.1,
        weight_decay_lambda=0.01,
        use_batchnorm=True,
        dropout_ratio=0.25,
        rng=np.random.default_rng(1),
    )
    for _ in range(3):  # move the running statistics away from their start
        _, grads = net.loss_and_gradient(rng.standard_normal((8, 12)), rng.integers(0, 3, 8))
        for name in net.params:
            net.params[name] -= 0.1 * grads[name]
    config = net.config()
    assert config == {
        "input_size": 12,
        "hidden_size_list": [9, 7],
        "output_size": 3,
        "activation": "relu",
        "weight_init": 0.1,
        "weight_decay_lambda": 0.01,
        "use_batchnorm": True,
        "dropout_ratio": 0.25,
    }
    clone = rebuild(net)
    assert isinstance(clone, MultiLayerNet)
    assert list(clone.layers) == list(net.layers)
    x = rng.standard_normal((5, 12)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x), net.predict(x))
    assert clone.config() == config


def test_multilayernet_validates() -> None:
    cases: list[tuple[dict[str, object], type[Exception], str]] = [
        ({"input_size": 0}, ValueError, "input_size must be a positive integer, received"),
        ({"hidden_size_list": [5, 0]}, ValueError, r"hidden_size_list\[1\] must be a positive"),
        ({"hidden_size_list": 5}, TypeError, "hidden_size_list must be a list.*received int"),
        ({"activation": "tanh"}, ValueError, r"activation must be one of \['relu', 'sigmoid'\]"),
        ({"weight_init": "normal"}, ValueError, "weight_init must be one of.*received 'normal'"),
        ({"weight_init": -1.0}, ValueError, "weight_init must be one of.*received -1.0"),
        ({"weight_decay_lambda": -0.1}, ValueError, "weight_decay_lambda must be a non-negative"),
        (
            {"dropout_ratio": 1.0},
            ValueError,
            r"dropout_ratio must be a number in the interval \[0, 1\)",
        ),
        ({"use_batchnorm": 1}, TypeError, "use_batchnorm must be True or False, received 1"),
        ({"rng": 0}, TypeError, "rng must be a numpy.random.Generator, received int"),
        ({"dtype": np.int32}, TypeError, "floating-point type, received int32"),
    ]
    for override, error, message in cases:
        kwargs: dict[str, object] = {"input_size": 4, "hidden_size_list": [3], "output_size": 2}
        kwargs.update(override)
        with pytest.raises(error, match=message):
            MultiLayerNet(**kwargs)  # type: ignore[arg-type]


# --- SimpleConvNet -----------------------------------------------------------


def test_simpleconvnet_has_the_books_shapes() -> None:
    net = SimpleConvNet(rng=np.random.default_rng(0))
    shapes = {name: net.params[name].shape for name in net.params}
    assert shapes == {
        "W1": (30, 1, 5, 5),
        "b1": (30,),
        "W2": (30 * 12 * 12, 100),
        "b2": (100,),
        "W3": (100, 10),
        "b3": (10,),
    }
    assert list(net.layers) == [
        "Conv1", "Relu1", "Pool1", "Flatten1", "Affine1", "Relu2", "Affine2"
    ]  # fmt: skip
    assert abs(float(net.params["W2"].std()) - 0.01) < 1e-4
    # An odd convolution output (9x9 here) loses its last row and column to pooling.
    odd = SimpleConvNet((2, 10, 11), {"filter_num": 4, "filter_size": 2}, 6, 3)
    assert odd.params["W2"].shape == (4 * 4 * 5, 6)
    assert odd.predict(np.zeros((2, 2, 10, 11))).shape == (2, 3)


def test_simpleconvnet_gradient_check() -> None:
    rng = np.random.default_rng(10)
    x, t = rng.standard_normal((3, 1, 8, 8)), rng.integers(0, 4, 3)
    results = gradient_check(small_convnet(), x, t)
    assert set(results) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    # Central differences with h = 1e-4 have O(h²) truncation error, which
    # batch norm's curvature brings to ~1e-8; a wrong backprop is off by O(1).
    # A bias right before batch norm has a true gradient of exactly 0 (the mean is
    # subtracted again); there both sides are rounding noise of ~1e-12 and only the
    # absolute difference means anything.
    for name, result in results.items():
        assert result.mean_abs_diff < 1e-6, (name, result)
        assert result.max_rel_error < 1e-4 or result.max_abs_diff < 1e-10, (name, result)


def test_simpleconvnet_accepts_flattened_images() -> None:
    net = small_convnet()
    x = np.random.default_rng(12).random((5, 1, 8, 8)).astype(np.float32)
    np.testing.assert_array_equal(net.predict(x.reshape(5, 64)), net.predict(x))
    t = np.arange(5) % 4
    assert net.accuracy(x.reshape(5, 64), t) == net.accuracy(x, t)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\) or flattened \(N, 64\).*\(5, 63\)"):
        net.predict(np.zeros((5, 63), np.float32))
    with pytest.raises(ValueError, match=r"received \(5, 2, 8, 8\)"):
        net.predict(np.zeros((5, 2, 8, 8), np.float32))


def test_simpleconvnet_rebuilds_from_config() -> None:
    net = SimpleConvNet(
        (1, 10, 10),
        {"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 2},
        6,
        4,
        0.1,
        rng=np.random.default_rng(13),
    )
    config = net.config()
    assert config == {
        "input_dim": [1, 10, 10],
        "conv_param": {"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 2},
        "hidden_size": 6,
        "output_size": 4,
        "weight_init_std": 0.1,
        "weight_init": None,
    }
    clone = rebuild(net)
    x = np.random.default_rng(14).random((3, 1, 10, 10)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(x), net.predict(x))
    # Partial conv_param takes the book's values for the rest.
    partial = SimpleConvNet(conv_param={"filter_num": 8}, rng=np.random.default_rng(0))
    assert partial.conv_param == {"filter_num": 8, "filter_size": 5, "pad": 0, "stride": 1}


def test_simpleconvnet_validates() -> None:
    with pytest.raises(ValueError, match=r"input_dim must be \(C, H, W\), received \(28, 28\)"):
        SimpleConvNet((28, 28))
    with pytest.raises(ValueError, match=r"unknown keys \['filter_count'\]"):
        SimpleConvNet(conv_param={"filter_count": 3})
    with pytest.raises(ValueError, match="pad must be an integer >= 0, received pad=-1"):
        SimpleConvNet(conv_param={"pad": -1})
    with pytest.raises(
        ValueError, match=r"input_dim \(1, 5, 5\) is too small.*output would be 1x1"
    ):
        SimpleConvNet((1, 5, 5))
    with pytest.raises(
        ValueError, match="weight_init_std must be a positive number, received weight_init_std=0"
    ):
        SimpleConvNet(weight_init_std=0)
    with pytest.raises(ValueError, match="received weight_init_std='he'; pass a scheme name"):
        SimpleConvNet(weight_init_std="he")  # type: ignore[arg-type]


# --- Learning on real data ---------------------------------------------------


def test_simpleconvnet_learns_fashion_mnist(fashion_dir: Path) -> None:
    from mitbadak.data import load_mnist

    (x_train, t_train), (x_test, t_test) = load_mnist(
        flatten=False, dataset="fashion-mnist", data_dir=fashion_dir, download=False
    )
    x_train, t_train = x_train[:2000], t_train[:2000]
    x_test, t_test = x_test[:1000], t_test[:1000]

    rng = np.random.default_rng(0)
    # He initialisation: with the book's 0.01 plain SGD needs many more steps.
    net = SimpleConvNet(weight_init="he", rng=np.random.default_rng(0))
    lr = 0.1
    # One thread: two tests on a 2-core box must not fight over BLAS threads.
    with threadpool_limits(1):
        for _ in range(100):
            batch = rng.choice(len(x_train), 100, replace=False)
            _, grads = net.loss_and_gradient(x_train[batch], t_train[batch])
            for name in net.params:
                net.params[name] -= lr * grads[name]
        accuracy = net.accuracy(x_test, t_test)
    # Measured 0.777 with this seed (0.765-0.789 over seeds 0-2); chance is 0.1.
    # The floor leaves room for BLAS rounding differences across machines.
    assert accuracy > 0.70
