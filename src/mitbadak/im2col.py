"""The column matrices behind convolution and pooling (chapter 7): ``im2col``, ``col2im``.

A convolution multiplies every window of the input by the filters. Unfolding the
windows into the columns of a matrix turns that into one matrix product (GEMM).

Layout
------
The book's ``im2col`` returns a 2-D matrix ``(N * OH * OW, C * FH * FW)`` with one
row per output pixel. :func:`im2col` here keeps each image's block, ``(N, C * FH *
FW, OH * OW)`` (Caffe's layout); the book's matrix is
``col.transpose(0, 2, 1).reshape(-1, C * FH * FW)``. With it the convolution is
``W.reshape(FN, -1) @ col``, one GEMM per image, and comes out directly as ``(N,
FN, OH * OW)``, in ``(N, C, H, W)`` order. :class:`RowUnfolder` builds the same
blocks faster for stride 1.

Every function loops over the ``FH * FW`` filter offsets, copying (or adding) a
strided slice of the whole batch each time, never over pixels, and avoids
``np.add.at``, which is slow.
"""

from __future__ import annotations

import numpy as np

from mitbadak._checks import as_float_input, check_int
from mitbadak._types import FloatArray

__all__ = [
    "col2im",
    "conv_output_size",
    "im2col",
    "out_hw",
    "pad_images",
    "RowUnfolder",
    "window_view",
]


def conv_output_size(input_size: int, filter_size: int, stride: int = 1, pad: int = 0) -> int:
    """Output length of a window sliding over one axis: ``(in + 2 pad - filter) // stride + 1``.

    Windows that would stick out past the padded edge are dropped (floor division),
    as in the book and in PyTorch. The result may be zero or negative when the
    filter is larger than the padded input; callers check it.
    """
    return (input_size + 2 * pad - filter_size) // stride + 1


def out_hw(
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


def window_view(a: FloatArray, i: int, j: int, out_h: int, out_w: int, stride: int) -> FloatArray:
    """The view of ``a: (N, C, Hp, Wp)`` seen by offset ``(i, j)`` of every window."""
    return a[:, :, i : i + stride * out_h : stride, j : j + stride * out_w : stride]


def pad_images(x: FloatArray, pad: int, value: float) -> FloatArray:
    if pad == 0:
        return x
    n, c, h, w = x.shape
    xp = np.full((n, c, h + 2 * pad, w + 2 * pad), value, dtype=x.dtype)
    xp[:, :, pad : pad + h, pad : pad + w] = x
    return xp


class RowUnfolder:
    """Stride-1 windows of image chunks, zero-padded, as ``(n, C * FH * FW, OH * Wp)``.

    Built once for chunks of ``n`` images ``(n, C, H, W)``; called on a chunk, it
    returns the chunk's columns in :func:`im2col`'s layout, with one difference: the
    columns run over every output row at the padded width ``Wp = W + 2 pad_w``
    (:attr:`row_length`) instead of ``OW``. In the flattened padded image, what
    offset ``(i, j)`` of every window sees is then one contiguous run starting at
    ``i * Wp + j``, copied in one go, where :func:`im2col` copies ``OH`` short rows.
    The last ``Wp - OW`` columns of each output row are garbage, for the caller to
    drop. The padded images and the columns are buffers reused by every chunk of the
    same size, since fresh arrays cost a page fault per 4 KiB written.
    """

    def __init__(
        self,
        shape: tuple[int, ...],
        pad_h: int,
        pad_w: int,
        filter_h: int,
        filter_w: int,
        dtype: np.dtype,
    ) -> None:
        self.n, self.c, self.h, self.w = shape
        self.pad_h, self.pad_w = pad_h, pad_w
        self.filter_h, self.filter_w = filter_h, filter_w
        hp, self.row_length = self.h + 2 * pad_h, self.w + 2 * pad_w
        self.out_h = hp - filter_h + 1
        # One spare row keeps the garbage columns of the last output row inside the image.
        self.xp = np.zeros((self.n, self.c, hp + 1, self.row_length), dtype=dtype)
        self.col = np.empty(
            (self.n, self.c, filter_h, filter_w, self.out_h * self.row_length), dtype=dtype
        )

    def __call__(self, xs: FloatArray) -> FloatArray:
        """xs: (n, C, H, W), a chunk. Returns (n, C * FH * FW, OH * row_length), a view
        of the buffer that the next call overwrites."""
        n = len(xs)
        if n != self.n:
            pads = (self.pad_h, self.pad_w, self.filter_h, self.filter_w)
            return RowUnfolder((n, self.c, self.h, self.w), *pads, self.xp.dtype)(xs)
        ph, pw = self.pad_h, self.pad_w
        self.xp[:, :, ph : ph + self.h, pw : pw + self.w] = xs
        flat = self.xp.reshape(n, self.c, -1)
        run = self.out_h * self.row_length
        for i in range(self.filter_h):
            for j in range(self.filter_w):
                start = i * self.row_length + j
                self.col[:, :, i, j] = flat[:, :, start : start + run]
        return self.col.reshape(n, -1, run)


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
    out_h, out_w = out_hw(x.shape, filter_h, filter_w, stride, pad, "a window")
    n, c = x.shape[:2]
    xp = pad_images(x, pad, 0.0)
    col = np.empty((n, c, filter_h, filter_w, out_h, out_w), dtype=x.dtype)
    for i in range(filter_h):
        for j in range(filter_w):
            col[:, :, i, j] = window_view(xp, i, j, out_h, out_w, stride)
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
    out_h, out_w = out_hw((n, c, h, w), filter_h, filter_w, stride, pad, "a window")
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
            window_view(dxp, i, j, out_h, out_w, stride)[...] += blocks[:, :, i, j]
    if pad == 0:
        return dxp
    return dxp[:, :, pad : pad + h, pad : pad + w].copy()
