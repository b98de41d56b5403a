"""Tests for mitbadak.conv: im2col/col2im, Convolution, Pooling, Flatten.

The comparisons with PyTorch (``F.conv2d``, ``F.max_pool2d``) are in test_torch_oracle.py,
which imports ``conv_case`` and ``make_conv`` from here.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layer_contract import assert_layer_contract
from mitbadak import conv
from mitbadak.conv import Convolution, Flatten, Pooling, col2im, conv_output_size, im2col

SETTINGS = settings(max_examples=30, deadline=None)


def naive_im2col(x: np.ndarray, fh: int, fw: int, stride: int, pad: int) -> np.ndarray:
    """The definition, pixel by pixel: column p of image n is the window at output p."""
    n, c, h, w = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    oh = conv_output_size(h, fh, stride, pad)
    ow = conv_output_size(w, fw, stride, pad)
    col = np.zeros((n, c * fh * fw, oh * ow), dtype=x.dtype)
    for b in range(n):
        for i in range(oh):
            for j in range(ow):
                window = xp[b, :, i * stride : i * stride + fh, j * stride : j * stride + fw]
                col[b, :, i * ow + j] = window.ravel()
    return col


@st.composite
def conv_case(draw: st.DrawFn) -> dict[str, int]:
    """Shapes, strides and paddings whose output is at least 1x1."""
    fh = draw(st.integers(1, 4))
    fw = draw(st.integers(1, 4))
    stride = draw(st.integers(1, 3))
    pad = draw(st.integers(0, 2))
    h = draw(st.integers(max(1, fh - 2 * pad), 9))
    w = draw(st.integers(max(1, fw - 2 * pad), 9))
    return {
        "n": draw(st.integers(1, 3)),
        # 8 or more channels take Convolution's wide-row and flipped-filter paths.
        "c": draw(st.sampled_from([1, 2, 3, 8, 9])),
        "fn": draw(st.integers(1, 4)),
        "h": h,
        "w": w,
        "fh": fh,
        "fw": fw,
        "stride": stride,
        "pad": pad,
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


# --- im2col / col2im ---------------------------------------------------------


@SETTINGS
@given(case=conv_case())
def test_im2col_matches_the_definition(case: dict[str, int]) -> None:
    rng = np.random.default_rng(case["seed"])
    x = rng.standard_normal((case["n"], case["c"], case["h"], case["w"]))
    args = (case["fh"], case["fw"], case["stride"], case["pad"])
    np.testing.assert_array_equal(im2col(x, *args), naive_im2col(x, *args))


@SETTINGS
@given(case=conv_case())
def test_col2im_is_the_adjoint_of_im2col(case: dict[str, int]) -> None:
    # <im2col(x), c> == <x, col2im(c)> for all x, c is exactly what backprop needs.
    rng = np.random.default_rng(case["seed"])
    shape = (case["n"], case["c"], case["h"], case["w"])
    args = (case["fh"], case["fw"], case["stride"], case["pad"])
    x = rng.standard_normal(shape)
    col = im2col(x, *args)
    c = rng.standard_normal(col.shape)
    back = col2im(c, shape, *args)
    assert back.shape == shape
    np.testing.assert_allclose(np.vdot(col, c), np.vdot(x, back), rtol=1e-12, atol=1e-12)


def test_im2col_gives_the_books_matrix_after_a_transpose() -> None:
    x = np.arange(2 * 3 * 5 * 5, dtype=np.float64).reshape(2, 3, 5, 5)
    col = im2col(x, 3, 3, stride=2, pad=1)
    book = col.transpose(0, 2, 1).reshape(-1, 3 * 3 * 3)
    assert book.shape == (2 * 3 * 3, 27)
    # Row 0 is image 0's top-left window: one zero row and column of padding.
    np.testing.assert_array_equal(book[0].reshape(3, 3, 3)[0], [[0, 0, 0], [0, 0, 1], [0, 5, 6]])


def test_im2col_and_col2im_validate() -> None:
    x = np.zeros((1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\).*\(4, 4\)"):
        im2col(np.zeros((4, 4)), 2, 2)
    with pytest.raises(ValueError, match="5x5.*does not fit.*\\(1, 1, 4, 4\\)"):
        im2col(x, 5, 5)
    with pytest.raises(ValueError, match="stride must be an integer >= 1"):
        im2col(x, 2, 2, stride=0)
    with pytest.raises(TypeError, match="floating-point"):
        im2col(x.astype(np.int64), 2, 2)
    with pytest.raises(ValueError, match=r"col must have shape \(1, 4, 9\).*\(1, 4, 8\)"):
        col2im(np.zeros((1, 4, 8)), (1, 1, 4, 4), 2, 2)


# --- Convolution -------------------------------------------------------------


def make_conv(
    rng: np.random.Generator, fn: int, c: int, fh: int, fw: int, dtype: type = np.float32, **kw: int
) -> Convolution:
    W: np.ndarray = rng.standard_normal((fn, c, fh, fw)).astype(dtype)
    b: np.ndarray = rng.standard_normal(fn).astype(dtype)
    return Convolution(W, b, **kw)


@pytest.mark.parametrize(
    ("x_shape", "w_shape", "stride", "pad"),
    [
        ((2, 3, 5, 5), (4, 3, 3, 3), 1, 0),
        ((2, 1, 6, 7), (2, 1, 3, 2), 2, 1),
        ((1, 2, 4, 4), (3, 2, 1, 1), 1, 0),
        ((3, 2, 5, 4), (2, 2, 2, 3), 3, 2),
    ],
)
def test_convolution_contract(
    x_shape: tuple[int, ...], w_shape: tuple[int, int, int, int], stride: int, pad: int
) -> None:
    rng = np.random.default_rng(0)
    layer = make_conv(rng, *w_shape, stride=stride, pad=pad)
    x = rng.standard_normal(x_shape).astype(np.float32)
    assert_layer_contract(layer, x)


def test_convolution_backward_params_matches_backward() -> None:
    rng = np.random.default_rng(3)
    layer = make_conv(rng, 4, 2, 3, 3, stride=2, pad=1)
    x = rng.standard_normal((3, 2, 7, 7)).astype(np.float32)
    dout = rng.standard_normal(layer.forward(x).shape).astype(np.float32)
    layer.backward(dout)
    full = {k: v.copy() for k, v in layer.grads.items()}
    layer.grads = {k: np.zeros_like(v) for k, v in layer.grads.items()}
    layer.backward_params(dout)
    for key in full:
        np.testing.assert_array_equal(layer.grads[key], full[key])


@pytest.mark.parametrize(
    ("c", "fh", "fw", "stride", "pad"),
    [
        (8, 3, 3, 1, 1),  # wide rows, dx by the flipped filters
        (9, 3, 2, 1, 0),  # the same with a non-square filter and no padding
        (8, 2, 2, 1, 2),  # wide rows, pad >= filter: dx through col2im
        (8, 3, 3, 2, 1),  # stride 2: im2col and col2im
        (2, 3, 3, 1, 1),  # few channels: im2col, col2im
    ],
)
def test_convolution_in_chunks_matches_the_whole_batch_at_once(
    monkeypatch: pytest.MonkeyPatch, c: int, fh: int, fw: int, stride: int, pad: int
) -> None:
    rng = np.random.default_rng(4)
    layer = make_conv(rng, 3, c, fh, fw, dtype=np.float64, stride=stride, pad=pad)
    x = rng.standard_normal((5, c, 7, 6))
    out = layer.forward(x)  # one chunk, columns kept for backward
    assert layer.col is not None
    dout = rng.standard_normal(out.shape)
    dx = layer.backward(dout)
    grads = {k: v.copy() for k, v in layer.grads.items()}
    # Chunks of 1 and of 2 images (the last one short), unfolded again in backward. An
    # image's columns: C*FH*FW rows by OH output rows of `row` columns, float64.
    row = x.shape[3] + 2 * pad if stride == 1 and c >= 8 else out.shape[3]
    per_image = c * fh * fw * out.shape[2] * row * 8
    monkeypatch.setattr(conv, "COL_KEEP_BYTES", 0)
    for budget in (1, 2 * per_image):
        monkeypatch.setattr(conv, "COL_CHUNK_BYTES", budget)
        np.testing.assert_allclose(layer.forward(x), out, rtol=1e-12, atol=1e-12)
        assert layer.col is None
        np.testing.assert_allclose(layer.backward(dout), dx, rtol=1e-12, atol=1e-12)
        for key, value in grads.items():
            np.testing.assert_allclose(layer.grads[key], value, rtol=1e-12, atol=1e-12)


def test_convolution_validates_its_arguments() -> None:
    W = np.zeros((4, 3, 3, 3), dtype=np.float32)
    b = np.zeros(4, dtype=np.float32)
    with pytest.raises(ValueError, match=r"W must have 4 dimension\(s\), received shape \(4, 3\)"):
        Convolution(np.zeros((4, 3), dtype=np.float32), b)
    with pytest.raises(ValueError, match=r"b must have shape \(4,\).*received \(3,\)"):
        Convolution(W, np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError, match="share a dtype"):
        Convolution(W, b.astype(np.float64))
    cases: list[tuple[dict[str, Any], str]] = [
        ({"stride": 0}, "stride must be an integer >= 1, received stride=0"),
        ({"stride": 1.5}, "stride must be an integer >= 1, received stride=1.5"),
        ({"stride": True}, "stride must be an integer >= 1, received stride=True"),
        ({"pad": -1}, "pad must be an integer >= 0, received pad=-1"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            Convolution(W, b, **kwargs)


def test_convolution_rejects_bad_inputs_naming_the_shapes() -> None:
    layer = Convolution(np.zeros((4, 3, 3, 3), np.float32), np.zeros(4, np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*\(4, 3, 3, 3\).*\(2, 1, 5, 5\)"):
        layer.forward(np.zeros((2, 1, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*received \(3, 5, 5\)"):
        layer.forward(np.zeros((3, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(2, 3, 2, 3\): the output would be 0x1"):
        layer.forward(np.zeros((2, 3, 2, 3), np.float32))
    with pytest.raises(RuntimeError, match="before forward"):
        layer.backward(np.zeros((2, 4, 3, 3), np.float32))
    layer.forward(np.zeros((2, 3, 5, 5), np.float32))
    with pytest.raises(ValueError, match=r"dout of shape \(2, 4, 3, 3\).*received \(2, 4, 3\)"):
        layer.backward(np.zeros((2, 4, 3), np.float32))


def test_convolution_config_rebuilds_the_layer() -> None:
    rng = np.random.default_rng(0)
    layer = make_conv(rng, 2, 3, 3, 3, stride=2, pad=1)
    config = json.loads(json.dumps(layer.config()))
    assert config == {"stride": 2, "pad": 1}
    clone = Convolution(layer.W.copy(), layer.b.copy(), **config)
    x = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    np.testing.assert_array_equal(clone.forward(x), layer.forward(x))


# --- Pooling -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("x_shape", "pool", "stride", "pad"),
    [
        ((2, 3, 4, 4), (2, 2), 2, 0),
        ((2, 2, 5, 5), (3, 3), 1, 1),
        ((1, 2, 7, 6), (3, 2), 2, 1),
        ((2, 1, 5, 4), (2, 3), 3, 0),
    ],
)
def test_pooling_contract(
    x_shape: tuple[int, ...], pool: tuple[int, int], stride: int, pad: int
) -> None:
    # Random continuous inputs: no ties, so the max is differentiable for the check.
    x = np.random.default_rng(0).standard_normal(x_shape).astype(np.float32)
    assert_layer_contract(Pooling(*pool, stride=stride, pad=pad), x)


def test_pooling_padding_never_wins_and_ties_go_to_the_first_max() -> None:
    x = np.full((1, 1, 2, 2), -3.0)
    layer = Pooling(2, 2, stride=1, pad=1)
    out = layer.forward(x)
    np.testing.assert_array_equal(out, np.full((1, 1, 3, 3), -3.0))
    dx = layer.backward(np.ones_like(out))
    # Window (0, 0) sees only x[0, 0]; the centre window sees all four equal
    # values and picks the first, so x[0, 0] collects windows (0,0), (0,1), (1,0), (1,1).
    np.testing.assert_array_equal(dx[0, 0], [[4.0, 2.0], [2.0, 1.0]])


def test_pooling_propagates_nan() -> None:
    x = np.zeros((1, 1, 4, 4), dtype=np.float32)
    x[0, 0, 1, 1] = np.nan
    out = Pooling(2, 2, stride=2).forward(x)
    assert np.isnan(out[0, 0, 0, 0])
    assert not np.isnan(out[0, 0, 1, 1])


def test_pooling_validates() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"pool_h": 0, "pool_w": 2}, "pool_h must be an integer >= 1, received pool_h=0"),
        ({"pool_h": 2, "pool_w": 2.0}, "pool_w must be an integer >= 1, received pool_w=2.0"),
        ({"pool_h": 2, "pool_w": 2, "stride": 0}, "stride must be an integer >= 1"),
        ({"pool_h": 2, "pool_w": 2, "pad": -1}, "pad must be an integer >= 0"),
        ({"pool_h": 2, "pool_w": 3, "pad": 2}, "smaller than the window 2x3.*pad=2"),
    ]
    for kwargs, message in cases:
        with pytest.raises(ValueError, match=message):
            Pooling(**kwargs)
    layer = Pooling(3, 3)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\), received \(2, 5\)"):
        layer.forward(np.zeros((2, 5), np.float32))
    with pytest.raises(ValueError, match=r"\(1, 1, 2, 3\): the output would be 0x1"):
        layer.forward(np.zeros((1, 1, 2, 3), np.float32))


def test_pooling_config() -> None:
    layer = Pooling(3, 2, stride=2, pad=1)
    config = json.loads(json.dumps(layer.config()))
    assert config == {"pool_h": 3, "pool_w": 2, "stride": 2, "pad": 1}
    assert Pooling(**config).config() == config


# --- Flatten -----------------------------------------------------------------


def test_flatten_contract_and_shapes() -> None:
    x = np.random.default_rng(0).standard_normal((3, 2, 4, 5)).astype(np.float32)
    layer = Flatten()
    assert_layer_contract(layer, x)
    out = layer.forward(x)
    assert out.shape == (3, 40)
    np.testing.assert_array_equal(out[1], x[1].ravel())
    dx = layer.backward(out)
    np.testing.assert_array_equal(dx, x)
    with pytest.raises(ValueError, match=r"dout of shape \(3, 40\).*received \(3, 39\)"):
        layer.backward(np.zeros((3, 39), np.float32))
