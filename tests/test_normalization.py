"""Tests for mitbadak.batchnorm and mitbadak.dropout: BatchNormalization and Dropout.

The comparisons with PyTorch (the batch-norm training step and inference, dropout with
the same mask) are in test_torch_oracle.py, which imports ``make_bn`` from here.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from layer_contract import assert_layer_contract
from mitbadak.batchnorm import BatchNormalization
from mitbadak.dropout import Dropout


def make_bn(
    features: int, rng: np.random.Generator, dtype: type = np.float32, **kw: Any
) -> BatchNormalization:
    gamma: np.ndarray = rng.uniform(0.5, 1.5, features).astype(dtype)
    beta: np.ndarray = rng.standard_normal(features).astype(dtype)
    return BatchNormalization(gamma, beta, **kw)


# --- BatchNormalization ------------------------------------------------------


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 3, 4), (1, 3, 2, 2)])
def test_batchnorm_contract(shape: tuple[int, ...], train: bool) -> None:
    rng = np.random.default_rng(0)
    layer = make_bn(shape[1], rng)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    assert_layer_contract(layer, x, train=train)


def test_batchnorm_uses_per_channel_statistics_on_images() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((8, 3, 4, 5)) * np.array([1, 5, 0.2])[:, None, None] + 7
    layer = BatchNormalization(np.ones(3), np.zeros(3))
    out = layer.forward(x, train=True)
    np.testing.assert_allclose(out.mean(axis=(0, 2, 3)), 0, atol=1e-12)
    var = x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.var(axis=(0, 2, 3)), var / (var + 1e-5), rtol=1e-12)
    # Per pixel the statistics are not normalised: the book's flattening differs.
    assert np.abs(out.mean(axis=0)).max() > 0.1


def test_batchnorm_does_not_modify_arrays_it_was_given() -> None:
    mean, var = np.zeros(3, np.float32), np.ones(3, np.float32)
    layer = BatchNormalization(np.ones(3, np.float32), np.zeros(3, np.float32), 0.5, mean, var)
    layer.forward(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), train=True)
    np.testing.assert_array_equal(mean, 0)
    np.testing.assert_array_equal(var, 1)
    assert layer.running_mean.dtype == np.float32
    assert layer.running_var.dtype == np.float32


def test_batchnorm_config_and_rebuild_with_buffers() -> None:
    rng = np.random.default_rng(4)
    layer = make_bn(3, rng, momentum=0.7, eps=1e-4)
    for _ in range(3):
        layer.forward(rng.standard_normal((6, 3, 2, 2)).astype(np.float32), train=True)
    config = json.loads(json.dumps(layer.config()))
    assert config == {"momentum": 0.7, "eps": 1e-4}
    arrays: dict[str, Any] = {**layer.params, **layer.buffers}
    clone = BatchNormalization(**arrays, **config)
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))


def test_batchnorm_validates() -> None:
    g, b = np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match=r"beta must have gamma's shape \(3,\), received \(4,\)"):
        BatchNormalization(g, np.zeros(4))
    with pytest.raises(
        ValueError,
        match=r"momentum must be a number in the interval \[0, 1\], received momentum=1.5",
    ):
        BatchNormalization(g, b, momentum=1.5)
    with pytest.raises(ValueError, match="eps must be a positive number, received eps=0"):
        BatchNormalization(g, b, eps=0)
    with pytest.raises(ValueError, match=r"running_var must have gamma's shape \(3,\).*\(2,\)"):
        BatchNormalization(g, b, running_var=np.ones(2))
    with pytest.raises(ValueError, match="running_var must be non-negative"):
        BatchNormalization(g, b, running_var=-np.ones(3))
    layer = BatchNormalization(g, b)
    for shape in [(4, 2), (4, 2, 3, 3), (4, 3, 3), (3,)]:
        with pytest.raises(ValueError, match=rf"\(N, 3\) or \(N, 3, H, W\), received \({shape[0]}"):
            layer.forward(np.zeros(shape))
    with pytest.raises(ValueError, match="empty batch"):
        layer.forward(np.zeros((0, 3)), train=True)


# --- Dropout -----------------------------------------------------------------


@pytest.mark.parametrize("ratio", [0.0, 0.3, 0.5, 0.9])
@pytest.mark.parametrize("shape", [(6, 5), (2, 3, 4, 4)])
def test_dropout_contract(shape: tuple[int, ...], ratio: float) -> None:
    # check_layer replays the layer's generator before each forward, so the mask
    # is fixed while it takes central differences.
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    assert_layer_contract(Dropout(ratio, rng=np.random.default_rng(1)), x, train=True)
    assert_layer_contract(Dropout(ratio, rng=np.random.default_rng(1)), x, train=False)


def test_dropout_preserves_the_expected_value() -> None:
    # Each output is x * B / (1 - p) with B ~ Bernoulli(1 - p): mean x, variance
    # x² p / (1 - p). Over S independent draws the sample mean has standard
    # deviation |x| sqrt(p / ((1 - p) S)); 5 of those bound a two-sided miss
    # probability of 6e-7 per entry (and the seed is fixed, so no flakiness).
    p, samples = 0.5, 40_000
    x = np.array([1.0, -2.0, 0.5, 3.0, 0.0])
    layer = Dropout(p, rng=np.random.default_rng(7))
    # One forward over S stacked copies draws S independent masks per entry.
    out = layer.forward(np.tile(x, (samples, 1)), train=True)
    bound = 5 * np.abs(x) * np.sqrt(p / ((1 - p) * samples))
    assert np.all(np.abs(out.mean(axis=0) - x) <= bound)
    # The kept fraction is 1 - p within 5 binomial standard deviations.
    n = out[:, :4].size
    kept = np.count_nonzero(out[:, :4]) / n
    assert abs(kept - (1 - p)) <= 5 * np.sqrt(p * (1 - p) / n)


def test_dropout_inference_is_identity_and_training_reproducible() -> None:
    x = np.random.default_rng(8).standard_normal((4, 6)).astype(np.float32)
    layer = Dropout(0.5, rng=np.random.default_rng(9))
    out = layer.forward(x, train=False)
    np.testing.assert_array_equal(out, x)
    assert out is not x
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), 1)
    a = Dropout(0.5, rng=np.random.default_rng(9)).forward(x, train=True)
    b = Dropout(0.5, rng=np.random.default_rng(9)).forward(x, train=True)
    np.testing.assert_array_equal(a, b)
    assert a.dtype == np.float32
    # Ratio 0 in training mode draws nothing and passes x through.
    zero = Dropout(0.0, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(zero.forward(x, train=True), x)


def test_dropout_config_and_validation() -> None:
    layer = Dropout(0.25)
    assert json.loads(json.dumps(layer.config())) == {"dropout_ratio": 0.25}
    assert isinstance(layer.rng, np.random.Generator)
    for bad in [-0.1, 1.0, 1.5, float("nan"), "0.5", True]:
        with pytest.raises(
            ValueError, match=r"dropout_ratio must be a number in the interval \[0, 1\)"
        ):
            Dropout(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, received int"):
        Dropout(0.5, rng=0)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="before forward"):
        Dropout(0.5).backward(np.zeros(3))
