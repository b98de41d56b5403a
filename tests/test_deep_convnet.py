"""Tests for mitbadak.models.deep_convnet: the book's chapter-8 DeepConvNet.

Its comparison with PyTorch autograd is in test_torch_networks.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mitbadak
from mitbadak.conv import Convolution, Pooling
from mitbadak.dropout import Dropout
from mitbadak.gradcheck import gradient_check
from mitbadak.models import CLI_MODELS, MODELS, BuildOptions, DeepConvNet


def small_deepnet(dtype: type = np.float32, **kw: Any) -> DeepConvNet:
    """The book's architecture with 2-2-3-3-4-4 filters on 8x8 images: quick to check."""
    c1, c2, c3, c4, c5, c6 = ({"filter_num": n} for n in (2, 2, 3, 3, 4, 4))
    return DeepConvNet(
        (1, 8, 8),
        c1,
        c2,
        c3,
        c4,
        c5,
        c6,
        hidden_size=6,
        output_size=5,
        rng=np.random.default_rng(0),
        dtype=dtype,
        **kw,
    )


def with_random_biases(net: DeepConvNet, seed: int) -> DeepConvNet:
    """Biases of zero put the fourth convolution's corners (pad 2: pure padding) at
    exactly 0, ReLU's kink, where central differences and backprop cannot agree."""
    rng = np.random.default_rng(seed)
    for i in range(1, 9):
        b = net.params[f"b{i}"]
        net.params[f"b{i}"] = (0.1 * rng.standard_normal(b.shape)).astype(b.dtype)
    return net


def test_the_books_layers_and_parameter_shapes() -> None:
    net = DeepConvNet(rng=np.random.default_rng(0))
    assert list(net.layers) == [
        "Conv1", "Relu1", "Conv2", "Relu2", "Pool1",
        "Conv3", "Relu3", "Conv4", "Relu4", "Pool2",
        "Conv5", "Relu5", "Conv6", "Relu6", "Pool3",
        "Flatten1", "Affine1", "Relu7", "Dropout1", "Affine2", "Dropout2",
    ]  # fmt: skip
    shapes = {name: net.params[name].shape for name in net.params}
    assert shapes == {
        "W1": (16, 1, 3, 3), "b1": (16,), "W2": (16, 16, 3, 3), "b2": (16,),
        "W3": (32, 16, 3, 3), "b3": (32,), "W4": (32, 32, 3, 3), "b4": (32,),
        "W5": (64, 32, 3, 3), "b5": (64,), "W6": (64, 64, 3, 3), "b6": (64,),
        "W7": (64 * 4 * 4, 50), "b7": (50,), "W8": (50, 10), "b8": (10,),
    }  # fmt: skip
    pads = [layer.pad for layer in net.layers.values() if isinstance(layer, Convolution)]
    assert pads == [1, 1, 1, 2, 1, 1]
    pools = [layer for layer in net.layers.values() if isinstance(layer, Pooling)]
    assert [(p.pool_h, p.pool_w, p.stride) for p in pools] == [(2, 2, 2)] * 3
    ratios = [layer.dropout_ratio for layer in net.layers.values() if isinstance(layer, Dropout)]
    assert ratios == [0.5, 0.5]
    assert all(net.params[name].dtype == np.float32 for name in net.params)
    assert all(not net.params[f"b{i}"].any() for i in range(1, 9))


def test_weights_use_he_initialisation() -> None:
    net = DeepConvNet(rng=np.random.default_rng(1))
    fan_in = {"W2": 16 * 9, "W4": 32 * 9, "W6": 64 * 9, "W7": 1024, "W8": 50}
    for name, n_in in fan_in.items():
        std = float(net.params[name].std())
        assert std == pytest.approx(np.sqrt(2.0 / n_in), rel=0.1), name


def test_predict_accepts_images_and_flattened_rows() -> None:
    net = small_deepnet()
    x = np.random.default_rng(2).random((3, 1, 8, 8), dtype=np.float32)
    scores = net.predict(x)
    assert scores.shape == (3, 5) and scores.dtype == np.float32
    np.testing.assert_array_equal(net.predict(x.reshape(3, 64)), scores)
    # Inference is deterministic: dropout is the identity there.
    np.testing.assert_array_equal(net.predict(x), scores)
    with pytest.raises(ValueError, match=r"\(N, 1, 8, 8\) or flattened \(N, 64\)"):
        net.predict(np.zeros((3, 63), np.float32))


