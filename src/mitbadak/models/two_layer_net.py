"""The book's chapter-5 network: Affine → ReLU → Affine → SoftmaxWithLoss."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.typing import DTypeLike

from mitbadak._checks import check_float_dtype, check_positive_int, check_real, check_rng
from mitbadak.initializers import init_weight
from mitbadak.layers import Affine, Relu, SoftmaxWithLoss
from mitbadak.models.network import BuildOptions, Network, NetworkConfig, register

__all__ = ["TwoLayerNet", "TwoLayerNetConfig"]


@dataclass(frozen=True)
class TwoLayerNetConfig(NetworkConfig):
    """Settings of :class:`TwoLayerNet`; see there."""

    input_size: int
    hidden_size: int
    output_size: int
    weight_init_std: float = 0.01

    def __post_init__(self) -> None:
        for name in ("input_size", "hidden_size", "output_size"):
            self._set(name, check_positive_int(name, getattr(self, name)))
        std = check_real(
            "weight_init_std", self.weight_init_std, low=0.0, low_open=True, not_real=ValueError
        )
        self._set("weight_init_std", std)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        return {
            "W1": (self.input_size, self.hidden_size),
            "b1": (self.hidden_size,),
            "W2": (self.hidden_size, self.output_size),
            "b2": (self.output_size,),
        }


@register
class TwoLayerNet(Network):
    """The book's network: Affine → ReLU → Affine → SoftmaxWithLoss.

    Parameters
    ----------
    input_size, hidden_size, output_size : layer widths (784, 50, 10 for MNIST)
    weight_init_std : weights are ``weight_init_std * N(0, 1)``; biases start at 0
    rng : the generator that draws the weights (a fresh unseeded one if omitted)
    dtype : float32 for training, float64 for gradient checks

    ``params`` holds ``W1: (input, hidden)``, ``b1: (hidden,)``, ``W2: (hidden,
    output)``, ``b2: (output,)``; ``gradient`` returns the same keys.
    """

    Config = TwoLayerNetConfig
    cfg: TwoLayerNetConfig
    cli_name = "two-layer"
    chapter = 5
    default_hidden = (50,)
    accepts = frozenset({"weight_init_std"})

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        output_size: int,
        weight_init_std: float = 0.01,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        cfg = TwoLayerNetConfig(input_size, hidden_size, output_size, weight_init_std)
        rng = check_rng(rng)
        dt = check_float_dtype(dtype)
        cfg.check_fits(dt, type(self).__name__)
        std = cfg.weight_init_std
        W1 = init_weight((cfg.input_size, cfg.hidden_size), std, rng=rng, dtype=dt)
        W2 = init_weight((cfg.hidden_size, cfg.output_size), std, rng=rng, dtype=dt)
        super().__init__(
            cfg,
            {
                "Affine1": Affine(W1, np.zeros(cfg.hidden_size, dtype=dt)),
                "Relu1": Relu(),
                "Affine2": Affine(W2, np.zeros(cfg.output_size, dtype=dt)),
            },
            SoftmaxWithLoss(),
            param_names={
                "W1": ("Affine1", "W"),
                "b1": ("Affine1", "b"),
                "W2": ("Affine2", "W"),
                "b2": ("Affine2", "b"),
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
        return cls(int(np.prod(input_shape)), hidden, output_size, options.weight_init_std, rng=rng)
