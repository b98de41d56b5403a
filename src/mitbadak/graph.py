"""The two nodes of the book's computational graph (section 5.4): multiply and add.

Unlike the layers of :mod:`mitbadak.layers`, these take two inputs, ``forward(x, y)``,
and their ``backward(dout)`` returns a gradient for each: ``(dx, dy)``. They work on
Python floats (the apple example: 2 apples at 100 each with tax 1.1) and on float
arrays of any shapes that broadcast together; a gradient is summed back to the shape
of its input, since an input broadcast to many outputs receives from each of them.

>>> mul_apple, mul_tax = MulLayer(), MulLayer()
>>> price = mul_tax.forward(mul_apple.forward(100.0, 2.0), 1.1)
>>> round(float(price), 6)
220.0
>>> d_apple_price, d_tax = mul_tax.backward(1.0)
>>> d_apple, d_num = mul_apple.backward(d_apple_price)
>>> [round(float(v), 6) for v in (d_apple, d_num, d_tax)]
[2.2, 110.0, 200.0]
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

from mitbadak._checks import as_float_input
from mitbadak._types import FloatArray

__all__ = ["AddLayer", "MulLayer", "sum_to_shape"]


def sum_to_shape(grad: FloatArray, shape: tuple[int, ...]) -> FloatArray:
    """Sum ``grad`` over the axes that broadcasting added or stretched, giving ``shape``.

    If ``x`` of ``shape`` was broadcast to ``grad``'s shape in the forward pass, each of
    its entries fed several outputs, and their gradients add up (the chain rule's sum).
    """
    extra = grad.ndim - len(shape)
    if extra > 0:
        grad = grad.sum(axis=tuple(range(extra)))
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    if stretched:
        grad = grad.sum(axis=stretched, keepdims=True)
    return grad


class _TwoInputNode:
    """What both nodes share: input checks and the shapes that backward must return."""

    def __init__(self) -> None:
        self.x_shape: tuple[int, ...] | None = None
        self.y_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None

    def _inputs(self, x: ArrayLike, y: ArrayLike) -> tuple[FloatArray, FloatArray]:
        xa, ya = as_float_input(x, "x"), as_float_input(y, "y")
        try:
            out_shape = np.broadcast_shapes(xa.shape, ya.shape)
        except ValueError:
            raise ValueError(
                f"{type(self).__name__} inputs must have shapes that broadcast together, "
                f"received x of shape {xa.shape} and y of shape {ya.shape}"
            ) from None
        self.x_shape, self.y_shape, self.out_shape = xa.shape, ya.shape, out_shape
        return xa, ya

    def _dout(self, dout: ArrayLike) -> FloatArray:
        if self.out_shape is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before forward")
        d = as_float_input(dout, "dout")
        if d.shape != self.out_shape:
            raise ValueError(
                f"{type(self).__name__}.backward expected dout of shape {self.out_shape} "
                f"(the forward output), received {d.shape}"
            )
        return d

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class MulLayer(_TwoInputNode):
    """``out = x * y``. Backward swaps the inputs: ``dx = dout * y``, ``dy = dout * x``."""

    def __init__(self) -> None:
        super().__init__()
        self.x: FloatArray | None = None
        self.y: FloatArray | None = None

    def forward(self, x: ArrayLike, y: ArrayLike) -> FloatArray:
        """x, y: floats or float arrays that broadcast together. Returns their product."""
        self.x, self.y = self._inputs(x, y)
        return self.x * self.y

    def backward(self, dout: ArrayLike = 1.0) -> tuple[FloatArray, FloatArray]:
        """dout: the output's shape. Returns (dx, dy) in the shapes of x and y."""
        d = self._dout(dout)
        assert self.x is not None and self.y is not None
        assert self.x_shape is not None and self.y_shape is not None
        return sum_to_shape(d * self.y, self.x_shape), sum_to_shape(d * self.x, self.y_shape)


class AddLayer(_TwoInputNode):
    """``out = x + y``. Backward passes ``dout`` through to both inputs unchanged."""

    def forward(self, x: ArrayLike, y: ArrayLike) -> FloatArray:
        """x, y: floats or float arrays that broadcast together. Returns their sum."""
        xa, ya = self._inputs(x, y)
        return xa + ya

    def backward(self, dout: ArrayLike = 1.0) -> tuple[FloatArray, FloatArray]:
        """dout: the output's shape. Returns (dx, dy), new arrays in the shapes of x and y."""
        d = self._dout(dout)
        assert self.x_shape is not None and self.y_shape is not None
        # Copies: the caller may write into one gradient, and must not change dout.
        return (
            np.array(sum_to_shape(d, self.x_shape), copy=True),
            np.array(sum_to_shape(d, self.y_shape), copy=True),
        )
