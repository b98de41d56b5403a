"""The book's larger networks: :class:`MultiLayerNet` (chapter 6) and :class:`SimpleConvNet` (7).

Both are :class:`~mitbadak.models.Sequential` networks with the book's layer and
parameter names, and a ``config()`` whose result rebuilds an identically shaped
network: ``type(net)(**net.config(), rng=...)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, DTypeLike, NDArray

from mitbadak._checks import check_float_dtype, check_positive_int
from mitbadak.conv import Convolution, Flatten, Pooling, conv_output_size
from mitbadak.init import SCHEMES, init_weight, weight_std
from mitbadak.layers import Affine, Layer, Relu, Sigmoid, SoftmaxWithLoss
from mitbadak.models import Sequential
from mitbadak.normalization import BatchNormalization, Dropout, check_dropout_ratio

__all__ = ["MultiLayerNet", "SimpleConvNet"]

FloatArray = NDArray[np.floating]

_ACTIVATIONS: dict[str, type[Layer]] = {"relu": Relu, "sigmoid": Sigmoid}


def _check_rng(rng: object) -> np.random.Generator:
    if rng is None:
        return np.random.default_rng()
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, received {type(rng).__name__}")
    return rng


def _check_weight_init(name: str, scheme: object) -> str | float:
    """Validate early (with a fan_in of 1) so errors name the constructor argument."""
    if isinstance(scheme, str):
        if scheme.lower() not in SCHEMES:
            raise ValueError(
                f"{name} must be one of {list(SCHEMES)} or a positive number, received {scheme!r}"
            )
        return scheme
    try:
        return weight_std(scheme, 1)  # type: ignore[arg-type]
    except (TypeError, ValueError) as err:
        raise ValueError(
            f"{name} must be one of {list(SCHEMES)} or a positive number, received {scheme!r}"
        ) from err


class MultiLayerNet(Sequential):
    """A fully connected network of any depth, with optional batch norm, dropout
    and weight decay (the book's ``MultiLayerNet`` and ``MultiLayerNetExtend``).

    Each hidden layer is ``Affine{i} → [BatchNorm{i}] → Relu{i} | Sigmoid{i} →
    [Dropout{i}]``; the last is ``Affine{n}`` followed by ``SoftmaxWithLoss``.

    Parameters
    ----------
    input_size : inputs per sample (784 for MNIST)
    hidden_size_list : widths of the hidden layers, e.g. ``[100, 100, 100]``
    output_size : number of classes
    activation : ``"relu"`` or ``"sigmoid"``
    weight_init : ``"relu"``/``"he"`` (std ``sqrt(2 / fan_in)``, the default),
        ``"sigmoid"``/``"xavier"`` (``sqrt(1 / fan_in)``), or a number used as the
        standard deviation; see :mod:`mitbadak.init`
    weight_decay_lambda : L2 strength λ; adds ``0.5 λ Σ ‖W‖²`` over the Affine
        weights (not biases, gamma or beta) to the loss and ``λ W`` to their
        gradients, as the book does. Do not also give the optimizer a
        ``weight_decay``, or the decay is applied twice.
    use_batchnorm : insert a BatchNormalization after each hidden Affine
    dropout_ratio : insert Dropout with this ratio after each hidden activation;
        0 means no Dropout layers
    rng : draws the weights; each Dropout layer gets its own child generator
        spawned from it, so a seeded run is reproducible
    dtype : float32 for training, float64 for gradient checks

    Parameters are named ``W1, b1, gamma1, beta1, ..., Wn, bn`` as in the book.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: Sequence[int],
        output_size: int,
        *,
        activation: str = "relu",
        weight_init: str | float = "relu",
        weight_decay_lambda: float = 0.0,
        use_batchnorm: bool = False,
        dropout_ratio: float = 0.0,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        input_size = check_positive_int("input_size", input_size)
        output_size = check_positive_int("output_size", output_size)
        if isinstance(hidden_size_list, str | bytes) or not isinstance(hidden_size_list, Sequence):
            raise TypeError(
                "hidden_size_list must be a list of positive integers, "
                f"received {type(hidden_size_list).__name__}"
            )
        hidden = [
            check_positive_int(f"hidden_size_list[{i}]", size)
            for i, size in enumerate(hidden_size_list)
        ]
        if activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {list(_ACTIVATIONS)}, received {activation!r}"
            )
        weight_init = _check_weight_init("weight_init", weight_init)
        if (
            isinstance(weight_decay_lambda, bool)
            or not isinstance(weight_decay_lambda, int | float)
            or not math.isfinite(weight_decay_lambda)
            or weight_decay_lambda < 0
        ):
            raise ValueError(
                "weight_decay_lambda must be a non-negative number, "
                f"received {weight_decay_lambda!r}"
            )
        if not isinstance(use_batchnorm, bool):
            raise TypeError(f"use_batchnorm must be True or False, received {use_batchnorm!r}")
        # Checked here too, not only by Dropout, so that a bad value fails even
        # for a net without hidden layers.
        dropout_ratio = check_dropout_ratio(dropout_ratio)
        rng = _check_rng(rng)
        dt = check_float_dtype(dtype)

        self.input_size = input_size
        self.hidden_size_list = hidden
        self.output_size = output_size
        self.activation = activation
        self.weight_init = weight_init
        self.weight_decay_lambda = float(weight_decay_lambda)
        self.use_batchnorm = use_batchnorm
        self.dropout_ratio = float(dropout_ratio)

        sizes = [input_size, *hidden, output_size]
        layers: dict[str, Layer] = {}
        names: dict[str, tuple[str, str]] = {}
        for i in range(1, len(sizes)):
            fan_in, fan_out = sizes[i - 1], sizes[i]
            W = init_weight((fan_in, fan_out), weight_init, rng=rng, dtype=dt)
            layers[f"Affine{i}"] = Affine(W, np.zeros(fan_out, dtype=dt))
            names[f"W{i}"] = (f"Affine{i}", "W")
            names[f"b{i}"] = (f"Affine{i}", "b")
            if i == len(sizes) - 1:
                break
            if use_batchnorm:
                layers[f"BatchNorm{i}"] = BatchNormalization(
                    np.ones(fan_out, dtype=dt), np.zeros(fan_out, dtype=dt)
                )
                names[f"gamma{i}"] = (f"BatchNorm{i}", "gamma")
                names[f"beta{i}"] = (f"BatchNorm{i}", "beta")
            act = _ACTIVATIONS[activation]
            layers[f"{act.__name__}{i}"] = act()
            if self.dropout_ratio > 0:
                layers[f"Dropout{i}"] = Dropout(self.dropout_ratio, rng=rng.spawn(1)[0])
        self._weight_names = [f"W{i}" for i in range(1, len(sizes))]
        super().__init__(layers, SoftmaxWithLoss(), param_names=names)

    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (dtype and rng excluded)."""
        return {
            "input_size": self.input_size,
            "hidden_size_list": list(self.hidden_size_list),
            "output_size": self.output_size,
            "activation": self.activation,
            "weight_init": self.weight_init,
            "weight_decay_lambda": self.weight_decay_lambda,
            "use_batchnorm": self.use_batchnorm,
            "dropout_ratio": self.dropout_ratio,
        }

    def weight_decay_penalty(self) -> float:
        """``0.5 λ Σ ‖W‖²`` over the Affine weights (0 when λ is 0)."""
        lam = self.weight_decay_lambda
        if lam == 0:
            return 0.0
        squares = sum(
            float(np.vdot(self.params[name], self.params[name])) for name in self._weight_names
        )
        return 0.5 * lam * squares

    def loss(self, x: ArrayLike, t: ArrayLike, *, train: bool = False) -> float:
        """Mean cross-entropy of the batch plus the weight-decay penalty."""
        return super().loss(x, t, train=train) + self.weight_decay_penalty()

    def loss_and_gradient(self, x: ArrayLike, t: ArrayLike) -> tuple[float, dict[str, FloatArray]]:
        """One training forward and backward; weight gradients include ``λ W``.

        The decay term is added to the layers' own ``grads`` too, so ``net.grads``
        and the returned dict agree.
        """
        loss, grads = super().loss_and_gradient(x, t)
        lam = self.weight_decay_lambda
        if lam != 0:
            for name in self._weight_names:
                decayed = grads[name] + self.params[name].dtype.type(lam) * self.params[name]
                self.grads[name] = decayed
                grads[name] = self.grads[name]
        return loss, grads


_DEFAULT_CONV_PARAM: dict[str, int] = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}


class SimpleConvNet(Sequential):
    """The book's convolutional network:
    Conv1 → Relu1 → Pool1 (2x2, stride 2) → Flatten1 → Affine1 → Relu2 → Affine2 → softmax.

    Parameters
    ----------
    input_dim : (C, H, W) of one image
    conv_param : ``filter_num``, ``filter_size``, ``pad``, ``stride``; missing keys
        take the book's values (30, 5, 0, 1)
    hidden_size : width of the hidden Affine layer
    output_size : number of classes
    weight_init_std : standard deviation of every weight (the book's 0.01), or a
        scheme name such as ``"he"`` (see :mod:`mitbadak.init`)
    rng : draws the weights (a fresh unseeded generator if omitted)
    dtype : float32 for training, float64 for gradient checks

    Parameters are ``W1: (FN, C, FS, FS)``, ``b1``, ``W2: (FN * PH * PW, hidden)``,
    ``b2``, ``W3: (hidden, output)``, ``b3``. ``predict`` (and so ``loss``,
    ``accuracy`` and ``gradient``) accepts images ``(N, C, H, W)`` or the same
    images flattened to ``(N, C * H * W)``, which are reshaped to ``input_dim``
    first, so data loaded flat for the fully connected nets can be fed as is.
    """

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param: Mapping[str, int] | None = None,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: str | float = 0.01,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        if isinstance(input_dim, str | bytes) or len(input_dim) != 3:
            raise ValueError(f"input_dim must be (C, H, W), received {input_dim!r}")
        c, h, w = (check_positive_int(f"input_dim[{i}]", d) for i, d in enumerate(input_dim))
        params = dict(_DEFAULT_CONV_PARAM)
        if conv_param is not None:
            unknown = set(conv_param) - set(_DEFAULT_CONV_PARAM)
            if unknown:
                raise ValueError(
                    f"conv_param has unknown keys {sorted(unknown)}; "
                    f"expected some of {list(_DEFAULT_CONV_PARAM)}"
                )
            params.update(conv_param)
        filter_num = check_positive_int("filter_num", params["filter_num"])
        filter_size = check_positive_int("filter_size", params["filter_size"])
        stride = check_positive_int("stride", params["stride"])
        pad = params["pad"]
        if isinstance(pad, bool) or not isinstance(pad, int | np.integer) or pad < 0:
            raise ValueError(f"pad must be an integer >= 0, received pad={pad!r}")
        pad = int(pad)
        hidden_size = check_positive_int("hidden_size", hidden_size)
        output_size = check_positive_int("output_size", output_size)
        weight_init_std = _check_weight_init("weight_init_std", weight_init_std)
        rng = _check_rng(rng)
        dt = check_float_dtype(dtype)

        conv_h = conv_output_size(h, filter_size, stride, pad)
        conv_w = conv_output_size(w, filter_size, stride, pad)
        # The 2x2 stride-2 pooling halves each side, dropping an odd last row or
        # column (the book's float formula assumes an even size).
        pool_h, pool_w = conv_h // 2, conv_w // 2
        if pool_h <= 0 or pool_w <= 0:
            raise ValueError(
                f"input_dim {tuple(input_dim)} is too small for {filter_size}x{filter_size} "
                f"filters with pad={pad}, stride={stride} and 2x2 pooling: the convolution "
                f"output would be {conv_h}x{conv_w}; expected at least 2x2"
            )
        self.input_dim = (c, h, w)
        self.conv_param = {
            "filter_num": filter_num,
            "filter_size": filter_size,
            "pad": pad,
            "stride": stride,
        }
        self.hidden_size = hidden_size
        self.output_size = output_size
        self.weight_init_std = weight_init_std

        flat = filter_num * pool_h * pool_w
        W1 = init_weight(
            (filter_num, c, filter_size, filter_size), weight_init_std, rng=rng, dtype=dt
        )
        W2 = init_weight((flat, hidden_size), weight_init_std, rng=rng, dtype=dt)
        W3 = init_weight((hidden_size, output_size), weight_init_std, rng=rng, dtype=dt)
        super().__init__(
            {
                "Conv1": Convolution(W1, np.zeros(filter_num, dtype=dt), stride, pad),
                "Relu1": Relu(),
                "Pool1": Pooling(2, 2, stride=2),
                "Flatten1": Flatten(),
                "Affine1": Affine(W2, np.zeros(hidden_size, dtype=dt)),
                "Relu2": Relu(),
                "Affine2": Affine(W3, np.zeros(output_size, dtype=dt)),
            },
            SoftmaxWithLoss(),
            param_names={
                "W1": ("Conv1", "W"),
                "b1": ("Conv1", "b"),
                "W2": ("Affine1", "W"),
                "b2": ("Affine1", "b"),
                "W3": ("Affine2", "W"),
                "b3": ("Affine2", "b"),
            },
        )

    def config(self) -> dict[str, Any]:
        """Constructor arguments, JSON-serialisable (dtype and rng excluded)."""
        return {
            "input_dim": list(self.input_dim),
            "conv_param": dict(self.conv_param),
            "hidden_size": self.hidden_size,
            "output_size": self.output_size,
            "weight_init_std": self.weight_init_std,
        }

    def predict(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        """Scores before softmax. x: (N, C, H, W) or flattened (N, C*H*W) -> (N, classes)."""
        xs = self._as_input(x)
        if xs.ndim == 2 and xs.shape[1] == math.prod(self.input_dim):
            xs = xs.reshape(xs.shape[0], *self.input_dim)
        elif xs.ndim != 4 or xs.shape[1:] != self.input_dim:
            raise ValueError(
                f"SimpleConvNet expects images of shape (N, {', '.join(map(str, self.input_dim))})"
                f" or flattened (N, {math.prod(self.input_dim)}), received {xs.shape}"
            )
        return super().predict(xs, train=train)
