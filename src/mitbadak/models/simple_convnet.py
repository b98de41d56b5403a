"""The book's convolutional network of chapter 7: ``SimpleConvNet``."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from mitbadak._checks import (
    check_float_dtype,
    check_int,
    check_positive_int,
    check_real,
    check_rng,
)
from mitbadak._types import FloatArray
from mitbadak.conv import Convolution, Flatten, Pooling, conv_output_size
from mitbadak.initializers import check_scheme, init_weight
from mitbadak.layers import Affine, Relu, SoftmaxWithLoss
from mitbadak.models.network import BuildOptions, Network, NetworkConfig, register

__all__ = [
    "SimpleConvNet",
    "SimpleConvNetConfig",
    "ImageNetwork",
    "check_conv_param",
    "check_input_dim",
    "sample_image_shape",
]

_DEFAULT_CONV_PARAM: dict[str, int] = {"filter_num": 30, "filter_size": 5, "pad": 0, "stride": 1}


def check_input_dim(input_dim: object) -> tuple[int, int, int]:
    """``(C, H, W)`` of one image as a tuple of positive ints, or ``ValueError``."""
    if isinstance(input_dim, str | bytes) or not isinstance(input_dim, Sequence):
        raise ValueError(f"input_dim must be (C, H, W), received {input_dim!r}")
    if len(input_dim) != 3:
        raise ValueError(f"input_dim must be (C, H, W), received {tuple(input_dim)!r}")
    c, h, w = (check_positive_int(f"input_dim[{i}]", d) for i, d in enumerate(input_dim))
    return c, h, w


class ImageNetwork(Network):
    """A network of images: ``predict`` takes ``(N, C, H, W)``, or the same images
    flattened to ``(N, C * H * W)`` (as loaded for the fully connected nets), which are
    reshaped to the config's ``input_dim`` first."""

    def predict(self, x: ArrayLike, *, train: bool = False) -> FloatArray:
        """Scores before softmax. x: (N, C, H, W) or flattened (N, C*H*W) -> (N, classes)."""
        xs = self._as_input(x)
        input_dim: tuple[int, ...] = self.input_dim  # the config's, via Network.__getattr__
        if xs.ndim == 2 and xs.shape[1] == math.prod(input_dim):
            xs = xs.reshape(xs.shape[0], *input_dim)
        elif xs.ndim != 4 or xs.shape[1:] != input_dim:
            raise ValueError(
                f"{type(self).__name__} expects images of shape "
                f"(N, {', '.join(map(str, input_dim))}) or flattened "
                f"(N, {math.prod(input_dim)}), received {xs.shape}"
            )
        return super().predict(xs, train=train)


def check_conv_param(
    name: str, given: Mapping[str, int] | None, defaults: Mapping[str, int] = _DEFAULT_CONV_PARAM
) -> dict[str, int]:
    """One convolution's ``filter_num``, ``filter_size``, ``pad`` and ``stride``, checked.

    Keys missing from ``given`` (or all of them, for None) take ``defaults``;
    ``ValueError`` names an unknown key or a value that is not a valid integer.
    """
    params = dict(defaults)
    given = {} if given is None else given
    unknown = set(given) - set(_DEFAULT_CONV_PARAM)
    if unknown:
        raise ValueError(
            f"{name} has unknown keys {sorted(unknown)}; "
            f"expected some of {list(_DEFAULT_CONV_PARAM)}"
        )
    params.update(given)
    for key in ("filter_num", "filter_size", "stride"):
        params[key] = check_positive_int(key, params[key])
    params["pad"] = check_int("pad", params["pad"], 0)
    return params


@dataclass(frozen=True)
class SimpleConvNetConfig(NetworkConfig):
    """Settings of :class:`SimpleConvNet`; see there."""

    input_dim: tuple[int, int, int] = (1, 28, 28)
    conv_param: Mapping[str, int] = field(default_factory=lambda: dict(_DEFAULT_CONV_PARAM))
    hidden_size: int = 100
    output_size: int = 10
    weight_init_std: float = 0.01
    weight_init: str | None = None

    def __post_init__(self) -> None:
        self._set("input_dim", check_input_dim(self.input_dim))
        self._set("conv_param", check_conv_param("conv_param", self.conv_param))
        self._set("hidden_size", check_positive_int("hidden_size", self.hidden_size))
        self._set("output_size", check_positive_int("output_size", self.output_size))
        if isinstance(self.weight_init_std, str):
            raise ValueError(
                f"weight_init_std must be a positive number, received "
                f"weight_init_std={self.weight_init_std!r}; pass a scheme name as "
                f"weight_init={self.weight_init_std!r}"
            )
        std = check_real(
            "weight_init_std", self.weight_init_std, low=0.0, low_open=True, not_real=ValueError
        )
        self._set("weight_init_std", std)
        if self.weight_init is not None:
            if not isinstance(self.weight_init, str):
                raise ValueError(
                    f"weight_init must be a scheme name or None, received {self.weight_init!r}"
                )
            check_scheme("weight_init", self.weight_init)

    @property
    def pooled_hw(self) -> tuple[int, int]:
        """Height and width after the convolution and the 2x2 stride-2 pooling."""
        p = self.conv_param
        _, h, w = self.input_dim
        conv_h = conv_output_size(h, p["filter_size"], p["stride"], p["pad"])
        conv_w = conv_output_size(w, p["filter_size"], p["stride"], p["pad"])
        # The pooling halves each side, dropping an odd last row or column (the
        # book's float formula assumes an even size).
        if conv_h // 2 <= 0 or conv_w // 2 <= 0:
            raise ValueError(
                f"input_dim {self.input_dim} is too small for {p['filter_size']}x"
                f"{p['filter_size']} filters with pad={p['pad']}, stride={p['stride']} and "
                f"2x2 pooling: the convolution output would be {conv_h}x{conv_w}; "
                "expected at least 2x2"
            )
        return conv_h // 2, conv_w // 2

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        fn, fs = self.conv_param["filter_num"], self.conv_param["filter_size"]
        pool_h, pool_w = self.pooled_hw
        return {
            "W1": (fn, self.input_dim[0], fs, fs),
            "b1": (fn,),
            "W2": (fn * pool_h * pool_w, self.hidden_size),
            "b2": (self.hidden_size,),
            "W3": (self.hidden_size, self.output_size),
            "b3": (self.output_size,),
        }


