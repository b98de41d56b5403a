"""What the book's networks share, on top of mitbadak's: :class:`BookNetwork`.

The book's ``TwoLayerNet``, ``MultiLayerNet(Extend)``, ``SimpleConvNet`` and
``DeepConvNet`` are mitbadak's networks with this mixin in front: the same layers and
parameters, plus the book's calling conventions.

- ``predict(x, train_flg=False)`` and ``loss(x, t, train_flg=...)``: the mode as the
  book passes it, positionally; mitbadak's keyword ``train=`` works too.
- ``accuracy(x, t, batch_size=None)``, ``gradient(x, t)`` and
  ``numerical_gradient(x, t)`` (computed in float64, see
  :meth:`mitbadak.models.Sequential.numerical_gradient`).
- Inputs as the book's code takes them: integer or list inputs are converted to
  floats, and labels shaped ``(N, 1)`` to ``(N,)`` (:func:`mitbadak._checks.as_float_lenient`,
  :func:`mitbadak._checks.as_book_labels`). mitbadak's own classes refuse both.
- ``save_params(file_name)`` writes mitbadak's ``.npz`` model format under any name
  (``params.pkl`` too), keeping an existing file as a backup; ``load_params(file_name)``
  reads that format or the book's pickles (:func:`mitbadak.book.pickles.load_arrays`).
- ``lastLayer``, the chapter-5 name of ``last_layer``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from mitbadak._checks import as_book_labels, as_float_lenient
from mitbadak._files import open_regular
from mitbadak._types import FloatArray
from mitbadak.book.pickles import load_arrays
from mitbadak.conv import Flatten, Pooling
from mitbadak.dropout import Dropout
from mitbadak.layers import Layer, LossLayer, Relu, WeightLayer
from mitbadak.models import Sequential
from mitbadak.serialization import load, save

__all__ = ["BookNetwork"]

#: Layers that commute with scaling by a positive number, so that the book's
#: dropout scale may be moved past them.
_SCALE_FREE = (Relu, Pooling, Flatten, Dropout)


class BookNetwork(Sequential):
    """Mixin in front of a mitbadak network: the book's method signatures and files."""

    #: The mode of ``loss`` when the caller does not say (the book's DeepConvNet trains).
    loss_train_default: ClassVar[bool] = False

    @property
    def lastLayer(self) -> LossLayer:  # the book's chapter-5 name of last_layer
        return self.last_layer

    def predict(
        self, x: ArrayLike, train_flg: bool = False, *, train: bool | None = None
    ) -> FloatArray:
        """Scores before softmax; ``train_flg`` (or ``train``) selects training mode."""
        mode = train_flg if train is None else train
        return super().predict(as_float_lenient(x), train=mode)

    def loss(
        self,
        x: ArrayLike,
        t: ArrayLike,
        train_flg: bool | None = None,
        *,
        train: bool | None = None,
    ) -> float:
        """Mean loss of the batch (weight decay included where the network has it)."""
        mode = train if train is not None else train_flg
        if mode is None:
            mode = self.loss_train_default
        return super().loss(as_float_lenient(x), as_book_labels(t), train=mode)

    def accuracy(self, x: ArrayLike, t: ArrayLike, batch_size: int | None = None) -> float:
        """Fraction of samples whose top score is the label (every sample counts)."""
        return super().accuracy(as_float_lenient(x), as_book_labels(t), batch_size=batch_size)

    def loss_and_gradient(self, x: ArrayLike, t: ArrayLike) -> tuple[float, dict[str, FloatArray]]:
        return super().loss_and_gradient(as_float_lenient(x), as_book_labels(t))

    def gradient(self, x: ArrayLike, t: ArrayLike) -> dict[str, FloatArray]:
        """Gradients by backprop, keyed like ``params``."""
        return super().gradient(as_float_lenient(x), as_book_labels(t))

    def numerical_gradient(
        self, x: ArrayLike, t: ArrayLike, *, h: float = 1e-5
    ) -> dict[str, FloatArray]:
        """Gradients by central differences, in float64 (slow: the book's check)."""
        return super().numerical_gradient(as_float_lenient(x), as_book_labels(t), h=h)

    def save_params(self, file_name: str | os.PathLike[str] = "params.pkl") -> Path:
        """Write the network in mitbadak's ``.npz`` format to ``file_name``, whatever its
        extension (``load_params`` and ``mitbadak.load`` read it back).

        The book's ``save_params`` overwrites; here an existing file is first copied
        to ``<file_name>.bak`` (``.bak1``, ``.bak2``, ... if taken), and a line on
        stderr says so, so that nothing saved before (such as the book's trained
        ``params.pkl``) is lost.
        """
        path = Path(file_name)
        if path.exists():
            backup = _free_name(path)
            backup.write_bytes(path.read_bytes())
            print(f"mitbadak: {path} exists; the old file is kept as {backup}", file=sys.stderr)
        return save(self, path, overwrite=True)

    def load_params(self, file_name: str | os.PathLike[str] = "params.pkl") -> None:
        """Read parameters saved by :meth:`save_params` (or ``mitbadak.save``), or the
        book's pickled dict of arrays (``params.pkl``, ``deep_convnet_params.pkl``).

        The names and shapes must be exactly this network's, else ``ValueError``
        naming the file. A pickle is read without running code from it
        (:func:`mitbadak.book.pickles.load_arrays`). The book's dropout scales its
        outputs by ``1 - ratio`` at inference where mitbadak's scales by ``1 / (1 -
        ratio)`` while training; a pickle's weights are rescaled to match, so the
        network computes exactly what the book's did with them.
        """
        path = Path(file_name)
        buffers: dict[tuple[str, str], np.ndarray] = {}
        from_book = _is_pickle(path)
        if not from_book:
            model = load(path)
            arrays = {name: model.params[name] for name in model.params}
            for lname, layer in model.layers.items():
                buffers.update({(lname, key): v for key, v in layer.buffers.items()})
        else:
            arrays = load_arrays(path)
        if set(arrays) != set(self.params):
            raise ValueError(
                f"{path}: parameters {sorted(arrays)} do not match this "
                f"{type(self).__name__}'s {sorted(self.params)}"
            )
        for name, value in arrays.items():
            if value.shape != self.params[name].shape:
                raise ValueError(
                    f"{path}: parameter {name} has shape {value.shape}, this "
                    f"{type(self).__name__} needs {self.params[name].shape}"
                )
        if from_book:
            arrays = self._from_book_dropout(arrays)
        for name, value in arrays.items():
            self.params[name] = value.astype(self.dtype)
        for lname, layer in self.layers.items():
            for key, current in layer.buffers.items():
                stored = buffers.get((lname, key))
                if stored is not None and stored.shape == current.shape:
                    layer.buffers[key] = stored.astype(current.dtype)

    def _from_book_dropout(self, arrays: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Weights trained by the book's dropout, rescaled for mitbadak's (inverted) one.

        The book multiplies a Dropout's output by ``keep = 1 - ratio`` at inference.
        That factor moves into the next Affine or Convolution's ``W`` (the layers in
        between commute with it); after the last weight layer it scales that layer's
        ``W`` and ``b``. Training then computes the same function too.
        """
        scaled = {name: value.astype(np.float64) for name, value in arrays.items()}
        owner = {self.param_location(name): name for name in self.params}
        layers = list(self.layers.items())
        for i, (_, layer) in enumerate(layers):
            if not isinstance(layer, Dropout) or layer.dropout_ratio == 0:
                continue
            keep = 1.0 - layer.dropout_ratio
            after = _next_weight_layer(layers[i + 1 :])
            if after is not None:
                scaled[owner[(after, "W")]] *= keep
                continue
            before = _next_weight_layer(layers[:i][::-1])
            if before is not None:
                scaled[owner[(before, "W")]] *= keep
                scaled[owner[(before, "b")]] *= keep
        return scaled


def _is_pickle(path: Path) -> bool:
    """Whether ``path`` is not a zip (mitbadak's own format), checked by stat before any read:
    a FIFO or device is a ``ValueError`` at once instead of a hang."""
    with open_regular(path) as f:
        return f.read(4) != b"PK\x03\x04"


def _next_weight_layer(layers: list[tuple[str, Layer]]) -> str | None:
    """The name of the first weight layer in ``layers`` reached past scale-free layers."""
    for name, layer in layers:
        if isinstance(layer, WeightLayer):
            return name
        if not isinstance(layer, _SCALE_FREE):
            return None
    return None


def _free_name(path: Path) -> Path:
    """``<path>.bak``, or the first free ``<path>.bak<k>``."""
    candidate = path.with_name(path.name + ".bak")
    k = 1
    while candidate.exists():
        candidate = path.with_name(f"{path.name}.bak{k}")
        k += 1
    return candidate
