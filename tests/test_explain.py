"""mitbadak.explain: the trace of one pass, its numbers, its JSON and its text view."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mitbadak.explain import (
    ArrayView,
    GraphTracer,
    Trace,
    apple_trace,
    default_traces,
    tax_twice_trace,
    tiny_network_trace,
    trace_network,
)
from mitbadak.explain.record import largest_first
from mitbadak.explain.text import WIDTH, ascii_text, grad_name, render_text
from mitbadak.graph import AddLayer, MulLayer
from mitbadak.layers import Relu
from mitbadak.models import MultiLayerNet, SimpleConvNet, TwoLayerNet
from mitbadak.numerical import numerical_gradient, numerical_partials


def grads_of(trace: Trace) -> dict[str, float]:
    return {v.name: v.grad.scalar for v in trace.values if v.grad is not None}


def grad(trace: Trace, name: str) -> np.ndarray:
    """dL/d(name) as the trace kept it, whole."""
    view = trace.value(name).grad
    assert view is not None, name
    return view.array()


def test_the_apple_example_has_the_books_numbers() -> None:
    trace = apple_trace()
    assert trace.result == pytest.approx(715.0)
    values = {v.name: v.value.scalar for v in trace.values}
    assert values["apple_price"] == 200 and values["orange_price"] == 450
    assert values["all_price"] == 650 and values["price"] == pytest.approx(715)
    grads = grads_of(trace)
    expected = {"apple": 2.2, "apple_num": 110, "orange": 3.3, "orange_num": 165, "tax": 650}
    for name, value in expected.items():
        assert grads[name] == pytest.approx(value, rel=1e-12)
    for name in ("apple_price", "orange_price", "all_price"):
        assert grads[name] == pytest.approx(1.1)
    assert grads["price"] == 1.0


def test_backward_runs_in_reverse_order_with_the_incoming_gradient() -> None:
    trace = apple_trace()
    assert [n.name for n in trace.nodes] == [
        "mul_apple",
        "mul_orange",
        "add_apple_orange",
        "mul_tax",
    ]
    assert [s.node for s in trace.backward] == [
        "mul_tax",
        "add_apple_orange",
        "mul_orange",
        "mul_apple",
    ]
    assert [s.step for s in trace.backward] == [1, 2, 3, 4]
    assert [n.backward_step for n in trace.nodes] == [4, 3, 2, 1]
    douts = [(s.dout_value, s.dout.scalar) for s in trace.backward]
    assert douts == [
        ("price", 1.0),
        ("all_price", pytest.approx(1.1)),
        ("orange_price", pytest.approx(1.1)),
        ("apple_price", pytest.approx(1.1)),
    ]
    first = trace.backward[0]
    assert [(v, g.scalar) for v, g in first.grads] == [
        ("all_price", pytest.approx(1.1)),
        ("tax", pytest.approx(650)),
    ]
    # Mul's rule shows the swapped inputs it multiplies by.
    assert "dx = dout × y" in first.rule.formula
    assert dict((label, v.scalar) for label, v in first.rule.arrays) == {
        "y = tax": pytest.approx(1.1),
        "x = all_price": 650,
    }


def test_a_value_used_twice_collects_the_sum_of_its_gradients() -> None:
    trace = tax_twice_trace()
    tax = trace.value("tax")
    assert tax.consumers == ["mul_apple_tax", "mul_orange_tax"]
    shares = {node: g.scalar for node, g in tax.contributions}
    assert shares == {"mul_apple_tax": pytest.approx(200), "mul_orange_tax": pytest.approx(450)}
    assert tax.grad is not None and tax.grad.scalar == pytest.approx(650)
    # Same bill, same gradients as the book's graph.
    assert grads_of(trace)["apple"] == pytest.approx(grads_of(apple_trace())["apple"])
    # A value with one consumer keeps no separate contributions.
    assert trace.value("apple").contributions == []


def test_numerical_gradients_agree_with_backprop() -> None:
    for trace in default_traces():
        names = {c.value for c in trace.checks}
        inputs = {v.name for v in trace.values if v.role in ("input", "param")}
        assert names == inputs
        for check in trace.checks:
            assert check.checked == check.size
            assert check.relative_error < 1e-7, (trace.title, check)
            assert check.numerical is not None
            np.testing.assert_allclose(
                check.numerical.array(), grad(trace, check.value), rtol=1e-6, atol=1e-9
            )


def test_the_tiny_network_trace_matches_the_networks_own_backprop() -> None:
    trace = tiny_network_trace()
    x = trace.value("x").value.array()
    t = np.array([0, 2])
    net = TwoLayerNet(3, 4, 3, dtype=np.float64)
    for name in net.params:
        net.params[name] = trace.value(name).value.array()
    loss, grads = net.loss_and_gradient(x, t)
    assert trace.result == pytest.approx(loss, rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(grad(trace, name), g, rtol=1e-12)
    steps = {s.node: s for s in trace.backward}
    # ReLU's rule is its mask; softmax's rule gives (y - t) / N, the gradient it sends.
    a1 = trace.value("Affine1.out").value.array()
    mask = dict(steps["Relu1"].rule.arrays)["passes (x > 0)"].array()
    np.testing.assert_array_equal(mask, np.greater(a1, 0).astype(float))
    soft = dict(steps["SoftmaxWithLoss"].rule.arrays)
    y, onehot = soft["y = softmax(x)"].array(), soft["t (one-hot)"].array()
    sent = dict(steps["SoftmaxWithLoss"].grads)["Affine2.out"].array()
    np.testing.assert_allclose(sent, (y - onehot) / 2, rtol=1e-12)
    # Affine's rule arrays are Wᵀ and xᵀ, and dW = xᵀ · dout.
    affine2 = dict(steps["Affine2"].rule.arrays)
    np.testing.assert_array_equal(affine2["Wᵀ"].array(), trace.value("W2").value.array().T)
    np.testing.assert_allclose(
        dict(steps["Affine2"].param_grads)["W2"].array(),
        affine2["xᵀ"].array() @ steps["Affine2"].dout.array(),
        rtol=1e-12,
    )
    assert [label for label, _ in trace.summary] == ["sample 0", "sample 1"]


def test_large_arrays_are_summarised_with_their_largest_entries() -> None:
    a = np.zeros((30, 40))
    a[7, 9], a[2, 3] = -5.0, 4.0
    view = ArrayView.of(a, whole_limit=64)
    assert view.data is None and view.shape == (30, 40) and view.size == 1200
    assert view.stats["min"] == -5.0 and view.stats["max"] == 4.0 and view.stats["zeros"] == 1198
    indices = [index for index, _ in view.entries]
    assert indices[:3] == [(0, 0), (0, 1), (0, 2)]  # the first three, then the largest
    assert (7, 9) in indices and (2, 3) in indices
    small = ArrayView.of(np.arange(6.0).reshape(2, 3))
    np.testing.assert_array_equal(small.array(), np.arange(6.0).reshape(2, 3))
    with pytest.raises(ValueError, match="kept as a summary"):
        view.array()
    with pytest.raises(ValueError, match="not a single value"):
        _ = small.scalar


@given(
    arrays(np.float64, st.integers(1, 40), elements=st.sampled_from([0.0, 1.0, 2.0, 3.5])),
    st.integers(0, 45),
)
def test_largest_first_is_a_stable_argsort_prefix(a: np.ndarray, count: int) -> None:
    # Ties are many here: the partition must pick the first indices, as a stable sort does.
    expected = np.argsort(-a, kind="stable")[:count]
    np.testing.assert_array_equal(largest_first(a, count), expected)


def test_the_trace_is_plain_json() -> None:
    trace = apple_trace()
    data = json.loads(trace.to_json())
    assert data["format"] == "mitbadak-trace" and data["version"] == 1
    assert data["result"] == pytest.approx(715)
    assert [s["node"] for s in data["backward"]] == [
        "mul_tax",
        "add_apple_orange",
        "mul_orange",
        "mul_apple",
    ]
    apple = next(v for v in data["values"] if v["name"] == "apple")
    assert apple["grad"]["data"] == pytest.approx(2.2) and apple["value"]["shape"] == []
    # Non-finite numbers become strings, so the JSON stays strict.
    view = ArrayView.of(np.array([1.0, np.nan, np.inf, -np.inf]))
    assert view.to_dict()["data"] == [1.0, "nan", "inf", "-inf"]
    json.dumps(view.to_dict(), allow_nan=False)


def test_the_tracer_refuses_a_malformed_graph() -> None:
    tracer = GraphTracer("bad")
    tracer.input("a", 1.0)
    with pytest.raises(ValueError, match="already has a value named 'a'"):
        tracer.input("a", 2.0)
    with pytest.raises(ValueError, match="reads 'b', which no earlier step provides"):
        tracer.node("mul", MulLayer(), ["a", "b"], "c")
    with pytest.raises(ValueError, match="no node to run"):
        tracer.run()
    tracer.input("v", np.array([1.0, -2.0]))
    tracer.node("relu", Relu(), ["v"], "r")
    with pytest.raises(ValueError, match="must be one number"):
        tracer.run()


def test_broadcast_values_get_gradients_of_their_own_shape() -> None:
    # b is added to every row: its gradient is the sum over the rows (Affine's db).
    tracer = GraphTracer("broadcast")
    tracer.input("x", np.array([[1.0, 2.0], [3.0, 4.0]]))
    tracer.input("b", np.array([0.5, -0.5]))
    tracer.input("w", np.array([[1.0, 1.0], [1.0, 1.0]]))
    tracer.node("add", AddLayer(), ["x", "b"], "s")
    tracer.node("mul", MulLayer(), ["s", "w"], "p")
    tracer.input("ones", np.ones((2, 2)))
    tracer.node("total", _Sum(), ["p"], "L")
    trace = tracer.run()
    np.testing.assert_allclose(grad(trace, "b"), np.array([2.0, 2.0]))
    assert all(c.relative_error < 1e-8 for c in trace.checks)


class _Sum:
    """A one-input node that sums its input: gives the graph a scalar output."""

    params: dict[str, np.ndarray] = {}
    grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return np.asarray(x.sum())

    def backward(self, dout: np.ndarray) -> np.ndarray:
        return np.full(self.shape, float(dout))


def test_unknown_layers_get_a_generic_rule() -> None:
    tracer = GraphTracer("sum")
    tracer.input("x", np.array([1.0, 2.0]))
    tracer.node("total", _Sum(), ["x"], "L")
    trace = tracer.run()
    assert trace.backward[0].rule.formula == "see _Sum.backward"
    assert grad(trace, "x").tolist() == [1.0, 1.0]


def test_large_parameters_are_checked_on_a_sample_of_entries() -> None:
    rng = np.random.default_rng(0)
    net = TwoLayerNet(784, 20, 10, weight_init_std=0.1, rng=rng)
    x = rng.random((1, 784)).astype(np.float32)
    trace = trace_network(net, x, np.array([3]), numerical_limit=200)
    checks = {c.value: c for c in trace.checks}
    assert checks["W1"].size == 784 * 20 and checks["W1"].checked == 200
    assert checks["b1"].checked == 20 and checks["b2"].checked == 10
    assert checks["W1"].numerical is None  # a sample: no whole numerical array
    for check in checks.values():
        assert check.relative_error < 1e-6, check
    assert any("sample of the entries" in note for note in trace.notes)


def test_an_image_input_gets_pictures_of_its_gradients() -> None:
    rng = np.random.default_rng(1)
    net = TwoLayerNet(784, 16, 10, weight_init_std=0.1, rng=rng)
    x = rng.random((1, 784)).astype(np.float32)
    trace = trace_network(net, x, np.array([4]), numerical_limit=50)
    titles = [p.title for p in trace.pictures]
    assert titles[:2] == ["input x", "dL/dx"] and len(titles) == 4
    assert all(p.data.shape == (28, 28) for p in trace.pictures)
    net64 = net.astype(np.float64)
    grads = net64.gradient(x.astype(np.float64), np.array([4]))
    # Each dW1 picture is a column of dW1: the image times that unit's gradient.
    for picture in trace.pictures[2:]:
        j = int(picture.title.split(", ")[1].rstrip("]"))
        np.testing.assert_allclose(picture.data.reshape(-1), grads["W1"][:, j], rtol=1e-10)


def test_any_trained_network_can_be_traced() -> None:
    rng = np.random.default_rng(2)
    conv = SimpleConvNet(
        (1, 8, 8),
        {"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1},
        hidden_size=5,
        output_size=3,
        weight_init_std=0.3,
        rng=rng,
    )
    mlp = MultiLayerNet(
        6, [5, 4], 3, activation="sigmoid", use_batchnorm=True, dropout_ratio=0.3, rng=rng
    )
    cases = [(conv, rng.random((2, 64))), (mlp, rng.standard_normal((2, 6)))]
    for net, x in cases:
        trace = trace_network(net, x, np.array([0, 2]))
        assert [n.name for n in trace.nodes][:-1] == list(net.layers)
        assert trace.result == pytest.approx(net.astype(np.float64).loss(x, np.array([0, 2])))
        for check in trace.checks:
            assert check.relative_error < 1e-6, (type(net).__name__, check)
        text = render_text(trace)
        assert all(len(line) <= WIDTH for line in text.splitlines())


def test_the_text_fits_80_columns_in_plain_ascii() -> None:
    text = render_text(default_traces())
    lines = text.splitlines()
    assert all(len(line) <= WIDTH for line in lines)
    assert text.isascii()
    assert not any(ch < " " and ch != "\n" for ch in text)
    assert "apple_price 200, orange_price 450  ->  all_price 650" in text
    assert "   -> dapple = 2.2" in text and "   -> dtax = 650" in text
    assert "dtax = 450 + 200 = 650" in text
    assert "rule: dx = dout . W^T,  dW = x^T . dout" in text
    # The tiny net's arrays are printed whole.
    assert "   -> dW1  (3, 4)" in text and "[[" in text


def test_ascii_spelling_of_formulas() -> None:
    assert ascii_text("dx = dout · Wᵀ, db = Σ dout × y(1 − y)") == (
        "dx = dout . W^T, db = sum dout * y(1 - y)"
    )
    assert grad_name("apple") == "dapple" and grad_name("Affine1.out") == "d(Affine1.out)"


def test_numerical_partials_are_the_central_differences_at_those_entries() -> None:
    x = np.random.default_rng(3).standard_normal((3, 4))

    def f(v: np.ndarray) -> float:
        return float(np.sum(np.sin(v) * v))

    full = numerical_gradient(f, x.copy())
    picks = [(0, 1), (2, 3), (1, 0)]
    np.testing.assert_array_equal(numerical_partials(f, x, picks), [full[i] for i in picks])


def test_ties_in_max_pooling_are_explained_as_a_kink() -> None:
    # A blank image and a positive bias: every pooling window holds equal maxima, where
    # backprop picks the first and central differences average both sides.
    rng = np.random.default_rng(6)
    conv = {"filter_num": 2, "filter_size": 3, "pad": 0, "stride": 1}
    net = SimpleConvNet((1, 6, 6), conv, hidden_size=4, output_size=3, weight_init_std=0.5, rng=rng)
    net.params["b1"] = np.full(2, 0.2, dtype=np.float32)
    x = np.zeros((1, 36))
    x[0, 14] = 1.0
    trace = trace_network(net, x, np.array([1]))
    checks = {c.value: c for c in trace.checks}
    assert checks["x"].relative_error > 1e-5  # the kink shows
    assert checks["W3"].relative_error < 1e-7  # after the pooling, nothing to average
    # Count the tied windows here, from the network's own layers.
    net64 = net.astype(np.float64)
    relu = net64.layers["Relu1"].forward(net64.layers["Conv1"].forward(x.reshape(1, 1, 6, 6)))
    windows = relu.reshape(1, 2, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    tied = int(sum((w == w.max()).sum() > 1 and w.max() > 0 for w in windows))
    assert tied > 0
    (note,) = [n for n in trace.notes if "max-pooling windows" in n]
    assert note.startswith(f"{tied} max-pooling windows hold their maximum more than once")
    assert "disagree for x" in note and "a kink, not a bug" in note
