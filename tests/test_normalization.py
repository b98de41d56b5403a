"""Tests for mitbadak.normalization: BatchNormalization and Dropout (PyTorch as oracle)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st

from layer_contract import assert_layer_contract
from mitbadak.normalization import BatchNormalization, Dropout

SETTINGS = settings(max_examples=30, deadline=None)


def make_bn(
    features: int, rng: np.random.Generator, dtype: type = np.float32, **kw: float
) -> BatchNormalization:
    gamma = rng.uniform(0.5, 1.5, features).astype(dtype)
    beta = rng.standard_normal(features).astype(dtype)
    return BatchNormalization(gamma, beta, **kw)


# --- BatchNormalization ------------------------------------------------------


@pytest.mark.parametrize("train", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (3, 2, 3, 4), (1, 3, 2, 2)])
def test_batchnorm_contract(shape: tuple[int, ...], train: bool) -> None:
    rng = np.random.default_rng(0)
    layer = make_bn(shape[1], rng)
    x = (rng.standard_normal(shape) * 2 + 1).astype(np.float32)
    assert_layer_contract(layer, x, train=train)


@st.composite
def bn_case(draw: st.DrawFn) -> dict[str, object]:
    images = draw(st.booleans())
    n = draw(st.integers(1, 5))
    c = draw(st.integers(1, 4))
    shape = (n, c, draw(st.integers(1, 4)), draw(st.integers(1, 4))) if images else (n, c)
    if shape[0] * (shape[2] * shape[3] if images else 1) < 2:
        shape = (2, *shape[1:])  # torch needs two values per feature to train
    return {
        "shape": shape,
        "momentum": draw(st.floats(0.0, 1.0)),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


@SETTINGS
@given(case=bn_case())
def test_batchnorm_training_step_matches_torch(case: dict) -> None:
    rng = np.random.default_rng(case["seed"])
    shape, momentum, eps = case["shape"], case["momentum"], case["eps"]
    c = shape[1]
    mean0, var0 = rng.standard_normal(c), rng.uniform(0.5, 2.0, c)
    layer = make_bn(c, rng, np.float64, momentum=momentum, eps=eps)
    layer.buffers.update(running_mean=mean0.copy(), running_var=var0.copy())
    x = rng.standard_normal(shape) * 3 + 2
    out = layer.forward(x, train=True)
    dout = rng.standard_normal(shape)
    dx = layer.backward(dout)

    tx = torch.tensor(x, requires_grad=True)
    tg = torch.tensor(layer.gamma, requires_grad=True)
    tb = torch.tensor(layer.beta, requires_grad=True)
    t_mean, t_var = torch.tensor(mean0), torch.tensor(var0)
    # torch's momentum weighs the new value: ours is 1 - theirs.
    tout = F.batch_norm(tx, t_mean, t_var, tg, tb, training=True, momentum=1 - momentum, eps=eps)
    tout.backward(torch.tensor(dout))
    tol = {"rtol": 1e-10, "atol": 1e-10}
    np.testing.assert_allclose(out, tout.detach().numpy(), **tol)
    assert tx.grad is not None and tg.grad is not None and tb.grad is not None
    np.testing.assert_allclose(dx, tx.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.dgamma, tg.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.dbeta, tb.grad.numpy(), **tol)
    np.testing.assert_allclose(layer.running_mean, t_mean.numpy(), **tol)
    # torch averages the unbiased variance (times M / (M - 1)); we average the
    # biased one, as the book does. Compare the new contributions.
    m = x.size // c
    ours_new = layer.running_var - momentum * var0
    torch_new = t_var.numpy() - momentum * var0
    np.testing.assert_allclose(ours_new * m / (m - 1), torch_new, **tol)


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


def test_batchnorm_inference_uses_running_statistics() -> None:
    rng = np.random.default_rng(2)
    layer = make_bn(4, rng, np.float64, momentum=0.8, eps=1e-3)
    expected_mean, expected_var = np.zeros(4), np.ones(4)
    for _ in range(6):
        batch = rng.standard_normal((16, 4)) * 2 + 3
        layer.forward(batch, train=True)
        expected_mean = 0.8 * expected_mean + 0.2 * batch.mean(axis=0)
        expected_var = 0.8 * expected_var + 0.2 * batch.var(axis=0)
    np.testing.assert_allclose(layer.running_mean, expected_mean, rtol=1e-12)
    np.testing.assert_allclose(layer.running_var, expected_var, rtol=1e-12)

    x = rng.standard_normal((16, 4)) * 2 + 3
    inference = layer.forward(x, train=False)
    formula = (x - expected_mean) / np.sqrt(expected_var + 1e-3) * layer.gamma + layer.beta
    np.testing.assert_allclose(inference, formula, rtol=1e-12)
    # torch's inference with the same running statistics agrees.
    tout = F.batch_norm(
        torch.tensor(x),
        torch.tensor(layer.running_mean),
        torch.tensor(layer.running_var),
        torch.tensor(layer.gamma),
        torch.tensor(layer.beta),
        training=False,
        eps=1e-3,
    )
    np.testing.assert_allclose(inference, tout.numpy(), rtol=1e-12, atol=1e-12)
    running_before = dict(layer.buffers)
    training = layer.forward(x, train=True)
    assert np.abs(training - inference).max() > 0.1
    # Inference does not touch the buffers; training replaces them.
    assert layer.buffers["running_mean"] is not running_before["running_mean"]

    # Inference backward: the statistics are constants.
    layer.forward(x, train=False)
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)
    # (the training forward above moved the running statistics on)
    std = np.sqrt(layer.running_var + 1e-3)
    np.testing.assert_allclose(dx, dout * layer.gamma / std, rtol=1e-12)


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
    clone = BatchNormalization(**layer.params, **config, **layer.buffers)
    x = rng.standard_normal((2, 3, 2, 2)).astype(np.float32)
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))


def test_batchnorm_validates() -> None:
    g, b = np.ones(3), np.zeros(3)
    with pytest.raises(ValueError, match=r"beta must have gamma's shape \(3,\), received \(4,\)"):
        BatchNormalization(g, np.zeros(4))
    with pytest.raises(
        ValueError, match=r"momentum must be a number in \[0.0, 1.0\], received 1.5"
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


def test_dropout_is_inverted_and_matches_torch_with_the_same_mask() -> None:
    p = 0.4
    rng = np.random.default_rng(5)
    x = rng.standard_normal((50, 40))
    layer = Dropout(p, rng=np.random.default_rng(6))
    out = layer.forward(x, train=True)
    dout = rng.standard_normal(x.shape)
    dx = layer.backward(dout)
    kept = out != 0
    # Kept units are scaled by 1 / (1 - p); the rest are zero.
    np.testing.assert_allclose(out[kept], x[kept] / (1 - p), rtol=1e-15)

    tx = torch.tensor(x, requires_grad=True)
    # torch.nn.functional.dropout draws its own mask; apply ours the same way it
    # does (x * mask / (1 - p)) and compare values and gradients.
    tout = tx * torch.tensor(kept, dtype=torch.float64) / (1 - p)
    tout.backward(torch.tensor(dout))
    assert tx.grad is not None
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-15)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-15)
    # torch's own dropout keeps the same expected scale on the kept units.
    tdrop = F.dropout(torch.tensor(x), p=p, training=True).numpy()
    t_kept = tdrop != 0
    np.testing.assert_allclose(tdrop[t_kept], x[t_kept] / (1 - p), rtol=1e-12)


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
        with pytest.raises(ValueError, match=r"dropout_ratio must be a number in \[0.0, 1.0\)"):
            Dropout(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, received int"):
        Dropout(0.5, rng=0)  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="before forward"):
        Dropout(0.5).backward(np.zeros(3))
