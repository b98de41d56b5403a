"""Convolution and pooling on image batches (chapter 7 of the book).

Images are ``(N, C, H, W)``: batch, channels, height, width. Both layers turn the
sliding windows into a matrix with :func:`im2col` so that the work becomes one
matrix product, and route gradients back with :func:`col2im`.

Layout of the column matrix
---------------------------
The book's ``im2col`` returns a 2-D matrix ``(N * OH * OW, C * FH * FW)`` with one
row per output pixel. Here each image keeps its own block, ``(N, C * FH * FW,
OH * OW)`` (the layout Caffe uses). With it the convolution is ``W_col @ col``
batched over images and comes out directly as ``(N, FN, OH * OW)``, already in
``(N, C, H, W)`` order, so no transpose copy is needed; building the matrix is a
handful of slice copies (``benchmarks/bench_conv.py`` measures the difference).
The book's matrix is ``col.transpose(0, 2, 1).reshape(-1, C * FH * FW)``.

Both functions loop over the ``FH * FW`` filter offsets, copying (or adding) a
strided slice of the whole batch each time, never over pixels, and avoid
``np.add.at``, which is slow.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from mitbadak._checks import as_float_input, check_int
from mitbadak._types import FloatArray
from mitbadak.layers import Layer, WeightLayer

__all__ = ["Convolution", "Flatten", "Pooling", "col2im", "conv_output_size", "im2col"]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output length of a window sliding over one axis: ``(in + 2 pad - filter) // stride + 1``.

    Windows that would stick out past the padded edge are dropped (floor division),
    as in the book and in PyTorch. The result may be zero or negative when the
    filter is larger than the padded input; callers check it.
    """
    return (input_size + 2 * pad - filter_size) // stride + 1


def _out_hw(
    x_shape: tuple[int, ...], filter_h: int, filter_w: int, stride: int, pad: int, what: str
) -> tuple[int, int]:
    h, w = x_shape[2], x_shape[3]
    out_h = conv_output_size(h, filter_h, stride, pad)
    out_w = conv_output_size(w, filter_w, stride, pad)
    if out_h <= 0 or out_w <= 0:
        raise ValueError(
            f"{what} of size {filter_h}x{filter_w} with pad={pad} does not fit input of "
            f"shape {x_shape}: the output would be {out_h}x{out_w}; expected a padded input "
            f"of at least {filter_h}x{filter_w}"
        )
    return out_h, out_w


def _window(a: FloatArray, i: int, j: int, out_h: int, out_w: int, stride: int) -> FloatArray:
    """The view of ``a: (N, C, Hp, Wp)`` seen by offset ``(i, j)`` of every window."""
    return a[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]


def _pad(x: FloatArray, pad: int, value: float) -> FloatArray:
    if pad == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * pad, w + 2 * pad), value, dtype=x.dtype)
    xp[:, :, pad : pad + h, pad : pad + w] = x
    return xp


