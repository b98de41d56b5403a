"""The numbers of explain's traces against PyTorch autograd, computed independently.

Every value of a trace (inputs, parameters and what each node computed) and its
gradient must match the same graph written in torch, with ``retain_grad`` on the
intermediate values. For a value used twice, each node's share of the gradient is
compared with torch's gradient for a separate copy of that value. Skipped, with the
reason, when PyTorch is not installed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pytest

from mitbadak.data import load_mnist
from mitbadak.explain import Trace, apple_trace, tax_twice_trace, tiny_network_trace, trace_network
from mitbadak.models import SimpleConvNet, TwoLayerNet

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


def leaf(value: object) -> torch.Tensor:
    return torch.tensor(np.asarray(value, dtype=np.float64), requires_grad=True)


def kept(t: torch.Tensor) -> torch.Tensor:
    t.retain_grad()
    return t


def assert_trace_matches(trace: Trace, tensors: dict[str, torch.Tensor]) -> None:
    """Every value of ``trace`` named in ``tensors``: forward value and gradient."""
    for name, tensor in tensors.items():
        record = trace.value(name)
        np.testing.assert_allclose(
            record.value.array(), tensor.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=name
        )
        assert tensor.grad is not None and record.grad is not None, name
        np.testing.assert_allclose(
            record.grad.array(), tensor.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=name
        )


def test_the_apple_example_matches_autograd() -> None:
    v = {
        n: leaf(x)
        for n, x in [
            ("apple", 100.0),
            ("apple_num", 2.0),
            ("orange", 150.0),
            ("orange_num", 3.0),
            ("tax", 1.1),
        ]
    }
    v["apple_price"] = kept(v["apple"] * v["apple_num"])
    v["orange_price"] = kept(v["orange"] * v["orange_num"])
    v["all_price"] = kept(v["apple_price"] + v["orange_price"])
    v["price"] = kept(v["all_price"] * v["tax"])
    v["price"].backward()
    assert_trace_matches(apple_trace(), v)


def test_a_value_used_twice_matches_autograd_share_by_share() -> None:
    # Two copies of tax, one per node: torch's gradient of each copy is that node's share.
    v = {
        n: leaf(x)
        for n, x in [("apple", 100.0), ("apple_num", 2.0), ("orange", 150.0), ("orange_num", 3.0)]
    }
    tax_a, tax_o = leaf(1.1), leaf(1.1)
    v["apple_price"] = kept(v["apple"] * v["apple_num"])
    v["orange_price"] = kept(v["orange"] * v["orange_num"])
    v["apple_total"] = kept(v["apple_price"] * tax_a)
    v["orange_total"] = kept(v["orange_price"] * tax_o)
    v["price"] = kept(v["apple_total"] + v["orange_total"])
    v["price"].backward()
    trace = tax_twice_trace()
    assert_trace_matches(trace, v)
    assert tax_a.grad is not None and tax_o.grad is not None
    shares = {node: g.scalar for node, g in trace.value("tax").contributions}
    assert shares["mul_apple_tax"] == pytest.approx(float(tax_a.grad), rel=RTOL)
    assert shares["mul_orange_tax"] == pytest.approx(float(tax_o.grad), rel=RTOL)
    total = trace.value("tax").grad
    assert total is not None
    assert total.scalar == pytest.approx(float(tax_a.grad + tax_o.grad), rel=RTOL)


def two_layer_tensors(trace: Trace, t: np.ndarray) -> dict[str, torch.Tensor]:
    """TwoLayerNet's graph in torch, from the trace's own inputs and parameters."""
    v = {n: leaf(trace.value(n).value.array()) for n in ("x", "W1", "b1", "W2", "b2")}
    v["Affine1.out"] = kept(v["x"] @ v["W1"] + v["b1"])
    v["Relu1.out"] = kept(torch.relu(v["Affine1.out"]))
    v["Affine2.out"] = kept(v["Relu1.out"] @ v["W2"] + v["b2"])
    v["L"] = kept(F.cross_entropy(v["Affine2.out"], torch.tensor(t)))
    v["L"].backward()
    return v


def test_the_tiny_network_matches_autograd() -> None:
    trace = tiny_network_trace()
    v = two_layer_tensors(trace, np.array([0, 2]))
    assert_trace_matches(trace, v)
    assert trace.result == pytest.approx(float(v["L"].detach()), rel=RTOL)


def test_a_network_on_a_real_digit_matches_autograd() -> None:
    (_, _), (x_test, t_test) = load_mnist(dataset="mnist-sample")
    net = TwoLayerNet(784, 50, 10, weight_init_std=0.1, rng=np.random.default_rng(4))
    x, t = x_test[:1], t_test[:1]
    trace = trace_network(net, x, t, whole_limit=50_000, numerical_limit=100)
    v = two_layer_tensors(trace, t.astype(np.int64))
    assert_trace_matches(trace, v)
    # The pictures are the same numbers: dL/dx and the columns of dW1.
    assert v["x"].grad is not None and v["W1"].grad is not None
    pictures = {p.title: p.data for p in trace.pictures}
    np.testing.assert_allclose(pictures["dL/dx"].reshape(-1), v["x"].grad.numpy()[0], rtol=RTOL)
    for title, data in pictures.items():
        if title.startswith("dW1[:, "):
            j = int(title.split(", ")[1].rstrip("]"))
            np.testing.assert_allclose(data.reshape(-1), v["W1"].grad.numpy()[:, j], rtol=RTOL)


def test_a_convnet_trace_matches_autograd() -> None:
    rng = np.random.default_rng(5)
    conv = {"filter_num": 3, "filter_size": 3, "pad": 1, "stride": 1}
    net = SimpleConvNet((1, 6, 6), conv, hidden_size=4, output_size=3, weight_init_std=0.3, rng=rng)
    x = rng.random((2, 36))
    t = np.array([1, 2])
    trace = trace_network(net, x, t, whole_limit=10_000)
    p = {n: leaf(trace.value(n).value.array()) for n in net.params}
    xt = leaf(x.reshape(2, 1, 6, 6))
    v = {"x": xt, **p}
    v["Conv1.out"] = kept(F.conv2d(xt, p["W1"], p["b1"], stride=1, padding=1))
    v["Relu1.out"] = kept(torch.relu(v["Conv1.out"]))
    v["Pool1.out"] = kept(F.max_pool2d(v["Relu1.out"], 2, 2))
    v["Flatten1.out"] = kept(v["Pool1.out"].reshape(2, -1))
    v["Affine1.out"] = kept(v["Flatten1.out"] @ p["W2"] + p["b2"])
    v["Relu2.out"] = kept(torch.relu(v["Affine1.out"]))
    v["Affine2.out"] = kept(v["Relu2.out"] @ p["W3"] + p["b3"])
    v["L"] = kept(F.cross_entropy(v["Affine2.out"], torch.tensor(t)))
    v["L"].backward()
    assert_trace_matches(trace, v)
