"""The book's deep convolutional network of chapter 8: ``DeepConvNet``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Self

import numpy as np
from numpy.typing import DTypeLike

from mitbadak._checks import check_float_dtype, check_positive_int, check_rng
from mitbadak.conv import Convolution, Flatten, Pooling, conv_output_size
from mitbadak.dropout import Dropout, check_dropout_ratio
from mitbadak.initializers import init_weight
from mitbadak.layers import Affine, Layer, Relu, SoftmaxWithLoss
from mitbadak.models.network import BuildOptions, NetworkConfig, register
from mitbadak.models.simple_convnet import (
    ImageNetwork,
    check_conv_param,
    check_input_dim,
    sample_image_shape,
)

__all__ = ["DeepConvNet", "DeepConvNetConfig"]


def _conv(filter_num: int, pad: int = 1) -> dict[str, int]:
    return {"filter_num": filter_num, "filter_size": 3, "pad": pad, "stride": 1}


#: The book's six convolutions: 3x3 filters, 16-16-32-32-64-64, the fourth padded by 2.
BOOK_CONV_PARAMS: tuple[dict[str, int], ...] = (
    _conv(16),
    _conv(16),
    _conv(32),
    _conv(32, pad=2),
    _conv(64),
    _conv(64),
)


@dataclass(frozen=True)
class DeepConvNetConfig(NetworkConfig):
    """Settings of :class:`DeepConvNet`; see there."""

    input_dim: tuple[int, int, int] = (1, 28, 28)
    conv_param_1: Mapping[str, int] = field(default_factory=lambda: dict(BOOK_CONV_PARAMS[0]))
    conv_param_2: Mapping[str, int] = field(default_factory=lambda: dict(BOOK_CONV_PARAMS[1]))
    conv_param_3: Mapping[str, int] = field(default_factory=lambda: dict(BOOK_CONV_PARAMS[2]))
    conv_param_4: Mapping[str, int] = field(default_factory=lambda: dict(BOOK_CONV_PARAMS[3]))
    conv_param_5: Mapping[str, int] = field(default_factory=lambda: dict(BOOK_CONV_PARAMS[4]))
    conv_param_6: Mapping[str, int] = field(default_factory=lambda: dict(BOOK_CONV_PARAMS[5]))
    hidden_size: int = 50
    output_size: int = 10
    dropout_ratio: float = 0.5

    def __post_init__(self) -> None:
        self._set("input_dim", check_input_dim(self.input_dim))
        for i, book in enumerate(BOOK_CONV_PARAMS, start=1):
            name = f"conv_param_{i}"
            self._set(name, check_conv_param(name, getattr(self, name), book))
        self._set("hidden_size", check_positive_int("hidden_size", self.hidden_size))
        self._set("output_size", check_positive_int("output_size", self.output_size))
        self._set("dropout_ratio", check_dropout_ratio(self.dropout_ratio))
        _ = self.flat_size  # a ValueError now for images too small for the network

    @property
    def conv_params(self) -> tuple[dict[str, int], ...]:
        return tuple(dict(getattr(self, f"conv_param_{i}")) for i in range(1, 7))

    @property
    def flat_size(self) -> int:
        """Values per image entering the first Affine layer (64 * 4 * 4 for the book's)."""
        _, h, w = self.input_dim
        for i, p in enumerate(self.conv_params, start=1):
            h = conv_output_size(h, p["filter_size"], p["stride"], p["pad"])
            w = conv_output_size(w, p["filter_size"], p["stride"], p["pad"])
            if i % 2 == 0:  # a 2x2 max pooling, stride 2, after every second convolution
                h, w = h // 2, w // 2
            if h <= 0 or w <= 0:
                raise ValueError(
                    f"input_dim {self.input_dim} is too small for DeepConvNet: after "
                    f"convolution {i}{' and its pooling' if i % 2 == 0 else ''} the images "
                    f"would be {h}x{w}; expected at least 1x1"
                )
        return self.conv_params[-1]["filter_num"] * h * w

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        channels = self.input_dim[0]
        for i, p in enumerate(self.conv_params, start=1):
            fn, fs = p["filter_num"], p["filter_size"]
            shapes[f"W{i}"], shapes[f"b{i}"] = (fn, channels, fs, fs), (fn,)
            channels = fn
        sizes = (self.flat_size, self.hidden_size, self.output_size)
        for j in (1, 2):
            shapes[f"W{6 + j}"], shapes[f"b{6 + j}"] = (sizes[j - 1], sizes[j]), (sizes[j],)
        return shapes


@register
class DeepConvNet(ImageNetwork):
    """The book's deep network for MNIST (chapter 8)::

        Conv1 → Relu1 → Conv2 → Relu2 → Pool1 →
        Conv3 → Relu3 → Conv4 → Relu4 → Pool2 →
        Conv5 → Relu5 → Conv6 → Relu6 → Pool3 → Flatten1 →
        Affine1 → Relu7 → Dropout1 → Affine2 → Dropout2 → softmax

    Every convolution is 3x3 with stride 1 and padding 1 (the fourth: padding 2),
    with 16, 16, 32, 32, 64 and 64 filters; every pooling is 2x2 with stride 2. All
    weights use He initialisation (std ``sqrt(2 / fan_in)``), biases start at 0.

    Parameters
    ----------
    input_dim : (C, H, W) of one image
    conv_param_1 ... conv_param_6 : ``filter_num``, ``filter_size``, ``pad``,
        ``stride`` of each convolution; missing keys take the book's values
    hidden_size : width of the hidden Affine layer (50)
    output_size : number of classes
    dropout_ratio : of both Dropout layers (the book's 0.5); 0 leaves them out.
        The dropout is inverted (see :class:`~mitbadak.dropout.Dropout`)
    rng : draws the weights; each Dropout layer gets its own child generator
    dtype : float32 for training, float64 for gradient checks

    Parameters are ``W1 ... W6`` ``(FN, C, 3, 3)`` and ``b1 ... b6`` for the
    convolutions, ``W7: (64 * 4 * 4, hidden)``, ``b7``, ``W8: (hidden, output)``,
    ``b8``, the book's names. ``predict`` accepts images ``(N, C, H, W)`` or the
    same images flattened to ``(N, C * H * W)``.
    """

    Config = DeepConvNetConfig
    cfg: DeepConvNetConfig
    cli_name = "deepconvnet"
    chapter = 8
    default_hidden = (50,)

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param_1: Mapping[str, int] | None = None,
        conv_param_2: Mapping[str, int] | None = None,
        conv_param_3: Mapping[str, int] | None = None,
        conv_param_4: Mapping[str, int] | None = None,
        conv_param_5: Mapping[str, int] | None = None,
        conv_param_6: Mapping[str, int] | None = None,
        hidden_size: int = 50,
        output_size: int = 10,
        *,
        dropout_ratio: float = 0.5,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        cfg = DeepConvNetConfig(
            input_dim,  # type: ignore[arg-type]
            conv_param_1,  # type: ignore[arg-type]
            conv_param_2,  # type: ignore[arg-type]
            conv_param_3,  # type: ignore[arg-type]
            conv_param_4,  # type: ignore[arg-type]
            conv_param_5,  # type: ignore[arg-type]
            conv_param_6,  # type: ignore[arg-type]
            hidden_size,
            output_size,
            dropout_ratio,
        )
        rng = check_rng(rng)
        dt = check_float_dtype(dtype)
        cfg.check_fits(dt, type(self).__name__)

        layers: dict[str, Layer] = {}
        names: dict[str, tuple[str, str]] = {}

        def weighted(layer_name: str, index: int, layer: Layer) -> None:
            layers[layer_name] = layer
            names[f"W{index}"] = (layer_name, "W")
            names[f"b{index}"] = (layer_name, "b")

        channels = cfg.input_dim[0]
        for i, p in enumerate(cfg.conv_params, start=1):
            fn, fs = p["filter_num"], p["filter_size"]
            W = init_weight((fn, channels, fs, fs), "he", rng=rng, dtype=dt)
            weighted(f"Conv{i}", i, Convolution(W, np.zeros(fn, dtype=dt), p["stride"], p["pad"]))
            layers[f"Relu{i}"] = Relu()
            if i % 2 == 0:
                layers[f"Pool{i // 2}"] = Pooling(2, 2, stride=2)
            channels = fn
        layers["Flatten1"] = Flatten()
        sizes = (cfg.flat_size, cfg.hidden_size, cfg.output_size)
        for j in (1, 2):
            W = init_weight((sizes[j - 1], sizes[j]), "he", rng=rng, dtype=dt)
            weighted(f"Affine{j}", 6 + j, Affine(W, np.zeros(sizes[j], dtype=dt)))
            if j == 1:
                layers["Relu7"] = Relu()
            if cfg.dropout_ratio > 0:
                layers[f"Dropout{j}"] = Dropout(cfg.dropout_ratio, rng=rng.spawn(1)[0])
        super().__init__(cfg, layers, SoftmaxWithLoss(), param_names=names)

    @classmethod
    def _build(
        cls,
        input_shape: tuple[int, ...],
        output_size: int,
        options: BuildOptions,
        rng: np.random.Generator,
    ) -> Self:
        (hidden,) = cls._hidden(options, single=True)
        return cls(
            sample_image_shape(input_shape),
            hidden_size=hidden,
            output_size=output_size,
            rng=rng,
        )
