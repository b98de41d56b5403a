"""Trace a whole network (a :class:`~mitbadak.models.Sequential`) on a small batch.

Each layer becomes one node of the graph, its parameters become inputs of that node
under the network's public names (``W1``, ``b1``, ...), and the loss layer closes the
graph with the labels. The network is copied to float64 first, so the trace is exact
enough for the numerical check and the caller's model is never touched. The pass runs
in inference mode (no dropout, batch norm with its running statistics): the view of
what the trained network does with this input.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike

from mitbadak._checks import as_float_input
from mitbadak.conv import Pooling
from mitbadak.explain.record import WHOLE_LIMIT, Picture, Trace
from mitbadak.explain.tracer import GraphTracer
from mitbadak.functions import softmax
from mitbadak.layers import Affine
from mitbadak.models.sequential import Sequential

__all__ = ["IMAGE_SIDE", "KINK_ERROR", "trace_network"]

#: MNIST's images are 28x28: inputs of that many pixels are drawn as pictures.
IMAGE_SIDE = 28
#: A relative error this large is more than rounding: worth a note on kinks.
KINK_ERROR = 1e-5


def _network_input(net: Sequential, x: np.ndarray) -> np.ndarray:
    """x as the first layer expects it: a convnet's flat rows become (N, C, H, W)."""
    input_dim = getattr(getattr(net, "cfg", None), "input_dim", None)
    if input_dim is not None and x.ndim == 2 and x.shape[1] == int(np.prod(input_dim)):
        return x.reshape(x.shape[0], *input_dim)
    return x


def trace_network(
    net: Sequential,
    x: ArrayLike,
    t: ArrayLike,
    *,
    title: str | None = None,
    description: str = "",
    whole_limit: int = WHOLE_LIMIT,
    numerical_limit: int | None = None,
    class_names: Sequence[str] | None = None,
) -> Trace:
    """One forward and backward pass of ``net`` on the batch ``x`` with labels ``t``.

    x: (N, ...) float inputs, t: (N,) integer labels or (N, C) one-hot. See
    :class:`~mitbadak.explain.tracer.GraphTracer` for ``whole_limit`` and
    ``numerical_limit``. Inputs of 784 pixels get pictures: the first sample, its
    gradient, and the columns of the first weight gradient that matter most.
    """
    net64 = net.astype(np.float64)
    x64 = _network_input(net64, as_float_input(x).astype(np.float64))
    n = x64.shape[0]
    name = type(net).__name__
    tracer = GraphTracer(
        title or f"{name} on {n} sample{'s' if n != 1 else ''}",
        description,
        whole_limit=whole_limit,
        numerical_limit=numerical_limit,
    )
    tracer.input("x", x64)
    tracer.label("t", t)
    public = {net64.param_location(pname): pname for pname in net64.params}
    previous = "x"
    for lname, layer in net64.layers.items():
        params = {public[(lname, key)]: key for key in layer.params}
        tracer.node(lname, layer, [previous], f"{lname}.out", params=params)
        previous = f"{lname}.out"
    tracer.node(type(net64.last_layer).__name__, net64.last_layer, [previous, "t"], "L")
    trace = tracer.run()

    scores = trace.value(previous).value.data
    trace.summary = _summary(net64, x64, t, class_names, scores)
    trace.notes = _notes(net64, x64, trace)
    trace.pictures = _pictures(net64, x64, tracer.gradients, public)
    return trace


def _summary(
    net: Sequential,
    x: np.ndarray,
    t: ArrayLike,
    class_names: Sequence[str] | None,
    scores: np.ndarray | None,
) -> list[tuple[str, str]]:
    if scores is None:  # too large to keep whole: score the batch again
        scores = net.predict(x)
    labels = np.asarray(t)
    if labels.ndim == 2:
        labels = labels.argmax(axis=1)

    def named(k: int) -> str:
        return f"{k} ({class_names[k]})" if class_names and k < len(class_names) else str(k)

    probs = softmax(scores)
    rows = []
    for i in range(min(len(probs), 8)):
        guess = int(probs[i].argmax())
        verdict = "right" if guess == int(labels[i]) else "wrong"
        rows.append(
            (
                f"sample {i}",
                f"label {named(int(labels[i]))}, predicted {named(guess)} with probability "
                f"{probs[i, guess]:.3f} ({verdict})",
            )
        )
    return rows


