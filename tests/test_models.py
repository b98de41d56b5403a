"""Tests for mitbadak.models: the book's gradient check on real images, parameter
ownership, the book's API, bad arguments and a training run that learns."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest

from conftest import require_fashion
from mitbadak.gradcheck import gradient_check
from mitbadak.layers import Affine, Relu, SoftmaxWithLoss
from mitbadak.models import CLI_MODELS, BuildOptions, Sequential, TwoLayerNet

PARAM_SHAPES = {"W1": (4, 5), "b1": (5,), "W2": (5, 3), "b2": (3,)}


def first_training_images(folder: Path, n: int) -> tuple[np.ndarray, np.ndarray]:
    """The first n Fashion-MNIST training images as (n, 784) floats in [0, 1], and labels."""
    with gzip.open(folder / "train-images-idx3-ubyte.gz", "rb") as f:
        pixels = np.frombuffer(f.read(16 + n * 784), dtype=np.uint8, offset=16)
    with gzip.open(folder / "train-labels-idx1-ubyte.gz", "rb") as f:
        t = np.frombuffer(f.read(8 + n), dtype=np.uint8, offset=8)
    return pixels.reshape(n, 784) / 255.0, t.astype(np.int64)


def small_net(seed: int = 0, **kwargs: object) -> TwoLayerNet:
    return TwoLayerNet(4, 5, 3, weight_init_std=0.5, rng=np.random.default_rng(seed), **kwargs)  # type: ignore[arg-type]


def small_batch(seed: int = 1, n: int = 6) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 4)).astype(np.float32), rng.integers(0, 3, size=n)


def affine(net: Sequential, name: str) -> Affine:
    layer = net.layers[name]
    assert isinstance(layer, Affine)
    return layer


def manual_predict(net: TwoLayerNet, x: np.ndarray) -> np.ndarray:
    p = net.params
    return np.maximum(x @ p["W1"] + p["b1"], 0) @ p["W2"] + p["b2"]


# --- the book's gradient check, on real images ----------------------------------------


def test_backprop_matches_numerical_gradient_on_fashion_mnist_one_hot(fashion_dir: Path) -> None:
    x, t = first_training_images(fashion_dir, 3)
    assert x.shape == (3, 784) and 0.0 <= x.min() and x.max() <= 1.0
    net = TwoLayerNet(784, 50, 10, rng=np.random.default_rng(0), dtype=np.float64)
    results = gradient_check(net, x, np.eye(10)[t])
    assert set(results) == {"W1", "b1", "W2", "b2"}
    for name, result in results.items():
        assert result.mean_abs_diff <= 1e-8, f"{name}: {result}"
        assert result.max_abs_diff <= 1e-7, f"{name}: {result}"


def test_backprop_matches_net_numerical_gradient_with_integer_labels(fashion_dir: Path) -> None:
    x, t = first_training_images(fashion_dir, 3)
    net = TwoLayerNet(784, 50, 10, rng=np.random.default_rng(1), dtype=np.float64)
    numerical = net.numerical_gradient(x, t)
    backprop = net.gradient(x, t)
    assert set(numerical) == set(backprop) == {"W1", "b1", "W2", "b2"}
    for name in backprop:
        assert backprop[name].shape == numerical[name].shape == net.params[name].shape
        diff = float(np.mean(np.abs(backprop[name] - numerical[name])))
        assert diff <= 1e-8, f"{name}: mean abs difference {diff:.3e}"


def test_missing_fashion_mnist_fails_with_the_install_command(tmp_path: Path) -> None:
    with pytest.raises(pytest.fail.Exception, match="apt-get install -y dataset-fashion-mnist"):
        require_fashion(tmp_path)


# --- parameters -----------------------------------------------------------------------


def test_params_have_the_books_names_shapes_and_float32() -> None:
    net = small_net()
    assert list(net.params) == ["W1", "b1", "W2", "b2"]
    assert len(net.params) == 4
    for name, shape in PARAM_SHAPES.items():
        assert net.params[name].shape == shape
        assert net.params[name].dtype == np.float32
    assert net.dtype == np.float32
    np.testing.assert_array_equal(net.params["b1"], 0.0)
    np.testing.assert_array_equal(net.params["b2"], 0.0)


def test_the_books_layers_are_there() -> None:
    net = small_net()
    assert list(net.layers) == ["Affine1", "Relu1", "Affine2"]
    assert isinstance(net.layers["Affine1"], Affine)
    assert isinstance(net.layers["Relu1"], Relu)
    assert isinstance(net.last_layer, SoftmaxWithLoss)
    assert net.config() == {
        "input_size": 4,
        "hidden_size": 5,
        "output_size": 3,
        "weight_init_std": 0.5,
    }
    assert "Affine1" in repr(net) and "W1" in repr(net.params)


def test_weights_are_scaled_by_weight_init_std() -> None:
    net = TwoLayerNet(200, 100, 10, weight_init_std=0.01, rng=np.random.default_rng(2))
    assert float(np.std(net.params["W1"])) == pytest.approx(0.01, rel=0.05)


def test_float64_end_to_end() -> None:
    net = small_net(dtype=np.float64)
    x, t = small_batch()
    assert net.dtype == np.float64
    assert net.predict(x).dtype == np.float64  # float32 input is cast to the net's dtype
    assert isinstance(net.loss(x, t), float)
    grads = net.gradient(x, t)
    assert all(g.dtype == np.float64 for g in grads.values())
    assert all(net.params[name].dtype == np.float64 for name in net.params)


def test_in_place_updates_reach_the_layer() -> None:
    net = small_net()
    x, _ = small_batch()
    before = net.predict(x).copy()
    W1 = net.params["W1"]
    assert affine(net, "Affine1").W is W1
    net.params["W1"] -= 0.1
    assert net.params["W1"] is W1 and affine(net, "Affine1").W is W1
    after = net.predict(x)
    assert not np.allclose(after, before)
    np.testing.assert_allclose(after, manual_predict(net, x), rtol=1e-5, atol=1e-6)


def test_replacing_a_param_hands_the_new_array_to_the_layer() -> None:
    net = small_net()
    x, _ = small_batch()
    new = np.random.default_rng(3).normal(size=(4, 5)).astype(np.float32)
    net.params["W1"] = new
    assert net.params["W1"] is new
    assert affine(net, "Affine1").W is new
    expected = np.maximum(x @ new + net.params["b1"], 0) @ net.params["W2"] + net.params["b2"]
    np.testing.assert_allclose(net.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_replacing_a_param_with_another_dtype_casts_it() -> None:
    net = small_net()
    net.params["b1"] = np.ones(5)  # float64 in, the net stays float32
    assert net.params["b1"].dtype == np.float32
    np.testing.assert_array_equal(affine(net, "Affine1").b, 1.0)


def test_replacing_a_param_with_the_wrong_shape_is_refused() -> None:
    net = small_net()
    with pytest.raises(
        ValueError, match=r"params\['W1'\] must keep shape \(4, 5\), received \(5, 4\)"
    ):
        net.params["W1"] = np.zeros((5, 4), dtype=np.float32)
    assert net.params["W1"].shape == (4, 5)


def test_params_cannot_be_deleted_or_added() -> None:
    net = small_net()
    with pytest.raises(TypeError, match=r"cannot delete params\['W1'\]"):
        del net.params["W1"]
    with pytest.raises(KeyError, match="W3"):
        net.params["W3"] = np.zeros(3, dtype=np.float32)
    assert list(net.params) == ["W1", "b1", "W2", "b2"]


def test_gradient_has_the_keys_and_shapes_of_params() -> None:
    net = small_net()
    x, t = small_batch()
    grads = net.gradient(x, t)
    assert list(grads) == list(net.params)
    for name in net.params:
        assert grads[name].shape == net.params[name].shape
        assert grads[name].dtype == np.float32
        assert net.grads[name] is grads[name]


def test_loss_and_gradient_reports_the_loss_of_its_forward() -> None:
    net = small_net()
    x, t = small_batch()
    expected = net.loss(x, t, train=True)
    loss, grads = net.loss_and_gradient(x, t)
    assert loss == expected
    assert set(grads) == set(net.params)


def test_loss_matches_a_manual_computation() -> None:
    net = small_net(dtype=np.float64)
    x, t = small_batch()
    scores = manual_predict(net, x.astype(np.float64))
    logp = scores - np.log(np.exp(scores).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(len(t)), t].mean()
    assert net.loss(x, t) == pytest.approx(expected, rel=1e-12)
    assert net.loss(x, np.eye(3)[t]) == pytest.approx(expected, rel=1e-12)


def test_predict_flattens_images() -> None:
    net = small_net()
    x = np.random.default_rng(4).normal(size=(3, 1, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(net.predict(x), net.predict(x.reshape(3, 4)))


def test_accuracy_with_one_hot_integer_labels_and_chunks() -> None:
    net = small_net()
    x, _ = small_batch(n=11)
    predicted = net.predict(x).argmax(axis=1)
    t = predicted.copy()
    t[:4] = (t[:4] + 1) % 3  # four wrong, seven right
    assert net.accuracy(x, t) == pytest.approx(7 / 11)
    assert net.accuracy(x, np.eye(3)[t]) == pytest.approx(7 / 11)
    for batch_size in (1, 3, 4, 11, 100):
        assert net.accuracy(x, t, batch_size=batch_size) == pytest.approx(7 / 11)


def test_accuracy_rejects_bad_labels_and_batch_sizes() -> None:
    net = small_net()
    x, t = small_batch(n=6)
    with pytest.raises(ValueError, match=r"\(6,\) or \(6, C\).*received \(5,\)"):
        net.accuracy(x, t[:5])
    with pytest.raises(ValueError, match=r"received \(6, 1, 1\)"):
        net.accuracy(x, t.reshape(6, 1, 1))
    with pytest.raises(ValueError, match="batch_size must be positive, received 0"):
        net.accuracy(x, t, batch_size=0)
    with pytest.raises(ValueError, match="empty"):
        net.accuracy(x[:0], t[:0])


def test_predict_rejects_lists_and_strings() -> None:
    net = small_net()
    with pytest.raises(TypeError, match="x must be a numpy array, received list"):
        net.predict([[1.0, 2.0, 3.0, 4.0]])
    with pytest.raises(TypeError, match="<U1"):
        net.predict(np.array([["a", "b", "c", "d"]]))


def test_same_seed_gives_identical_params() -> None:
    a, b, c = small_net(seed=5), small_net(seed=5), small_net(seed=6)
    for name in a.params:
        np.testing.assert_array_equal(a.params[name], b.params[name])
    assert not np.array_equal(a.params["W1"], c.params["W1"])


def test_astype_is_a_deep_copy() -> None:
    net = small_net()
    W1_before = net.params["W1"].copy()
    clone = net.astype(np.float64)
    assert clone.dtype == np.float64 and net.dtype == np.float32
    assert isinstance(clone, TwoLayerNet)
    np.testing.assert_allclose(clone.params["W1"], W1_before)
    clone.params["W1"] += 1.0
    clone.params["b2"] = np.ones(3)
    np.testing.assert_array_equal(net.params["W1"], W1_before)
    np.testing.assert_array_equal(net.params["b2"], 0.0)
    assert affine(clone, "Affine1").W is clone.params["W1"]
    with pytest.raises(TypeError, match="received int64"):
        net.astype(np.int64)


def test_sequential_names_params_by_layer_index() -> None:
    rng = np.random.default_rng(7)
    first = Affine(rng.normal(size=(4, 6)), np.zeros(6))
    second = Affine(rng.normal(size=(6, 2)), np.zeros(2))
    net = Sequential([first, Relu(), second])
    assert list(net.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert net.params["2.W"] is second.W
    x = rng.normal(size=(3, 4))
    t = np.array([0, 1, 1])
    grads = net.gradient(x, t)
    assert list(grads) == list(net.params)
    assert grads["0.W"].shape == (4, 6)
    assert isinstance(net.last_layer, SoftmaxWithLoss)


def test_sequential_rejects_bad_layer_lists() -> None:
    with pytest.raises(ValueError, match="received none"):
        Sequential([])
    with pytest.raises(TypeError, match="layer '1' is not a Layer, received str"):
        Sequential([Relu(), "Affine"])  # type: ignore[list-item]


# --- constructor arguments ------------------------------------------------------------


@pytest.mark.parametrize("hidden_size", [0, -1, 2.5, True, "50", None])
def test_hidden_size_must_be_a_positive_integer(hidden_size: object) -> None:
    with pytest.raises((ValueError, TypeError), match=f"received hidden_size={hidden_size!r}"):
        TwoLayerNet(4, hidden_size, 3)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["input_size", "output_size"])
def test_other_sizes_are_checked_too(name: str) -> None:
    sizes = {"input_size": 4, "hidden_size": 5, "output_size": 3, name: 0}
    with pytest.raises(ValueError, match=f"received {name}=0"):
        TwoLayerNet(sizes["input_size"], sizes["hidden_size"], sizes["output_size"])


@pytest.mark.parametrize("std", [0, -1, 0.0, float("nan"), float("inf"), True])
def test_weight_init_std_must_be_a_positive_number(std: object) -> None:
    with pytest.raises(ValueError, match=f"weight_init_std.*received weight_init_std={std!r}"):
        TwoLayerNet(4, 5, 3, weight_init_std=std)  # type: ignore[arg-type]


@pytest.mark.parametrize("dtype", [int, np.int32, bool])
def test_dtype_must_be_floating(dtype: object) -> None:
    with pytest.raises(TypeError, match="dtype must be a floating-point type, received"):
        TwoLayerNet(4, 5, 3, dtype=dtype)  # type: ignore[arg-type]


@pytest.mark.parametrize("rng", [0, np.random.RandomState(0)])
def test_rng_must_be_a_generator(rng: object) -> None:
    with pytest.raises(TypeError, match=f"received {type(rng).__name__}"):
        TwoLayerNet(4, 5, 3, rng=rng)  # type: ignore[arg-type]


def test_float16_is_allowed() -> None:
    net = TwoLayerNet(4, 5, 3, rng=np.random.default_rng(0), dtype=np.float16)
    assert net.params["W1"].dtype == np.float16


# --- learning -------------------------------------------------------------------------


def test_sgd_training_learns_xor() -> None:
    # Four blobs labelled like XOR: no linear model separates them, so the hidden layer
    # has to learn. Chance level at the start, every point right after 200 steps.
    rng = np.random.default_rng(0)
    corners = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]])
    which = rng.integers(0, 4, size=120)
    t = (which >= 2).astype(np.int64)
    x = (1.5 * corners[which] + rng.normal(0.0, 0.4, size=(120, 2))).astype(np.float32)
    net = TwoLayerNet(2, 16, 2, weight_init_std=0.5, rng=rng)
    initial_loss, initial_accuracy = net.loss(x, t), net.accuracy(x, t)
    for _ in range(200):
        loss, grads = net.loss_and_gradient(x, t)
        assert np.isfinite(loss)
        for name in net.params:
            net.params[name] -= 0.3 * grads[name]
    assert initial_accuracy < 0.75
    assert net.loss(x, t) < 0.05 < initial_loss
    assert net.accuracy(x, t) == 1.0


def test_param_names_must_point_at_real_parameters() -> None:
    from mitbadak.layers import Affine
    from mitbadak.models import Sequential

    affine = Affine(np.ones((3, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"\('fc', 'V'\)"):
        Sequential({"fc": affine}, param_names={"W": ("fc", "V"), "b": ("fc", "b")})
    with pytest.raises(ValueError, match=r"\('nope', 'W'\)"):
        Sequential({"fc": affine}, param_names={"W": ("nope", "W"), "b": ("fc", "b")})


@pytest.mark.parametrize("name", list(CLI_MODELS))
def test_param_shapes_are_known_before_building(name: str) -> None:
    # save/load and the command line refuse a network too large for memory from its
    # settings alone, so every network must say its parameter shapes without building.
    cls = CLI_MODELS[name]
    net = cls.build((784,), 10, BuildOptions(), rng=np.random.default_rng(0))
    shapes = cls.Config(**net.config()).param_shapes()
    assert shapes == {key: value.shape for key, value in net.params.items()}


@pytest.mark.parametrize("name", list(CLI_MODELS))
def test_a_network_too_large_for_memory_is_refused_before_drawing(
    name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mitbadak import _memory

    monkeypatch.setattr(_memory, "available_memory", lambda: 1 << 10)
    with pytest.raises(_memory.MemoryNeededError, match=r"needs about .* only 1.0 KiB"):
        CLI_MODELS[name].build((784,), 10, BuildOptions(), rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="TwoLayerNet with 7,950,000,000,010 float32"):
        TwoLayerNet(784, 10**10, 10)
