"""The worked examples of ``mitbadak explain`` without a model: the book's apple example,
the same bill with a value used twice, and a tiny TwoLayerNet with every number visible."""

from __future__ import annotations

import numpy as np

from mitbadak.explain.network import trace_network
from mitbadak.explain.record import Trace
from mitbadak.explain.tracer import GraphTracer
from mitbadak.graph import AddLayer, MulLayer
from mitbadak.models import TwoLayerNet

__all__ = ["apple_trace", "default_traces", "tax_twice_trace", "tiny_network_trace"]


def _shop(tracer: GraphTracer) -> None:
    tracer.input("apple", 100.0)
    tracer.input("apple_num", 2.0)
    tracer.input("orange", 150.0)
    tracer.input("orange_num", 3.0)
    tracer.input("tax", 1.1)
    tracer.node("mul_apple", MulLayer(), ["apple", "apple_num"], "apple_price")
    tracer.node("mul_orange", MulLayer(), ["orange", "orange_num"], "orange_price")


def apple_trace() -> Trace:
    """The book's section 5.4: 2 apples at 100, 3 oranges at 150, tax 1.1; price 715."""
    tracer = GraphTracer(
        "The apple example",
        "Buying 2 apples at 100 each and 3 oranges at 150 each, with a consumption tax "
        "of 1.1 (chapter 5.4). Backward starts from dprice = 1 and gives, for each input, "
        "how much the price changes when that input grows by a little.",
    )
    _shop(tracer)
    tracer.node("add_apple_orange", AddLayer(), ["apple_price", "orange_price"], "all_price")
    tracer.node("mul_tax", MulLayer(), ["all_price", "tax"], "price")
    return tracer.run()


def tax_twice_trace() -> Trace:
    """The same bill with the tax charged on each item: ``tax`` feeds two nodes."""
    tracer = GraphTracer(
        "A value used twice: tax on each item",
        "The same bill, with the tax charged on the apples and on the oranges separately. "
        "tax now feeds two nodes, so its gradient is the sum of what the two send back: "
        "200 + 450 = 650, as in the book's graph. Gradients add up wherever a value "
        "is used more than once.",
    )
    _shop(tracer)
    tracer.node("mul_apple_tax", MulLayer(), ["apple_price", "tax"], "apple_total")
    tracer.node("mul_orange_tax", MulLayer(), ["orange_price", "tax"], "orange_total")
    tracer.node("add_totals", AddLayer(), ["apple_total", "orange_total"], "price")
    return tracer.run()


def tiny_network_trace() -> Trace:
    """TwoLayerNet(3, 4, 3) on a batch of two samples, weights rounded to be read by hand."""
    net = TwoLayerNet(3, 4, 3, rng=np.random.default_rng(0), dtype=np.float64)
    rng = np.random.default_rng(9)
    for name in net.params:
        net.params[name] = np.round(rng.normal(0.0, 0.5, net.params[name].shape), 1)
    x = np.array([[1.0, 0.5, -1.0], [0.2, -0.4, 0.8]])
    t = np.array([0, 2])
    return trace_network(
        net,
        x,
        t,
        title="A tiny TwoLayerNet on a batch of 2",
        description="TwoLayerNet(input_size=3, hidden_size=4, output_size=3): Affine1, Relu1, "
        "Affine2 and SoftmaxWithLoss, the book's network in miniature, on two samples with "
        "labels 0 and 2; weights and biases are drawn at random and rounded to one decimal "
        "so that every step can be followed by hand.",
    )


def default_traces() -> list[Trace]:
    """What ``mitbadak explain`` shows without a model, in order."""
    return [apple_trace(), tax_twice_trace(), tiny_network_trace()]