def _notes(net: Sequential, x: np.ndarray, trace: Trace) -> list[str]:
    notes = [
        "Computed in float64 on a copy of the network, in inference mode.",
    ]
    partial = [c for c in trace.checks if c.checked < c.size]
    if partial:
        counts = ", ".join(f"{c.value} {c.checked:,} of {c.size:,}" for c in partial)
        notes.append(
            "Central differences on a sample of the entries of the largest arrays "
            f"({counts}): half where backprop's gradient is largest, half at random."
        )
    off = [c.value for c in trace.checks if c.relative_error >= KINK_ERROR]
    if off:
        ties = _pooling_ties(net, x)
        names = ", ".join(off)
        if ties:
            notes.append(
                f"{ties:,} max-pooling windows hold their maximum more than once (a blank "
                "background gives equal values). There the derivative is not defined: "
                "backprop sends the gradient to the first maximum, as the book's code and "
                "PyTorch do, while central differences average the two sides. That is why "
                f"backprop and central differences disagree for {names}: a kink, not a bug."
            )
        else:
            notes.append(
                f"Backprop and central differences disagree for {names} more than rounding "
                "explains: an input may sit on a kink (a ReLU input at exactly 0), where the "
                "derivative is not defined."
            )
    return notes


def _pooling_ties(net: Sequential, x: np.ndarray) -> int:
    """Windows of (non-overlapping) max pooling whose positive maximum is shared."""
    ties = 0
    acts = x
    for layer in net.layers.values():
        k = getattr(layer, "pool_h", 0)
        if isinstance(layer, Pooling) and layer.pad == 0 and layer.stride == k == layer.pool_w:
            n, c, h, w = acts.shape
            win = acts[:, :, : h // k * k, : w // k * k].reshape(n, c, h // k, k, w // k, k)
            peak = win.max(axis=(3, 5), keepdims=True)
            shared = (win == peak).sum(axis=(3, 5)) > 1
            ties += int(np.count_nonzero(shared & (peak[:, :, :, 0, :, 0] > 0)))
        acts = layer.forward(acts)
    return ties


def _pictures(
    net: Sequential,
    x: np.ndarray,
    grads: dict[str, np.ndarray],
    public: dict[tuple[str, str], str],
) -> list[Picture]:
    side = IMAGE_SIDE
    if x[0].size != side * side:
        return []
    pictures = [
        Picture("input x", "x", x[0].reshape(side, side), signed=False),
        Picture(
            "dL/dx",
            "x",
            grads["x"][0].reshape(side, side),
            signed=True,
            caption="the loss's change per pixel",
        ),
    ]
    for lname, layer in net.layers.items():
        if isinstance(layer, Affine) and layer.W.shape[0] == side * side:
            pname = public[(lname, "W")]
            dW = grads[pname]
            dout = grads[f"{lname}.out"]
            # The units whose gradient is most positive and most negative: for one image
            # each column of dW = xᵀ · dout is the image times that unit's dout.
            total = dout.sum(axis=0)
            for j in dict.fromkeys([int(total.argmax()), int(total.argmin())]):
                caption = (
                    f"= x × {dout[0, j]:.3g} (dout of unit {j})"
                    if x.shape[0] == 1
                    else f"unit {j}: xᵀ · dout, summed over the batch"
                )
                pictures.append(
                    Picture(
                        f"d{pname}[:, {j}]",
                        pname,
                        dW[:, j].reshape(side, side),
                        signed=True,
                        caption=caption,
                    )
                )
            break
    return pictures
