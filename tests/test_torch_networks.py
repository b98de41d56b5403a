"""The whole networks against their PyTorch twins (tests/torch_reference.py), in float64.

TwoLayerNet over hypothesis-generated sizes and values; one training step of
MultiLayerNet (batch norm and weight decay), of SimpleConvNet (padded
convolution) and of DeepConvNet (dropout masks shared); and one SGD step of TwoLayerNet
against ``torch.optim.SGD``. The loss,
the scores and every parameter gradient must agree with torch autograd's.

The module is skipped, with the reason, when PyTorch is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mitbadak.models import DeepConvNet, SimpleConvNet, TwoLayerNet
from test_nets import small_mlp

if TYPE_CHECKING:
    import torch
else:
    torch = pytest.importorskip(
        "torch",
        reason="PyTorch is the test oracle: install the dev extra (pip install -e '.[dev]')",
    )

import torch_reference
from test_torch_oracle import SETTINGS, classes, close, f64, features, finite, sizes

# --- TwoLayerNet ----------------------------------------------------------------------


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

    params = torch_reference.tensors(net)
    scores_t = torch_reference.scores(net, x, params)
    loss_t = torch_reference.cross_entropy(scores_t, t)
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
    params = torch_reference.tensors(net)

    _, grads = net.loss_and_gradient(x, t)
    for name in net.params:
        net.params[name] -= 0.1 * grads[name]

    optimizer = torch.optim.SGD(list(params.values()), lr=0.1)
    optimizer.zero_grad()
    torch_reference.loss(net, x, t, params).backward()
    optimizer.step()
    for name, param in params.items():
        close(net.params[name], param)
    close(net.loss(x, t), torch_reference.loss(net, x, t, params))


# --- MultiLayerNet --------------------------------------------------------------------


def test_multilayernet_training_step_matches_torch() -> None:
    rng = np.random.default_rng(8)
    x, t = rng.standard_normal((10, 20)), rng.integers(0, 4, 10)
    lam = 0.05
    net = small_mlp(use_batchnorm=True, weight_decay_lambda=lam, dtype=np.float64)
    loss, grads = net.loss_and_gradient(x, t)

    # Batch norm in training mode and the penalty 0.5 * lam * sum ||W||^2, in torch.
    tloss, tgrads = torch_reference.loss_and_grads(net, x, t)
    assert loss == pytest.approx(tloss, rel=1e-12)
    assert set(tgrads) == set(net.params)
    for name, tgrad in tgrads.items():
        np.testing.assert_allclose(grads[name], tgrad, rtol=1e-9, atol=1e-12)


# --- SimpleConvNet --------------------------------------------------------------------


def test_simpleconvnet_training_step_matches_torch() -> None:
    rng = np.random.default_rng(11)
    net = SimpleConvNet(
        (2, 9, 9),
        {"filter_num": 4, "filter_size": 3, "pad": 1, "stride": 1},
        7,
        5,
        weight_init="he",
        rng=np.random.default_rng(3),
        dtype=np.float64,
    )
    x, t = rng.standard_normal((4, 2, 9, 9)), rng.integers(0, 5, 4)
    loss, grads = net.loss_and_gradient(x, t)
    tloss, tgrads = torch_reference.loss_and_grads(net, x, t)
    assert loss == pytest.approx(tloss, rel=1e-12)
    assert set(tgrads) == set(net.params)
    for name, tgrad in tgrads.items():
        np.testing.assert_allclose(grads[name], tgrad, rtol=1e-9, atol=1e-12)


# --- DeepConvNet ----------------------------------------------------------------------


@pytest.mark.parametrize("input_dim", [(1, 28, 28), (3, 10, 9)])
def test_deepconvnet_training_step_matches_torch(input_dim: tuple[int, int, int]) -> None:
    rng = np.random.default_rng(12)
    # The book's filters on MNIST-sized images (channels >= 8 take the wide-row
    # convolution and the flipped-filter dx), and on odd-sized colour images.
    net = DeepConvNet(input_dim, hidden_size=7, output_size=4, rng=rng, dtype=np.float64)
    for i in range(1, 9):  # nonzero biases, so that a bias on the wrong axis shows
        net.params[f"b{i}"] = 0.1 * rng.standard_normal(net.params[f"b{i}"].shape)
    x, t = rng.standard_normal((3, *input_dim)), rng.integers(0, 4, 3)
    loss, grads = net.loss_and_gradient(x, t)
    tloss, tgrads = torch_reference.loss_and_grads(net, x, t)
    assert loss == pytest.approx(tloss, rel=1e-12)
    assert set(tgrads) == set(net.params)
    for name, tgrad in tgrads.items():
        np.testing.assert_allclose(grads[name], tgrad, rtol=1e-9, atol=1e-12, err_msg=name)
    # Inference too: predict leaves no dropout mask behind, so the twin applies none.
    ours = net.predict(x)
    close(ours, torch_reference.scores(net, x, torch_reference.tensors(net)))
