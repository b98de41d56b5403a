"""What the page shows for one 28x28 input: prediction, hidden activations, backward pass.

:func:`analyse` runs the network forward once, layer by layer, keeping what each
activation layer (ReLU, sigmoid) puts out, then traces one forward and backward pass with
:func:`mitbadak.explain.trace_network` for the class asked about (the predicted one by
default): the loss's gradient with respect to the input, and the whole graph for the
explain viewer. Central differences are the slow part of a trace (two forward passes per
entry), so only ``numerical_entries`` entries of each input and parameter are checked.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mitbadak.explain import trace_network
from mitbadak.explain.record import plain_number
from mitbadak.functions import softmax
from mitbadak.layers import Relu, Sigmoid
from mitbadak.models import Sequential

__all__ = ["MAX_CHANNELS", "ClassOutOfRange", "NUMERICAL_ENTRIES", "SIDE", "analyse", "numbers"]

#: The input's side: the page's images are MNIST's 28x28.
SIDE = 28
#: Entries of each input and parameter the page's traces check by central differences.
NUMERICAL_ENTRIES = 6
#: Feature maps of a convolutional activation sent to the page, at most.
MAX_CHANNELS = 16


class ClassOutOfRange(ValueError):
    """The class asked about is not one of the model's."""


def numbers(a: NDArray[np.floating] | Sequence[float]) -> list[Any]:
    """A flat list of JSON numbers (NaN and infinities as the trace writes them)."""
    flat = np.asarray(a, dtype=np.float64).reshape(-1)
    if np.isfinite(flat).all():
        return list(flat.tolist())
    return [plain_number(v) for v in flat]


def _network_input(net: Sequential, x: NDArray[np.float32]) -> NDArray[np.float32]:
    """x as the first layer takes it: a convnet's flat rows become (N, C, H, W)."""
    input_dim = getattr(getattr(net, "cfg", None), "input_dim", None)
    if input_dim is not None and x.shape[1] == math.prod(input_dim):
        return x.reshape(x.shape[0], *input_dim)
    return x


def _activations(net: Sequential, x: NDArray[np.float32]) -> tuple[np.ndarray, list[dict]]:
    """The scores (C,) and, for every activation layer, its output for the one sample."""
    out = _network_input(net, x.astype(net.dtype, copy=False))
    hidden = []
    for name, layer in net.layers.items():
        out = layer.forward(out)
        if isinstance(layer, Relu | Sigmoid):
            values = out[0]
            kept = values[:MAX_CHANNELS] if values.ndim == 3 else values
            hidden.append(
                {
                    "layer": name,
                    "op": type(layer).__name__,
                    "shape": list(values.shape),
                    "values": numbers(kept),
                    "shown_shape": list(kept.shape),
                    "active": int(np.count_nonzero(values > 0)),
                }
            )
    return out[0], hidden


def analyse(
    net: Sequential,
    x: NDArray[np.float32],
    *,
    label: int | None = None,
    explain: bool = True,
    numerical_entries: int | None = NUMERICAL_ENTRIES,
    class_names: Sequence[str] | None = None,
    source: str = "your drawing",
) -> dict[str, Any]:
    """Predict ``x`` and, with ``explain``, trace the backward pass for class ``label``.

    x: (1, 784) float32 in [0, 1], a digit prepared as MNIST's (white on black).
    ``label`` None means the predicted class. ``numerical_entries`` None checks every
    entry (slow for a whole network). Returns a JSON-ready dict; see the README's API.
    :class:`ClassOutOfRange` for a ``label`` the model does not have; ``ValueError`` if
    the network cannot take a 784-pixel input.
    The caller holds the model's lock: the layers keep state while this runs.
    """
    scores, hidden = _activations(net, x)
    probs = softmax(scores.astype(np.float64))
    order = [int(k) for k in np.argsort(-probs, kind="stable")]
    predicted = order[0]
    if label is not None and not 0 <= label < len(probs):
        raise ClassOutOfRange(
            f"class {label} is out of range: the model has {len(probs)} classes "
            f"(0 to {len(probs) - 1})"
        )

    def name(k: int) -> str | None:
        return class_names[k] if class_names and k < len(class_names) else None

    result: dict[str, Any] = {
        "predicted": predicted,
        "top": [{"class": k, "name": name(k), "probability": float(probs[k])} for k in order[:3]],
        "probabilities": numbers(probs),
        "input": numbers(x),
        "hidden": hidden,
    }
    if not explain:
        return result
    chosen = predicted if label is None else label
    described = f"{chosen} ({name(chosen)})" if name(chosen) else str(chosen)
    how = "the predicted class" if label is None else "the class you chose"
    trace = trace_network(
        net,
        x,
        np.array([chosen]),
        title=f"{type(net).__name__} on {source}, backward for class {described}",
        description=f"One forward and backward pass on {source}, with label {described} "
        f"({how}). The gradients are those of the loss -log p({chosen}): following them "
        f"downhill makes the network surer of {chosen}.",
        numerical_limit=numerical_entries,
        class_names=class_names,
    )
    gradient = next(p for p in trace.pictures if p.value == "x" and p.signed)
    partial = [c for c in trace.checks if c.checked < c.size]
    result.update(
        {
            "class": chosen,
            "class_from": "predicted" if label is None else "request",
            "loss": plain_number(trace.result),
            "gradient": numbers(gradient.data),
            "numerical": {
                "entries": numerical_entries,
                "checked": [
                    {"value": c.value, "checked": c.checked, "size": c.size} for c in partial
                ],
                "largest_relative_error": plain_number(
                    max((c.relative_error for c in trace.checks), default=0.0)
                ),
            },
            "trace": trace.to_dict(),
        }
    )
    return result
