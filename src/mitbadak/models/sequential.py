"""A general network: layers applied in order, then a loss layer, with named parameters.

:class:`Sequential` knows the layer protocol of :mod:`mitbadak.layers` and nothing of any
concrete layer: training-mode behaviour and random draws go through the protocol's
``train=`` flag and its random-state hook.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from typing import Any, Literal, Self

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from mitbadak._checks import as_float_input, check_float_dtype, check_positive_int
from mitbadak._types import FloatArray
from mitbadak.layers import Layer, LossLayer, SoftmaxWithLoss
from mitbadak.numerical import numerical_gradient

__all__ = ["EVAL_BATCH_SIZE", "ParamDict", "Sequential"]

#: Samples per chunk when scoring a whole dataset (accuracy, evaluation). Large enough
#: that a dense net's GEMMs stay efficient, small enough that a convnet's im2col
#: buffers stay in cache-friendly sizes; benchmarks/README.md has the measurements.
EVAL_BATCH_SIZE = 1000


class ParamDict(MutableMapping[str, FloatArray]):
    """A model's parameters (or gradients) by name, backed by the layers that own them.

    Reading ``net.params["W1"]`` gives the very array the layer computes with, so
    in-place updates (``net.params["W1"] -= lr * g``) reach the layer; assigning
    ``net.params["W1"] = new`` hands the new array to the layer after checking its
    shape. Entries cannot be added or deleted.
    """

    def __init__(
        self, index: Mapping[str, tuple[Layer, str]], store: Literal["params", "grads"]
    ) -> None:
        self._index = index
        self._store = store

    def _dict_of(self, layer: Layer) -> dict[str, FloatArray]:
        return layer.params if self._store == "params" else layer.grads

    def __getitem__(self, name: str) -> FloatArray:
        layer, key = self._index[name]
        return self._dict_of(layer)[key]

    def __setitem__(self, name: str, value: FloatArray) -> None:
        if name not in self._index:
            raise KeyError(f"no parameter named {name!r}; names are {list(self._index)}")
        layer, key = self._index[name]
        current = self._dict_of(layer)[key]
        arr = np.asarray(value, dtype=current.dtype)
        if arr.shape != current.shape:
            raise ValueError(
                f"{self._store}[{name!r}] must keep shape {current.shape}, received {arr.shape}"
            )
        self._dict_of(layer)[key] = arr

    def __delitem__(self, name: str) -> None:
        raise TypeError(f"cannot delete {self._store}[{name!r}]: a model's parameters are fixed")

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        shapes = ", ".join(f"{name!r}: {self[name].shape}" for name in self)
        return f"ParamDict({{{shapes}}})"


class Sequential:
    """A network of layers applied in order, followed by a loss layer.

    Parameters
    ----------
    layers : list of layers, or dict of name -> layer (kept in order)
    loss_layer : the output layer, e.g. :class:`SoftmaxWithLoss`
    param_names : optional map from public parameter names to ``(layer name, key)``;
        by default parameter ``W`` of layer ``"0"`` is called ``"0.W"``.

    ``params`` and ``grads`` are :class:`ParamDict` views with those names, so an
    optimizer can keep its state by name.
    """

    def __init__(
        self,
        layers: Sequence[Layer] | Mapping[str, Layer],
        loss_layer: LossLayer | None = None,
        *,
        param_names: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        if isinstance(layers, Mapping):
            self.layers: dict[str, Layer] = dict(layers)
        else:
            self.layers = {str(i): layer for i, layer in enumerate(layers)}
        if not self.layers:
            raise ValueError("a network needs at least one layer, received none")
        for name, layer in self.layers.items():
            if not isinstance(layer, Layer):
                raise TypeError(f"layer {name!r} is not a Layer, received {type(layer).__name__}")
        self.last_layer = SoftmaxWithLoss() if loss_layer is None else loss_layer
        if param_names is None:
            param_names = {
                f"{lname}.{key}": (lname, key)
                for lname, layer in self.layers.items()
                for key in layer.params
            }
        self._locations = {name: (lname, key) for name, (lname, key) in param_names.items()}
        for name, (lname, key) in self._locations.items():
            if key not in getattr(self.layers.get(lname), "params", {}):
                raise ValueError(
                    f"param_names[{name!r}] points to ({lname!r}, {key!r}), which is not a "
                    f"parameter of this network's layers {list(self.layers)}"
                )
        self._index = {
            name: (self.layers[lname], key) for name, (lname, key) in self._locations.items()
        }
        owned = {(id(layer), key) for layer, key in self._index.values()}
        for lname, layer in self.layers.items():
            for key in layer.params:
                if (id(layer), key) not in owned:
                    raise ValueError(f"parameter {key!r} of layer {lname!r} has no public name")
        #: Free-form JSON-serialisable facts saved with the model (dataset, class names).
        self.metadata: dict[str, Any] = {}
        self.params = ParamDict(self._index, "params")
        self.grads = ParamDict(self._index, "grads")

    def param_location(self, name: str) -> tuple[str, str]:
        """``(layer name, key)`` of the public parameter ``name``."""
        return self._locations[name]

    @property
    def dtype(self) -> np.dtype:
        """The dtype of the parameters, and of the inputs they are fed."""
        for layer, key in self._index.values():
            return layer.params[key].dtype
        return np.dtype(np.float32)

    def _as_input(self, x: ArrayLike) -> FloatArray:
        """Inputs in the parameters' dtype; only floating-point arrays are accepted."""
        return as_float_input(x).astype(self.dtype, copy=False)

    def predict(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        """Scores before softmax. x: (N, ...) -> (N, C)."""
        out = self._as_input(x)
        for layer in self.layers.values():
            out = layer.forward(out, train=train)
        return out

    def loss(self, x: ArrayLike, t: ArrayLike, *, train: bool = False) -> float:
        """Mean loss of the batch. x: (N, ...), t: (N,) labels or (N, C) one-hot."""
        return self.last_layer.forward(self.predict(x, train=train), t, train=train)

    def scores(self, x: ArrayLike, *, batch_size: int = EVAL_BATCH_SIZE) -> FloatArray:
        """Inference-mode scores of a whole dataset, computed in chunks of ``batch_size``.

        x: (N, ...) -> (N, C). Memory stays flat however large N is.
        """
        xs = self._as_input(x)
        step = check_positive_int("batch_size", batch_size)
        if len(xs) <= step:
            return self.predict(xs)
        return np.concatenate([self.predict(xs[i : i + step]) for i in range(0, len(xs), step)])

    def accuracy(self, x: ArrayLike, t: ArrayLike, *, batch_size: int | None = None) -> float:
        """Fraction of samples whose top score is the label.

        t: (N,) integer labels or (N, C) one-hot. ``batch_size`` evaluates in
        chunks so that memory stays flat on large sets.
        """
        xs = self._as_input(x)
        labels = np.asarray(t)
        if labels.ndim == 2:
            labels = labels.argmax(axis=1)
        if labels.ndim != 1 or labels.shape[0] != xs.shape[0]:
            raise ValueError(
                f"labels must have shape ({xs.shape[0]},) or ({xs.shape[0]}, C) to match x "
                f"of shape {xs.shape}, received {np.shape(t)}"
            )
        n = xs.shape[0]
        if n == 0:
            raise ValueError("cannot compute the accuracy of an empty set")
        step = n if batch_size is None else batch_size
        if step <= 0:
            raise ValueError(f"batch_size must be positive, received {batch_size}")
        correct = 0
        for start in range(0, n, step):
            scores = self.predict(xs[start : start + step])
            correct += int(np.count_nonzero(scores.argmax(axis=1) == labels[start : start + step]))
        return correct / n

    def loss_and_gradient(self, x: ArrayLike, t: ArrayLike) -> tuple[float, dict[str, FloatArray]]:
        """One training forward and backward pass.

        Returns the batch loss of that forward (so a training loop needs no second
        forward to report it) and the gradients by parameter name.
        """
        loss = self.loss(x, t, train=True)
        dout = self.last_layer.backward(1.0)
        layers = list(self.layers.values())
        for layer in reversed(layers[1:]):
            dout = layer.backward(dout)
        # The input's gradient goes nowhere; skipping it saves a large GEMM.
        layers[0].backward_params(dout)
        return loss, {name: layer.grads[key] for name, (layer, key) in self._index.items()}

    def gradient(self, x: ArrayLike, t: ArrayLike) -> dict[str, FloatArray]:
        """Gradients of the loss by backprop, keyed like ``params``."""
        return self.loss_and_gradient(x, t)[1]

    def numerical_gradient(
        self, x: ArrayLike, t: ArrayLike, *, h: float = 1e-5
    ) -> dict[str, FloatArray]:
        """Gradients by central differences (slow: two forward passes per weight).

        Always computed in float64, and returned as float64 arrays: a network of
        another dtype (float32 for training) is copied to float64 first, parameters,
        buffers and random states included. In float32 the differences ``f(x+h) -
        f(x-h)`` lose most of their digits to rounding, and a gradient check would
        measure that instead of backprop's errors. In float64 the step can be small,
        1e-5 by default: rounding costs ~1e-11 and fewer ReLU kinks and max-pool ties
        fall within ``±h`` of a value, where central differences are meaningless.

        The function differentiated is the *training-mode* loss, the one that
        ``gradient`` backpropagates: BatchNormalization uses the batch's statistics
        and every layer that draws random numbers (Dropout) replays the draws of its
        most recent training forward, through the layer protocol's random-state hook
        (a layer that has not drawn yet replays its next draw). So ``gradient``
        followed by ``numerical_gradient``, as in
        :func:`mitbadak.gradcheck.gradient_check`, compares like with like. Buffers
        and random states are restored afterwards. For a network without
        BatchNormalization or Dropout this is the plain loss.
        """
        net = self if self.dtype == np.float64 else self.astype(np.float64)
        snapshots = {name: layer.random_state() for name, layer in net.layers.items()}
        saved_buffers = {
            name: {key: value.copy() for key, value in layer.buffers.items()}
            for name, layer in net.layers.items()
        }

        def loss(_: FloatArray) -> float:
            for name, layer in net.layers.items():
                layer.set_random_state(snapshots[name], replay=True)
            return net.loss(x, t, train=True)

        try:
            return {name: numerical_gradient(loss, net.params[name], h) for name in net.params}
        finally:
            for name, layer in net.layers.items():
                layer.set_random_state(snapshots[name])
                layer.buffers.update(saved_buffers[name])

    def astype(self, dtype: DTypeLike) -> Self:
        """A deep copy of the network with every parameter and buffer cast to ``dtype``."""
        clone = copy.deepcopy(self)
        for layer in clone.layers.values():
            layer.cast_(check_float_dtype(dtype))
        return clone

    def __repr__(self) -> str:
        inner = ",\n".join(f"  {name}: {layer!r}" for name, layer in self.layers.items())
        return f"{type(self).__name__}(\n{inner},\n  loss: {self.last_layer!r}\n)"
