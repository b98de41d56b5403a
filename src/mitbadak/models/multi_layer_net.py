"""The book's fully connected network of any depth (chapter 6): ``MultiLayerNet``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Self

import numpy as np
from numpy.typing import ArrayLike, DTypeLike

from mitbadak._checks import check_float_dtype, check_positive_int, check_real, check_rng
from mitbadak._types import FloatArray
from mitbadak.batchnorm import BatchNormalization
from mitbadak.dropout import Dropout, check_dropout_ratio
from mitbadak.initializers import check_scheme, init_weight
from mitbadak.layers import Affine, Layer, Relu, Sigmoid, SoftmaxWithLoss
from mitbadak.models.network import BuildOptions, Network, NetworkConfig, register

__all__ = ["MultiLayerNet", "MultiLayerNetConfig"]

_ACTIVATIONS: dict[str, type[Layer]] = {"relu": Relu, "sigmoid": Sigmoid}


@dataclass(frozen=True)
class MultiLayerNetConfig(NetworkConfig):
    """Settings of :class:`MultiLayerNet`; see there."""

    input_size: int
    hidden_size_list: tuple[int, ...]
    output_size: int
    activation: str = "relu"
    weight_init: str | float = "relu"
    weight_decay_lambda: float = 0.0
    use_batchnorm: bool = False
    dropout_ratio: float = 0.0

    def __post_init__(self) -> None:
        self._set("input_size", check_positive_int("input_size", self.input_size))
        self._set("output_size", check_positive_int("output_size", self.output_size))
        hidden = self.hidden_size_list
        if isinstance(hidden, str | bytes) or not isinstance(hidden, Sequence):
            raise TypeError(
                "hidden_size_list must be a list of positive integers, "
                f"received {type(hidden).__name__}"
            )
        self._set(
            "hidden_size_list",
            tuple(check_positive_int(f"hidden_size_list[{i}]", s) for i, s in enumerate(hidden)),
        )
        if self.activation not in _ACTIVATIONS:
            raise ValueError(
                f"activation must be one of {list(_ACTIVATIONS)}, received {self.activation!r}"
            )
        self._set("weight_init", check_scheme("weight_init", self.weight_init))
        decay = check_real(
            "weight_decay_lambda", self.weight_decay_lambda, low=0.0, not_real=ValueError
        )
        self._set("weight_decay_lambda", decay)
        if not isinstance(self.use_batchnorm, bool):
            raise TypeError(f"use_batchnorm must be True or False, received {self.use_batchnorm!r}")
        # Checked here too, not only by Dropout, so that a bad value fails even
        # for a net without hidden layers.
        self._set("dropout_ratio", check_dropout_ratio(self.dropout_ratio))

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        sizes = [self.input_size, *self.hidden_size_list, self.output_size]
        shapes: dict[str, tuple[int, ...]] = {}
        for i in range(1, len(sizes)):
            shapes[f"W{i}"] = (sizes[i - 1], sizes[i])
            shapes[f"b{i}"] = (sizes[i],)
            if self.use_batchnorm and i < len(sizes) - 1:
                shapes[f"gamma{i}"] = (sizes[i],)
                shapes[f"beta{i}"] = (sizes[i],)
        return shapes


@register
class MultiLayerNet(Network):
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
        standard deviation; see :mod:`mitbadak.initializers`
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

    Config = MultiLayerNetConfig
    cfg: MultiLayerNetConfig
    cli_name = "mlp"
    chapter = 6
    default_hidden = (100, 100, 100, 100)
    accepts = frozenset(
        {"weight_init_std", "weight_init", "use_batchnorm", "dropout_ratio", "weight_decay_lambda"}
    )

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
        cfg = MultiLayerNetConfig(
            input_size,
            hidden_size_list,  # type: ignore[arg-type]
            output_size,
            activation,
            weight_init,
            weight_decay_lambda,
            use_batchnorm,
            dropout_ratio,
        )
        rng = check_rng(rng)
        dt = check_float_dtype(dtype)
        cfg.check_fits(dt, type(self).__name__)

        sizes = [cfg.input_size, *cfg.hidden_size_list, cfg.output_size]
        layers: dict[str, Layer] = {}
        names: dict[str, tuple[str, str]] = {}
        for i in range(1, len(sizes)):
            fan_in, fan_out = sizes[i - 1], sizes[i]
            W = init_weight((fan_in, fan_out), cfg.weight_init, rng=rng, dtype=dt)
            layers[f"Affine{i}"] = Affine(W, np.zeros(fan_out, dtype=dt))
            names[f"W{i}"] = (f"Affine{i}", "W")
            names[f"b{i}"] = (f"Affine{i}", "b")
            if i == len(sizes) - 1:
                break
            if cfg.use_batchnorm:
                layers[f"BatchNorm{i}"] = BatchNormalization(
                    np.ones(fan_out, dtype=dt), np.zeros(fan_out, dtype=dt)
                )
                names[f"gamma{i}"] = (f"BatchNorm{i}", "gamma")
                names[f"beta{i}"] = (f"BatchNorm{i}", "beta")
            act = _ACTIVATIONS[cfg.activation]
            layers[f"{act.__name__}{i}"] = act()
            if cfg.dropout_ratio > 0:
                layers[f"Dropout{i}"] = Dropout(cfg.dropout_ratio, rng=rng.spawn(1)[0])
        self._weight_names = [f"W{i}" for i in range(1, len(sizes))]
        super().__init__(cfg, layers, SoftmaxWithLoss(), param_names=names)

    @classmethod
    def _build(
        cls,
        input_shape: tuple[int, ...],
        output_size: int,
        options: BuildOptions,
        rng: np.random.Generator,
    ) -> Self:
        scheme = options.weight_init or "he"
        return cls(
            int(np.prod(input_shape)),
            cls._hidden(options, single=False),
            output_size,
            weight_init=options.weight_init_std if scheme == "std" else scheme,
            weight_decay_lambda=options.weight_decay_lambda,
            use_batchnorm=options.use_batchnorm,
            dropout_ratio=options.dropout_ratio,
            rng=rng,
        )

    def weight_decay_penalty(self) -> float:
        """``0.5 λ Σ ‖W‖²`` over the Affine weights (0 when λ is 0)."""
        lam = self.cfg.weight_decay_lambda
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
        lam = self.cfg.weight_decay_lambda
        if lam != 0:
            for name in self._weight_names:
                decayed = grads[name] + self.params[name].dtype.type(lam) * self.params[name]
                self.grads[name] = decayed
                grads[name] = self.grads[name]
        return loss, grads