def im2col(
    input_data: FloatArray, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> FloatArray:
    """Unfold every ``filter_h x filter_w`` window of a batch into a column.

    Parameters
    ----------
    input_data : (N, C, H, W)
    filter_h, filter_w : window size
    stride, pad : step between windows; zeros added on each side

    Returns
    -------
    col : (N, C * FH * FW, OH * OW), a new array; ``col[n, :, p]`` is the window
        of image ``n`` at output pixel ``p`` (row-major), flattened in ``(C, FH,
        FW)`` order to match ``W.reshape(FN, -1)``.
    """
    x = as_float_input(input_data, "input_data")
    if x.ndim != 4:
        raise ValueError(f"im2col expects input of shape (N, C, H, W), received {x.shape}")
    filter_h = check_int("filter_h", filter_h, 1)
    filter_w = check_int("filter_w", filter_w, 1)
    stride = check_int("stride", stride, 1)
    pad = check_int("pad", pad, 0)
    out_h, out_w = _out_hw(x.shape, filter_h, filter_w, stride, pad, "a window")
    n, c = x.shape[:2]
    xp = _pad(x, pad, 0.0)
    col = np.empty((n, c, filter_h, filter_w, out_h, out_w), dtype=x.dtype)
    for i in range(filter_h):
        for j in range(filter_w):
            col[:, :, i, j] = _window(xp, i, j, out_h, out_w, stride)
    return col.reshape(n, c * filter_h * filter_w, out_h * out_w)


def col2im(
    col: FloatArray,
    input_shape: tuple[int, ...],
    filter_h: int,
    filter_w: int,
    stride: int = 1,
    pad: int = 0,
) -> FloatArray:
    """The adjoint of :func:`im2col`: add every column back onto the pixels it came from.

    Overlapping windows add up, which is what backprop through :func:`im2col`
    needs; padding is cut off again.

    Parameters
    ----------
    col : (N, C * FH * FW, OH * OW)
    input_shape : (N, C, H, W) of the array that was unfolded

    Returns
    -------
    (N, C, H, W), a new array of ``col``'s dtype.
    """
    col = as_float_input(col, "col")
    if len(input_shape) != 4:
        raise ValueError(f"input_shape must be (N, C, H, W), received {input_shape}")
    filter_h = check_int("filter_h", filter_h, 1)
    filter_w = check_int("filter_w", filter_w, 1)
    stride = check_int("stride", stride, 1)
    pad = check_int("pad", pad, 0)
    n, c, h, w = (int(d) for d in input_shape)
    out_h, out_w = _out_hw((n, c, h, w), filter_h, filter_w, stride, pad, "a window")
    expected = (n, c * filter_h * filter_w, out_h * out_w)
    if col.shape != expected:
        raise ValueError(
            f"col must have shape {expected} for input_shape {tuple(input_shape)}, "
            f"received {col.shape}"
        )
    blocks = col.reshape(n, c, filter_h, filter_w, out_h, out_w)
    dxp = np.zeros((n, c, h + 2 * pad, w + 2 * pad), dtype=col.dtype)
    for i in range(filter_h):
        for j in range(filter_w):
            # Within one offset no two windows share a pixel, so a plain += on
            # the strided view is exact (unlike fancy-index assignment).
            _window(dxp, i, j, out_h, out_w, stride)[...] += blocks[:, :, i, j]
    if pad == 0:
        return dxp
    return dxp[:, :, pad : pad + h, pad : pad + w].copy()


class Convolution(WeightLayer):
    """2-D convolution (cross-correlation, as in the book and PyTorch) of an image batch.

    Parameters
    ----------
    W : (FN, C, FH, FW) filters
    b : (FN,) bias, one per filter
    stride : step between windows, an integer >= 1
    pad : zeros added on each side of the height and width, an integer >= 0

    ``forward`` maps x: (N, C, H, W) to (N, FN, OH, OW) with
    ``OH = (H + 2 pad - FH) // stride + 1`` (likewise ``OW``).
    """

    config_keys = ("stride", "pad")

    def __init__(self, W: FloatArray, b: FloatArray, stride: int = 1, pad: int = 0) -> None:
        super().__init__(W, b, w_ndim=4, out_axis=0)
        self.stride = check_int("stride", stride, 1)
        self.pad = check_int("pad", pad, 0)
        self.x_shape: tuple[int, ...] | None = None
        self.out_shape: tuple[int, ...] | None = None
        self.col: FloatArray | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: (N, C, H, W). Returns (N, FN, OH, OW)."""
        x = as_float_input(x)
        W, b = self.params["W"], self.params["b"]
        fn, c, fh, fw = W.shape
        if x.ndim != 4 or x.shape[1] != c:
            raise ValueError(
                f"Convolution expects input of shape (N, {c}, H, W) for filters of shape "
                f"{W.shape}, received {x.shape}"
            )
        out_h, out_w = _out_hw(x.shape, fh, fw, self.stride, self.pad, "a filter")
        n = x.shape[0]
        col = im2col(x, fh, fw, self.stride, self.pad)
        # (FN, C*FH*FW) @ (N, C*FH*FW, OH*OW): one small GEMM per image, NCHW out.
        out = W.reshape(fn, -1) @ col
        out += b[:, np.newaxis]
        self.col = col
        self.x_shape = x.shape
        self.out_shape = (n, fn, out_h, out_w)
        return out.reshape(self.out_shape)

    def backward_params(self, dout: FloatArray) -> None:
        """Fill dW and db without computing dx (for a network's first layer)."""
        dout = self._check_dout(dout, self.out_shape)
        col = self.col
        assert col is not None
        n, fn = dout.shape[:2]
        d = dout.reshape(n, fn, -1)
        # Per image dout_n (FN, L) @ col_nᵀ (L, K), then summed over the batch:
        # one tensordot would have to copy both operands first.
        self.grads["W"] = (d @ col.transpose(0, 2, 1)).sum(axis=0).reshape(self.params["W"].shape)
        self.grads["b"] = dout.sum(axis=(0, 2, 3))

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: (N, FN, OH, OW). Returns dx: (N, C, H, W); fills dW, db."""
        self.backward_params(dout)
        assert self.x_shape is not None
        W = self.params["W"]
        fn, _, fh, fw = W.shape
        d = dout.reshape(dout.shape[0], fn, -1)
        dcol = W.reshape(fn, -1).T @ d
        return col2im(dcol, self.x_shape, fh, fw, self.stride, self.pad)


class Pooling(Layer):
    """Max pooling over ``pool_h x pool_w`` windows of each channel.

    Parameters
    ----------
    pool_h, pool_w : window size, integers >= 1
    stride : step between windows (the book's text defaults to 1; pass 2 for the
        usual non-overlapping 2x2 pooling)
    pad : cells added on each side, an integer with ``pad < pool_h`` and
        ``pad < pool_w`` so that every window holds at least one real cell

    Padding cells hold ``-inf``, not 0 as in the book's ``im2col``-based code: with
    zeros, a window of negative inputs would output 0 and send its gradient to a
    cell that does not exist. With ``-inf`` the padding never wins, as in PyTorch.
    A NaN in a window makes that output NaN.

    ``backward`` sends each output's gradient to the cell that held the maximum;
    on ties, the first one in row-major order within the window (as PyTorch does).
    With overlapping windows (``stride`` smaller than the window) a cell collects
    the gradients of every window it won.
    """

    config_keys = ("pool_h", "pool_w", "stride", "pad")

    def __init__(self, pool_h: int, pool_w: int, stride: int = 1, pad: int = 0) -> None:
        super().__init__()
        self.pool_h = check_int("pool_h", pool_h, 1)
        self.pool_w = check_int("pool_w", pool_w, 1)
        self.stride = check_int("stride", stride, 1)
        self.pad = check_int("pad", pad, 0)
        if self.pad >= min(self.pool_h, self.pool_w):
            raise ValueError(
                f"pad must be smaller than the window {self.pool_h}x{self.pool_w} so that no "
                f"window is all padding, received pad={pad!r}"
            )
        self.x_shape: tuple[int, ...] | None = None
        self.arg_max: NDArray[np.integer] | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: (N, C, H, W). Returns (N, C, OH, OW) of the same dtype."""
        x = as_float_input(x)
        if x.ndim != 4:
            raise ValueError(f"Pooling expects input of shape (N, C, H, W), received {x.shape}")
        out_h, out_w = _out_hw(x.shape, self.pool_h, self.pool_w, self.stride, self.pad, "a window")
        xp = _pad(x, self.pad, -np.inf)
        offsets = self.pool_h * self.pool_w
        arg_max = np.zeros((*x.shape[:2], out_h, out_w), dtype=np.min_scalar_type(offsets - 1))
        out = _window(xp, 0, 0, out_h, out_w, self.stride).copy()
        for k in range(1, offsets):
            i, j = divmod(k, self.pool_w)
            candidate = _window(xp, i, j, out_h, out_w, self.stride)
            # Strictly greater: a later equal value does not take over, so ties go
            # to the first maximum in the window. Offsets only grow, so "set to k
            # where better" is max(arg_max, better * k): plain arithmetic, which
            # runs faster than np.where or a masked copy.
            better = candidate > out
            np.maximum(arg_max, np.multiply(better, k, dtype=arg_max.dtype), out=arg_max)
            np.maximum(out, candidate, out=out)
        self.x_shape = x.shape
        self.arg_max = arg_max
        return out

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: (N, C, OH, OW). Returns dx: (N, C, H, W), non-zero only at the maxima."""
        arg_max = self.arg_max
        dout = self._check_dout(dout, None if arg_max is None else arg_max.shape)
        assert arg_max is not None and self.x_shape is not None
        n, c, h, w = self.x_shape
        out_h, out_w = arg_max.shape[2:]
        p = self.pad
        dxp = np.zeros((n, c, h + 2 * p, w + 2 * p), dtype=dout.dtype)
        for k in range(self.pool_h * self.pool_w):
            i, j = divmod(k, self.pool_w)
            # Multiplying by the 0/1 mask is faster than np.where; it differs only
            # for an infinite dout (inf * 0 is NaN), when training has diverged anyway.
            _window(dxp, i, j, out_h, out_w, self.stride)[...] += dout * (arg_max == k)
        if p == 0:
            return dxp
        return dxp[:, :, p : p + h, p : p + w].copy()


class Flatten(Layer):
    """Reshape ``(N, d1, d2, ...)`` to ``(N, d1 * d2 * ...)``; backward restores the shape.

    Both directions return views (no copy), which is safe because layers never
    write into their inputs or into ``dout``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.x_shape: tuple[int, ...] | None = None

    def forward(self, x: FloatArray, *, train: bool = False) -> FloatArray:
        """x: (N, ...). Returns (N, prod(...))."""
        x = as_float_input(x)
        if x.ndim < 1:
            raise ValueError(f"Flatten expects a batch (N, ...), received shape {x.shape}")
        self.x_shape = x.shape
        return x.reshape(x.shape[0], math.prod(x.shape[1:]))

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: (N, prod(...)). Returns dx in the input's shape."""
        shape = self.x_shape
        expected = None if shape is None else (shape[0], math.prod(shape[1:]))
        dout = self._check_dout(dout, expected)
        assert shape is not None
        return dout.reshape(shape)
