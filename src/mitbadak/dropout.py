"""Dropout (section 6.4 of the book): randomly silencing units while training."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mitbadak._checks import as_float_input, check_ratio, check_rng
from mitbadak._types import FloatArray
from mitbadak.layers import Layer

__all__ = ["Dropout"]


def check_dropout_ratio(value: object) -> float:
    """``value`` as a float if it is a valid dropout ratio ``0 <= p < 1``, else ``ValueError``."""
    return check_ratio("dropout_ratio", value)


class Dropout(Layer):
    """Inverted dropout (Srivastava et al., 2014, https://jmlr.org/papers/v15/srivastava14a.html).

    Parameters
    ----------
    dropout_ratio : probability ``p`` of dropping each unit, ``0 <= p < 1``
    rng : the generator that draws the masks (a fresh unseeded one if omitted),
        kept as ``self.rng``

    In training mode each unit is kept with probability ``1 - p`` and the kept
    units are scaled by ``1 / (1 - p)``, so every unit's expected value is
    unchanged and inference is the identity. The book instead scales by
    ``1 - p`` at inference; the two give the same expected outputs, but inverted
    dropout leaves inference untouched.

    ``last_rng_state`` is the generator's state before the most recent training
    mask was drawn; :meth:`set_random_state` with ``replay=True`` rewinds to it, so
    that a gradient check can replay that very mask.
    """

    config_keys = ("dropout_ratio",)

    def __init__(
        self, dropout_ratio: float = 0.5, *, rng: np.random.Generator | None = None
    ) -> None:
        super().__init__()
        self.dropout_ratio = check_dropout_ratio(dropout_ratio)
        self.rng = check_rng(rng)
        self.last_rng_state: Mapping[str, Any] | None = None
        self.mask: FloatArray | None = None  # 0 or 1/(1-p); None means identity
        self.out_shape: tuple[int, ...] | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: any shape. Returns the same shape and dtype (a new array)."""
        x = as_float_input(x)
        self.out_shape = x.shape
        p = self.dropout_ratio
        if not train or p == 0.0:
            self.mask = None
            return x.copy()
        self.last_rng_state = self.rng.bit_generator.state
        # Drawn in float64 whatever x's dtype, so that the mask depends only on the
        # generator's state: a float64 copy of a float32 network (the numerical
        # gradient's) replays exactly the masks that the float32 network drew.
        keep = self.rng.random(x.shape) >= p
        scale = x.dtype.type(1.0 / (1.0 - p))
        self.mask = np.where(keep, scale, x.dtype.type(0))
        return x * self.mask

    def random_state(self) -> tuple[Mapping[str, Any], Mapping[str, Any] | None]:
        """The generator's state now, and before the most recent training mask."""
        return self.rng.bit_generator.state, self.last_rng_state

    def set_random_state(self, state: object | None, *, replay: bool = False) -> None:
        """Restore a :meth:`random_state` snapshot; ``replay`` rewinds to its last mask."""
        current, last = state  # type: ignore[misc]
        self.rng.bit_generator.state = last if replay and last is not None else current
        self.last_rng_state = last

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: the forward output's shape. Returns dx = dout * mask (new array)."""
        dout = self._check_dout(dout, self.out_shape)
        if self.mask is None:
            return dout.copy()
        return dout * self.mask
