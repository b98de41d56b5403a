"""The book's ``ch05/layer_naive.py``: the multiply and add nodes of the apple example.

``from layer_naive import *`` becomes ``from mitbadak.book.layer_naive import *``.
These are :class:`mitbadak.graph.MulLayer` and :class:`mitbadak.graph.AddLayer`
taking what the book passes (Python ints such as ``100`` apples too) and giving
Python floats back for scalars, so that ``print`` shows ``2.2`` rather than an array.
"""

from __future__ import annotations

from typing import Any

from numpy.typing import ArrayLike

from mitbadak import graph
from mitbadak._checks import as_float_lenient

__all__ = ["AddLayer", "MulLayer"]


def _plain(value: Any) -> Any:
    """A 0-d array as a Python float; other arrays as they are."""
    return float(value) if getattr(value, "ndim", None) == 0 else value


class MulLayer(graph.MulLayer):
    """``out = x * y``; ``backward(dout)`` returns ``(dout * y, dout * x)``."""

    def forward(self, x: ArrayLike, y: ArrayLike) -> Any:
        return _plain(super().forward(as_float_lenient(x, "x"), as_float_lenient(y, "y")))

    def backward(self, dout: ArrayLike = 1.0) -> Any:
        dx, dy = super().backward(as_float_lenient(dout, "dout"))
        return _plain(dx), _plain(dy)


class AddLayer(graph.AddLayer):
    """``out = x + y``; ``backward(dout)`` returns ``(dout, dout)``."""

    def forward(self, x: ArrayLike, y: ArrayLike) -> Any:
        return _plain(super().forward(as_float_lenient(x, "x"), as_float_lenient(y, "y")))

    def backward(self, dout: ArrayLike = 1.0) -> Any:
        dx, dy = super().backward(as_float_lenient(dout, "dout"))
        return _plain(dx), _plain(dy)
