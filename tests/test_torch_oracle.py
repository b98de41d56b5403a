"""Every chapter-5 layer and the whole TwoLayerNet against PyTorch autograd, in float64.

Our backward passes are written by hand; torch's come from autograd. Over
hypothesis-generated shapes and values the two must agree to about 1e-10:
forward values, the input gradient and every parameter gradient.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mitbadak.layers import Affine, Relu, Sigmoid, SoftmaxWithLoss
from mitbadak.models import TwoLayerNet

try:
    import torch
    import torch.nn.functional as F
except ImportError:  # pragma: no cover - CI installs the dev extra, which pins torch
    pytest.skip("PyTorch is the oracle here; install the dev extra", allow_module_level=True)

RTOL, ATOL = 1e-10, 1e-12
SETTINGS = settings(max_examples=40, deadline=None)

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


# --- the whole network ----------------------------------------------------------------


def torch_two_layer_loss(
    x: np.ndarray, t: np.ndarray, params: dict[str, torch.Tensor]
) -> tuple[torch.Tensor, torch.Tensor]:
    """The book's network written directly in torch: scores and mean cross-entropy."""
    xt = tensor(x).reshape(x.shape[0], -1)
    scores = torch.relu(xt @ params["W1"] + params["b1"]) @ params["W2"] + params["b2"]
    target = tensor(t) if t.ndim == 2 else torch.tensor(t)
    return scores, F.cross_entropy(scores, target)


@SETTINGS
@given(
    data=st.data(),
    n=sizes,
    d=features,
    h=features,
    c=classes,
    std=st.floats(0.01, 2.0),
    seed=st.integers(0, 2**32 - 1),
    one_hot=st.booleans(),
)
def test_two_layer_net_matches_torch(
    data: st.DataObject, n: int, d: int, h: int, c: int, std: float, seed: int, one_hot: bool
) -> None:
    net = TwoLayerNet(
        d, h, c, weight_init_std=std, rng=np.random.default_rng(seed), dtype=np.float64
    )
    # Nonzero biases, so that a wrong db or a bias added to the wrong axis shows.
    net.params["b1"] = data.draw(f64((h,), finite(1.0)))
    net.params["b2"] = data.draw(f64((c,), finite(1.0)))
    x = data.draw(f64((n, d), finite(5.0)))
    labels = data.draw(hnp.arrays(np.int64, (n,), elements=st.integers(0, c - 1)))
    t = np.eye(c)[labels] if one_hot else labels

    scores = net.predict(x).copy()
    loss, grads = net.loss_and_gradient(x, t)

    params = {name: tensor(value, grad=True) for name, value in net.params.items()}
    scores_t, loss_t = torch_two_layer_loss(x, t, params)
    loss_t.backward()
    close(scores, scores_t)
    close(loss, loss_t)
    assert net.loss(x, t) == pytest.approx(loss, rel=1e-14)
    for name, param in params.items():
        close(grads[name], param.grad)


def test_one_sgd_step_matches_torch_optim() -> None:
    rng = np.random.default_rng(0)
    net = TwoLayerNet(12, 7, 4, weight_init_std=0.3, rng=rng, dtype=np.float64)
    x = rng.normal(size=(5, 3, 2, 2))  # images, flattened by Affine1
    t = rng.integers(0, 4, size=5)
    params = {name: tensor(value, grad=True) for name, value in net.params.items()}

    _, grads = net.loss_and_gradient(x, t)
    for name in net.params:
        net.params[name] -= 0.1 * grads[name]

    optimizer = torch.optim.SGD(list(params.values()), lr=0.1)
    optimizer.zero_grad()
    torch_two_layer_loss(x, t, params)[1].backward()
    optimizer.step()
    for name, param in params.items():
        close(net.params[name], param)
    close(net.loss(x, t), torch_two_layer_loss(x, t, params)[1])