@register
class SimpleConvNet(ImageNetwork):
    """The book's convolutional network:
    Conv1 → Relu1 → Pool1 (2x2, stride 2) → Flatten1 → Affine1 → Relu2 → Affine2 → softmax.

    Parameters
    ----------
    input_dim : (C, H, W) of one image
    conv_param : ``filter_num``, ``filter_size``, ``pad``, ``stride``; missing keys
        take the book's values (30, 5, 0, 1)
    hidden_size : width of the hidden Affine layer
    output_size : number of classes
    weight_init_std : standard deviation of every weight (the book's 0.01)
    weight_init : a scheme name such as ``"he"`` to use instead of ``weight_init_std``
        (see :mod:`mitbadak.initializers`)
    rng : draws the weights (a fresh unseeded generator if omitted)
    dtype : float32 for training, float64 for gradient checks

    Parameters are ``W1: (FN, C, FS, FS)``, ``b1``, ``W2: (FN * PH * PW, hidden)``,
    ``b2``, ``W3: (hidden, output)``, ``b3``. ``predict`` (and so ``loss``,
    ``accuracy`` and ``gradient``) accepts images ``(N, C, H, W)`` or the same
    images flattened to ``(N, C * H * W)``, which are reshaped to ``input_dim``
    first, so data loaded flat for the fully connected nets can be fed as is.
    """

    Config = SimpleConvNetConfig
    cfg: SimpleConvNetConfig
    cli_name = "convnet"
    chapter = 7
    default_hidden = (100,)
    accepts = frozenset({"weight_init_std", "weight_init"})

    def __init__(
        self,
        input_dim: Sequence[int] = (1, 28, 28),
        conv_param: Mapping[str, int] | None = None,
        hidden_size: int = 100,
        output_size: int = 10,
        weight_init_std: float = 0.01,
        *,
        weight_init: str | None = None,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        cfg = SimpleConvNetConfig(
            input_dim,  # type: ignore[arg-type]
            conv_param,  # type: ignore[arg-type]
            hidden_size,
            output_size,
            weight_init_std,
            weight_init,
        )
        rng = check_rng(rng)
        dt = check_float_dtype(dtype)
        cfg.check_fits(dt, type(self).__name__)
        c = cfg.input_dim[0]
        p = cfg.conv_param
        fn, fs = p["filter_num"], p["filter_size"]
        pool_h, pool_w = cfg.pooled_hw
        # "std" is the plain scheme whose standard deviation is weight_init_std.
        scheme = cfg.weight_init
        init: Any = cfg.weight_init_std if scheme in (None, "std") else scheme
        W1 = init_weight((fn, c, fs, fs), init, rng=rng, dtype=dt)
        W2 = init_weight((fn * pool_h * pool_w, cfg.hidden_size), init, rng=rng, dtype=dt)
        W3 = init_weight((cfg.hidden_size, cfg.output_size), init, rng=rng, dtype=dt)
        super().__init__(
            cfg,
            {
                "Conv1": Convolution(W1, np.zeros(fn, dtype=dt), p["stride"], p["pad"]),
                "Relu1": Relu(),
                "Pool1": Pooling(2, 2, stride=2),
                "Flatten1": Flatten(),
                "Affine1": Affine(W2, np.zeros(cfg.hidden_size, dtype=dt)),
                "Relu2": Relu(),
                "Affine2": Affine(W3, np.zeros(cfg.output_size, dtype=dt)),
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
            weight_init_std=options.weight_init_std,
            weight_init=options.weight_init,
            rng=rng,
        )


def sample_image_shape(input_shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``(C, H, W)`` from a sample shape: images as they are, square rows as one channel."""
    if len(input_shape) == 3:
        return check_input_dim(input_shape)
    side = math.isqrt(int(np.prod(input_shape)))
    if len(input_shape) != 1 or side * side != input_shape[0]:
        raise ValueError(
            f"a convolutional network needs square images, received samples of shape {input_shape}"
        )
    return 1, side, side
