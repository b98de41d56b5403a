"""The book's ``common/util.py``: ``smooth_curve``, ``shuffle_dataset``, ``im2col``, ...

``from common.util import smooth_curve`` becomes
``from mitbadak.book.util import smooth_curve``. ``smooth_curve`` is
:func:`mitbadak.curves.smooth_curve` and ``shuffle_dataset`` is
:func:`mitbadak.sampling.shuffle_dataset` (give it ``rng=`` to make it
reproducible). ``im2col`` and ``col2im`` use the book's 2-D layout, one row per
output pixel; mitbadak's own (:mod:`mitbadak.im2col`) keeps one block per image.
"""

from __future__ import annotations

from collections.abc import Sequence

from numpy.typing import ArrayLike

from mitbadak import im2col as columns
from mitbadak._checks import as_float_lenient
from mitbadak._types import FloatArray
from mitbadak.curves import smooth_curve
from mitbadak.im2col import conv_output_size
from mitbadak.sampling import shuffle_dataset

__all__ = ["col2im", "conv_output_size", "im2col", "shuffle_dataset", "smooth_curve"]


def im2col(
    input_data: ArrayLike, filter_h: int, filter_w: int, stride: int = 1, pad: int = 0
) -> FloatArray:
    """input_data: (N, C, H, W). Returns the book's (N * OH * OW, C * FH * FW) matrix."""
    col = columns.im2col(
        as_float_lenient(input_data, "input_data"), filter_h, filter_w, stride, pad
    )
    return col.transpose(0, 2, 1).reshape(-1, col.shape[1])


def col2im(
    col: ArrayLike,
    input_shape: Sequence[int],
    filter_h: int,
    filter_w: int,
    stride: int = 1,
    pad: int = 0,
) -> FloatArray:
    """The adjoint of :func:`im2col`: col (N * OH * OW, C * FH * FW) -> (N, C, H, W)."""
    matrix = as_float_lenient(col, "col")
    n = int(input_shape[0])
    if matrix.ndim != 2 or n <= 0 or matrix.shape[0] % n:
        raise ValueError(
            f"col must be the book's 2-D matrix with a multiple of N={n} rows, "
            f"received shape {matrix.shape}"
        )
    blocks = matrix.reshape(n, -1, matrix.shape[1]).transpose(0, 2, 1)
    shape = tuple(int(d) for d in input_shape)
    return columns.col2im(blocks, shape, filter_h, filter_w, stride, pad)
