"""Every layer against PyTorch autograd, in float64.

Our backward passes are written by hand; torch's come from autograd. Over
hypothesis-generated shapes and values the two must agree to about 1e-10:
forward values, the input gradient and every parameter gradient. Covered here:
the chapter-5 graph nodes (MulLayer, AddLayer) and layers (ReLU, Sigmoid, Affine,
SoftmaxWithLoss), Convolution and
Pooling, BatchNormalization (training step and inference) and Dropout. The whole
networks are compared in test_torch_networks.py, the optimizers in
test_torch_optim.py.

The module is skipped, with the reason, when PyTorch is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mitbadak.conv import Pooling
from mitbadak.dropout import Dropout
from mitbadak.graph import AddLayer, MulLayer
from mitbadak.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from test_conv import conv_case, make_conv
from test_normalization import make_bn

if TYPE_CHECKING:
    import torch
    import torch.nn.functional as F
else:
    torch = pytest.importorskip(
        "torch",
        reason="PyTorch is the test oracle: install the dev extra (pip install -e '.[dev]')",
    )
    F = torch.nn.functional

RTOL, ATOL = 1e-10, 1e-12
SETTINGS = settings(max_examples=40, deadline=None)
# The convolution, pooling and batch-norm cases keep the 30 examples they had in
# test_conv.py and test_normalization.py.
LAYER_SETTINGS = settings(max_examples=30, deadline=None)

sizes = st.integers(min_value=1, max_value=8)
features = st.integers(min_value=1, max_value=12)
classes = st.integers(min_value=2, max_value=10)


def finite(limit: float) -> st.SearchStrategy[float]:
    return st.floats(-limit, limit, allow_nan=False, allow_infinity=False)


# ReLU's derivative is undefined at 0; keep |x| >= 1e-6 so both sides agree by definition.
away_from_zero = st.tuples(st.floats(1e-6, 10.0), st.sampled_from([-1.0, 1.0])).map(
    lambda pair: pair[0] * pair[1]
)


def f64(
    shape: tuple[int, ...] | st.SearchStrategy, elements: st.SearchStrategy
) -> st.SearchStrategy:
    return hnp.arrays(np.float64, shape, elements=elements)


def tensor(x: np.ndarray, grad: bool = False) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64, requires_grad=grad)


def close(ours: np.ndarray | float, theirs: torch.Tensor | None) -> None:
    assert theirs is not None, "torch computed no gradient"
    np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=RTOL, atol=ATOL)


# --- activations ----------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=6))
def test_relu_matches_torch(data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = data.draw(f64(shape, away_from_zero))
    dout = data.draw(f64(shape, finite(10.0)))
    layer = Relu()
    out = layer.forward(x)
    dx = layer.backward(dout)

    xt = tensor(x, grad=True)
    yt = torch.relu(xt)
    yt.backward(tensor(dout))
    close(out, yt)
    close(dx, xt.grad)


@SETTINGS
@given(data=st.data(), shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=6))
def test_sigmoid_matches_torch(data: st.DataObject, shape: tuple[int, ...]) -> None:
    x = data.draw(
        f64(shape, st.one_of(finite(40.0), finite(800.0), st.sampled_from([800.0, -800.0])))
    )
    dout = data.draw(f64(shape, finite(10.0)))
    _check_sigmoid(x, dout)


def _check_sigmoid(x: np.ndarray, dout: np.ndarray) -> None:
    layer = Sigmoid()
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = layer.forward(x)
        dx = layer.backward(dout)
    assert np.all(np.isfinite(out)) and np.all(np.isfinite(dx))

    xt = tensor(x, grad=True)
    yt = torch.sigmoid(xt)
    yt.backward(tensor(dout))
    close(out, yt)
    close(dx, xt.grad)


def test_sigmoid_matches_torch_at_plus_minus_800() -> None:
    x = np.array([[800.0, -800.0, 0.0, 36.0, -36.0, 745.0, -745.0]])
    _check_sigmoid(x, np.linspace(-2.0, 2.0, x.size).reshape(x.shape))


# --- Affine ---------------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), n=sizes, d=features, m=features, image=st.booleans())
def test_affine_matches_torch(data: st.DataObject, n: int, d: int, m: int, image: bool) -> None:
    # With image=True the input is (N, C, H, W) and Affine flattens it, as in the book.
    x_shape = (n, d, 2, 1) if image else (n, d)
    flat = 2 * d if image else d
    x = data.draw(f64(x_shape, finite(10.0)))
    W = data.draw(f64((flat, m), finite(3.0)))
    b = data.draw(f64((m,), finite(3.0)))
    dout = data.draw(f64((n, m), finite(10.0)))

    layer = Affine(W, b)
    out = layer.forward(x)
    dx = layer.backward(dout)

    # Our W is (in, out), so torch computes x @ W + b rather than F.linear's x @ Wᵀ.
    xt, Wt, bt = tensor(x, grad=True), tensor(W, grad=True), tensor(b, grad=True)
    yt = xt.reshape(n, -1) @ Wt + bt
    yt.backward(tensor(dout))
    close(out, yt)
    assert dx.shape == x.shape
    close(dx, xt.grad)
    close(layer.dW, Wt.grad)
    close(layer.db, bt.grad)


# --- SoftmaxWithLoss ------------------------------------------------------------------


@SETTINGS
@given(data=st.data(), n=sizes, c=classes, one_hot=st.booleans(), dout=st.floats(0.1, 10.0))
def test_softmax_with_loss_matches_torch_cross_entropy(
    data: st.DataObject, n: int, c: int, one_hot: bool, dout: float
) -> None:
    x = data.draw(f64((n, c), finite(50.0)))
    labels = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    t = np.eye(c)[labels] if one_hot else labels

    layer = SoftmaxWithLoss()
    loss = layer.forward(x, t)
    dx = layer.backward(dout)

    xt = tensor(x, grad=True)
    # A float target is read as class probabilities; an int64 target as class indices.
    target = tensor(t) if one_hot else torch.tensor(labels)
    lt = F.cross_entropy(xt, target, reduction="mean")
    (lt * dout).backward()
    close(loss, lt)
    close(dx, xt.grad)


def test_softmax_with_loss_matches_torch_on_a_confident_wrong_answer() -> None:
    x = np.array([[1000.0, 0.0], [0.0, -1000.0]])
    layer = SoftmaxWithLoss()
    loss = layer.forward(x, np.array([1, 1]))
    xt = tensor(x, grad=True)
    lt = F.cross_entropy(xt, torch.tensor([1, 1]))
    lt.backward()
    assert loss == pytest.approx(1000.0 / 2 + 1000.0 / 2)
    close(loss, lt)
    close(layer.backward(), xt.grad)


# --- Convolution and Pooling ---------------------------------------------------------


@LAYER_SETTINGS
@given(case=conv_case())
def test_convolution_matches_torch(case: dict[str, int]) -> None:
    rng = np.random.default_rng(case["seed"])
    layer = make_conv(
        rng,
        case["fn"],
        case["c"],
        case["fh"],
        case["fw"],
        dtype=np.float64,
        stride=case["stride"],
        pad=case["pad"],
    )
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    out = layer.forward(x, train=True)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(layer.W, requires_grad=True)
    tb = torch.tensor(layer.b, requires_grad=True)
    tout = F.conv2d(tx, tW, tb, stride=case["stride"], padding=case["pad"])
    tout.backward(torch.tensor(dout))
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-10, atol=1e-10)
    assert tx.grad is not None and tW.grad is not None and tb.grad is not None
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.dW, tW.grad.numpy(), rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(layer.db, tb.grad.numpy(), rtol=1e-10, atol=1e-10)


@st.composite
def pool_case(draw: st.DrawFn) -> dict[str, int]:
    ph = draw(st.integers(1, 4))
    pw = draw(st.integers(1, 4))
    # PyTorch allows padding up to half the window; ours up to window - 1.
    pad = draw(st.integers(0, min(ph, pw) // 2))
    return {
        "n": draw(st.integers(1, 3)),
        "c": draw(st.integers(1, 3)),
        "h": draw(st.integers(max(1, ph - 2 * pad), 9)),
        "w": draw(st.integers(max(1, pw - 2 * pad), 9)),
        "ph": ph,
        "pw": pw,
        "stride": draw(st.integers(1, 4)),
        "pad": pad,
        "seed": draw(st.integers(0, 2**32 - 1)),
        # Small integers make ties common, which checks the tie rule too.
        "ties": draw(st.booleans()),
    }


@LAYER_SETTINGS
@given(case=pool_case())
def test_pooling_matches_torch(case: dict[str, int]) -> None:
    rng = np.random.default_rng(case["seed"])
    shape = (case["n"], case["c"], case["h"], case["w"])
    if case["ties"]:
        x = rng.integers(-2, 3, shape).astype(np.float64)
    else:
        # All negative, so a zero-padded implementation would be caught.
        x = -np.abs(rng.standard_normal(shape)) - 0.1
    layer = Pooling(case["ph"], case["pw"], stride=case["stride"], pad=case["pad"])
    out = layer.forward(x, train=True)
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)

    tx = torch.tensor(x, requires_grad=True)
    tout = F.max_pool2d(tx, (case["ph"], case["pw"]), stride=case["stride"], padding=case["pad"])
    tout.backward(torch.tensor(dout))
    np.testing.assert_array_equal(out, tout.detach().numpy())
    assert tx.grad is not None
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-12, atol=1e-12)


# --- BatchNormalization --------------------------------------------------------------


@st.composite
def bn_case(draw: st.DrawFn) -> dict[str, object]:
    images = draw(st.booleans())
    n = draw(st.integers(1, 5))
    c = draw(st.integers(1, 4))
    h, w = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    shape: tuple[int, ...] = (n, c, h, w) if images else (n, c)
    if n * (h * w if images else 1) < 2:
        shape = (2, *shape[1:])  # torch needs two values per feature to train
    return {
        "shape": shape,
        "momentum": draw(st.floats(0.0, 1.0)),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


@LAYER_SETTINGS
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
    tol: dict[str, Any] = {"rtol": 1e-10, "atol": 1e-10}
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


# --- Dropout -------------------------------------------------------------------------


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


# --- the computational graph's nodes --------------------------------------------------


@SETTINGS
@given(
    data=st.data(),
    shapes=st.sampled_from([((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((5,), ())]),
    node=st.sampled_from(["mul", "add"]),
)
def test_graph_nodes_match_torch(
    data: st.DataObject, shapes: tuple[tuple[int, ...], tuple[int, ...]], node: str
) -> None:
    x = data.draw(f64(shapes[0], finite(5.0)))
    y = data.draw(f64(shapes[1], finite(5.0)))
    layer = MulLayer() if node == "mul" else AddLayer()
    out = layer.forward(x, y)
    dout = data.draw(f64(np.shape(out), finite(2.0)))
    dx, dy = layer.backward(dout)
    tx, ty = tensor(x, grad=True), tensor(y, grad=True)
    tout = tx * ty if node == "mul" else tx + ty
    tout.backward(tensor(dout))
    close(out, tout)
    close(dx, tx.grad)
    close(dy, ty.grad)