def test_backprop_matches_float64_central_differences() -> None:
    rng = np.random.default_rng(3)
    x = rng.random((2, 1, 8, 8))
    t = np.array([1, 4])
    net = with_random_biases(small_deepnet(np.float64), 3)
    net.gradient(x, t)  # draws the dropout masks that the check replays
    results = gradient_check(net, x, t)
    assert set(results) == {f"{p}{i}" for p in "Wb" for i in range(1, 9)}
    for name, result in results.items():
        assert result.max_abs_diff < 1e-7, (name, result)


def test_a_float32_net_has_a_float64_numerical_gradient_of_the_books_precision() -> None:
    # The book's check on a float32 network: backprop in float32, differences in float64.
    rng = np.random.default_rng(4)
    x = rng.random((2, 1, 8, 8)).astype(np.float32)
    t = np.array([0, 3])
    net = with_random_biases(small_deepnet(np.float32), 4)
    backprop = net.gradient(x, t)
    numerical = net.numerical_gradient(x, t)
    assert all(numerical[name].dtype == np.float64 for name in numerical)
    diffs = [float(np.mean(np.abs(backprop[k] - numerical[k]))) for k in numerical]
    assert np.median(diffs) <= 1e-6 and max(diffs) <= 1e-5, diffs


def test_registered_for_loading_and_the_command_line(tmp_path: Path) -> None:
    assert MODELS["DeepConvNet"] is DeepConvNet
    assert CLI_MODELS["deepconvnet"] is DeepConvNet
    assert list(CLI_MODELS)[-1] == "deepconvnet"  # chapter 8 comes last
    net = DeepConvNet.build((784,), 10, BuildOptions(), rng=np.random.default_rng(5))
    assert net.cfg.input_dim == (1, 28, 28) and net.params["W8"].shape == (50, 10)
    with pytest.raises(ValueError, match="use_batchnorm does not apply to deepconvnet"):
        DeepConvNet.build((784,), 10, BuildOptions(use_batchnorm=True), rng=np.random.default_rng())


def test_saved_and_loaded_like_the_other_networks(tmp_path: Path) -> None:
    net = DeepConvNet(
        (1, 8, 8),
        conv_param_4={"filter_num": 3, "pad": 1},
        hidden_size=6,
        rng=np.random.default_rng(0),
    )
    x = np.random.default_rng(6).random((4, 1, 8, 8), dtype=np.float32)
    net.gradient(x, np.arange(4))
    path = mitbadak.save(net, tmp_path / "deep.npz")
    loaded = mitbadak.load(path)
    assert type(loaded) is DeepConvNet
    assert loaded.config() == net.config()
    assert loaded.config()["conv_param_4"] == {
        "filter_num": 3,
        "filter_size": 3,
        "pad": 1,
        "stride": 1,
    }
    np.testing.assert_array_equal(loaded.predict(x), net.predict(x))


def test_dropout_ratio_zero_leaves_the_dropout_layers_out() -> None:
    net = small_deepnet(dropout_ratio=0.0)
    assert not any(isinstance(layer, Dropout) for layer in net.layers.values())
    x = np.random.default_rng(7).random((2, 1, 8, 8), dtype=np.float32)
    np.testing.assert_array_equal(net.predict(x, train=True), net.predict(x))


def test_validates_its_settings() -> None:
    with pytest.raises(ValueError, match=r"input_dim \(1, 2, 2\) is too small for DeepConvNet"):
        DeepConvNet((1, 2, 2))
    with pytest.raises(ValueError, match=r"conv_param_3 has unknown keys \['filters'\]"):
        DeepConvNet(conv_param_3={"filters": 8})
    with pytest.raises(ValueError, match="dropout_ratio must be a number in the interval"):
        DeepConvNet(dropout_ratio=1.0)
    with pytest.raises(ValueError, match="hidden_size must be a positive integer"):
        DeepConvNet(hidden_size=0)
