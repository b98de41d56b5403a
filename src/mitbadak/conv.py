"""Convolution and pooling layers on image batches (chapter 7 of the book).

Images are ``(N, C, H, W)``: batch, channels, height, width. Both layers turn the
sliding windows into a matrix (see :mod:`mitbadak.im2col`) so that the work becomes
matrix products and whole-array operations; ``im2col``, ``col2im`` and
``conv_output_size`` are re-exported here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mitbadak._checks import as_float_input, check_int
from mitbadak._types import FloatArray
from mitbadak.im2col import (
    RowUnfolder,
    col2im,
    conv_output_size,
    im2col,
    out_hw,
    pad_images,
    window_view,
)
from mitbadak.layers import Layer, WeightLayer

__all__ = [
    "COL_CHUNK_BYTES",
    "Convolution",
    "Flatten",
    "Pooling",
    "col2im",
    "conv_output_size",
    "im2col",
]

#: Size of the column matrix that :class:`Convolution` unfolds at once: small enough
#: to stay in cache until the GEMM reads it (benchmarks/README.md, "DeepConvNet step").
COL_CHUNK_BYTES = 2**20
#: A batch whose columns take at most this many bytes is unfolded at once, and the
#: columns are kept from forward to backward (an image's first layer, few channels).
COL_KEEP_BYTES = 2**23


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

    The batch is unfolded a chunk of images at a time (:data:`COL_CHUNK_BYTES`), so
    that each chunk's columns are still in cache when the GEMMs read them, and
    backward unfolds the chunk again instead of keeping the whole batch's columns
    (nine times the input for 3x3 filters). With stride 1, ``pad < FH, FW`` and at
    least 8 input channels, ``dx`` is itself a convolution, of ``dout`` padded by
    ``F - 1 - pad`` with the flipped filters; otherwise the columns' gradients go
    back through :func:`col2im`.
    """

    config_keys = ("stride", "pad")

    def __init__(self, W: FloatArray, b: FloatArray, stride: int = 1, pad: int = 0) -> None:
        super().__init__(W, b, w_ndim=4, out_axis=0)
        self.stride = check_int("stride", stride, 1)
        self.pad = check_int("pad", pad, 0)
        self.x: FloatArray | None = None
        self.col: FloatArray | None = None  # the forward's columns, if one chunk held them
        self.out_shape: tuple[int, ...] | None = None

    def _unfolder(self, x: FloatArray, out_h: int, out_w: int) -> tuple[Any, int, int]:
        """A function from a chunk of x to its columns ``(n, C * FH * FW, OH * row)``,
        the images per chunk, and ``row``, the columns per output row."""
        _, c, fh, fw = self.params["W"].shape
        # Wide rows pay for their faster copies only when there are many of them.
        wide = self.stride == 1 and c >= 8
        row = x.shape[3] + 2 * self.pad if wide else out_w
        per_image = c * fh * fw * out_h * row * x.itemsize
        if per_image * len(x) <= COL_KEEP_BYTES:
            step = len(x)
        else:
            step = max(1, min(len(x), COL_CHUNK_BYTES // per_image))
        if wide:
            return RowUnfolder((step, *x.shape[1:]), self.pad, self.pad, fh, fw, x.dtype), step, row

        def columns(xs: FloatArray) -> FloatArray:
            return im2col(xs, fh, fw, self.stride, self.pad)

        return columns, step, row

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
        out_h, out_w = out_hw(x.shape, fh, fw, self.stride, self.pad, "a filter")
        out = np.empty((x.shape[0], fn, out_h, out_w), dtype=np.result_type(W, x))
        w_col, bias = W.reshape(fn, -1), b.reshape(fn, 1, 1)
        columns, step, row = self._unfolder(x, out_h, out_w)
        self.col = None
        for s in range(0, len(x), step):
            col = columns(x[s : s + step])
            # (FN, C*FH*FW) @ (n, C*FH*FW, OH*row): one GEMM per image, NCHW out.
            if row == out_w:
                o = out[s : s + step].reshape(len(col), fn, -1)
                np.matmul(w_col, col, out=o)
                o += bias.reshape(fn, 1)
            else:
                o = (w_col @ col).reshape(-1, fn, out_h, row)
                np.add(o[..., :out_w], bias, out=out[s : s + step])
        if step == len(x):
            self.col = col  # small enough to keep for backward
        self.x = x
        self.out_shape = out.shape
        return out

    def backward_params(self, dout: FloatArray) -> None:
        """Fill dW and db without computing dx (for a network's first layer)."""
        self._backward(dout, need_dx=False)

    def backward(self, dout: FloatArray) -> FloatArray:
        """dout: (N, FN, OH, OW). Returns dx: (N, C, H, W); fills dW, db."""
        dx = self._backward(dout, need_dx=True)
        assert dx is not None
        return dx

    def _backward(self, dout: FloatArray, *, need_dx: bool) -> FloatArray | None:
        dout = self._check_dout(dout, self.out_shape)
        x = self.x
        assert x is not None
        W = self.params["W"]
        fn, c, fh, fw = W.shape
        n, _, out_h, out_w = dout.shape
        h, w = x.shape[2:]
        dtype = np.result_type(W, dout)
        dW_T = np.zeros((c * fh * fw, fn), dtype=dtype)
        columns, step, row = self._unfolder(x, out_h, out_w)
        if self.col is not None:
            kept = self.col
            columns = lambda _: kept  # noqa: E731
        # dout laid out like the columns, zeros in the garbage columns of each row.
        d = np.zeros((step, fn, out_h, row), dtype=dtype) if row != out_w else None
        # The flipped convolution's GEMM has C rows: for few channels (an image's
        # first layer) scattering the columns back with col2im is faster.
        flipped = need_dx and self.stride == 1 and self.pad < min(fh, fw) and c >= 8
        if flipped:
            w_flip = W[:, :, ::-1, ::-1].transpose(1, 0, 2, 3).reshape(c, -1)
            dout_columns = RowUnfolder(
                (step, fn, out_h, out_w), fh - 1 - self.pad, fw - 1 - self.pad, fh, fw, dtype
            )
        dx = np.empty(x.shape, dtype=dtype) if need_dx else None
        for s in range(0, n, step):
            xs, ds = x[s : s + step], dout[s : s + step]
            if d is None:
                dc = ds
            else:
                dc = d[: len(xs)]
                dc[..., :out_w] = ds
            # (n, K, L) @ (n, L, FN): BLAS runs this about twice as fast as dout @ colᵀ.
            dW_T += (columns(xs) @ dc.reshape(len(xs), fn, -1).transpose(0, 2, 1)).sum(axis=0)
            if dx is None:
                continue
            if flipped:
                r = w_flip @ dout_columns(ds)  # (n, C, H * (W + FW - 1))
                dx[s : s + step] = r.reshape(-1, c, h, w + fw - 1)[..., :w]
            else:
                dcol = W.reshape(fn, -1).T @ ds.reshape(len(xs), fn, -1)
                dx[s : s + step] = col2im(dcol, xs.shape, fh, fw, self.stride, self.pad)
        self.grads["W"] = np.ascontiguousarray(dW_T.T).reshape(W.shape)
        self.grads["b"] = dout.sum(axis=(0, 2, 3))
        return dx


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
        out_h, out_w = out_hw(x.shape, self.pool_h, self.pool_w, self.stride, self.pad, "a window")
        xp = pad_images(x, self.pad, -np.inf)
        offsets = self.pool_h * self.pool_w
        arg_max = np.zeros((*x.shape[:2], out_h, out_w), dtype=np.min_scalar_type(offsets - 1))
        out = window_view(xp, 0, 0, out_h, out_w, self.stride).copy()
        for k in range(1, offsets):
            i, j = divmod(k, self.pool_w)
            candidate = window_view(xp, i, j, out_h, out_w, self.stride)
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
            window_view(dxp, i, j, out_h, out_w, self.stride)[...] += dout * (arg_max == k)
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
