"""Tests for mitbadak.functions: values, dtypes, numerical stability and bad labels."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from mitbadak.functions import (
    as_label_indices,
    cross_entropy_error,
    identity,
    log_softmax,
    relu,
    sigmoid,
    softmax,
    softmax_cross_entropy,
)
from mitbadak.layers import SoftmaxWithLoss


@contextmanager
def no_fp_trouble() -> Iterator[None]:
    """Fail on any warning and on overflow, division by zero or invalid operations.

    Underflow is allowed: ``exp(-1000) == 0`` is exactly the answer we want.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", divide="raise", invalid="raise"):
            yield


def ordinary_scores(rng: np.random.Generator, shape: tuple[int, ...] = (4, 5)) -> np.ndarray:
    return rng.normal(0.0, 2.0, size=shape)


# --- relu, identity -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_relu_values_and_dtype(dtype: type[np.floating]) -> None:
    x = np.array([[-2.0, -0.0, 0.0, 0.5, 3.0]], dtype=dtype)
    out = relu(x)
    assert out.dtype == dtype
    np.testing.assert_array_equal(out, [[0.0, 0.0, 0.0, 0.5, 3.0]])


def test_integers_and_lists_are_refused_as_everywhere_in_the_library() -> None:
    # One policy for the whole package (mitbadak._checks): computation is on float
    # arrays, and nothing is converted silently.
    with pytest.raises(TypeError, match=r"received dtype int64; convert with x.astype"):
        relu(np.array([-1, 2]))
    with pytest.raises(TypeError, match="x must be a numpy array, received list"):
        identity([1, 2])
    # A Python float is a float: the scalar nodes of the computational graph use them.
    assert relu(-2.5) == 0.0 and relu(1.5).dtype == np.float64


def test_identity_returns_the_values() -> None:
    x = np.array([1.5, -2.5], dtype=np.float32)
    out = identity(x)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, x)


def test_complex_input_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="complex128"):
        relu(np.array([1 + 2j]))


# --- sigmoid --------------------------------------------------------------------------


def test_sigmoid_matches_the_book_formula_on_ordinary_input() -> None:
    x = np.linspace(-20, 20, 81)
    np.testing.assert_allclose(sigmoid(x), 1 / (1 + np.exp(-x)), rtol=1e-14, atol=0)
    assert sigmoid(np.array(0.0)) == 0.5


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_of_huge_values_saturates_without_overflow(dtype: type[np.floating]) -> None:
    x = np.array([1000.0, -1000.0, 1e30, -1e30, 88.8, -88.8, 710.0, -710.0], dtype=dtype)
    with no_fp_trouble():
        out = sigmoid(x)
    assert out.dtype == dtype
    assert np.all(np.isfinite(out))
    assert out[0] == 1.0 and out[2] == 1.0
    assert out[1] == 0.0 and out[3] == 0.0
    assert np.all((out >= 0) & (out <= 1))


def test_sigmoid_is_symmetric() -> None:
    x = np.linspace(-30, 30, 61)
    np.testing.assert_allclose(sigmoid(x) + sigmoid(-x), 1.0, rtol=1e-15)


# --- softmax, log_softmax -------------------------------------------------------------


def test_softmax_matches_the_naive_formula_on_ordinary_input() -> None:
    x = ordinary_scores(np.random.default_rng(0))
    naive = np.exp(x) / np.exp(x).sum(axis=1, keepdims=True)
    np.testing.assert_allclose(softmax(x), naive, rtol=1e-13)


def test_softmax_of_huge_values_is_finite_and_rows_sum_to_one() -> None:
    x = np.array([[1e4, -1e4, 0.0], [1e4, 1e4, 1e4], [-1e4, -1e4, -1e4 + 1]])
    with no_fp_trouble():
        y = softmax(x)
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-15)
    np.testing.assert_allclose(y[0], [1.0, 0.0, 0.0])
    np.testing.assert_allclose(y[1], [1 / 3, 1 / 3, 1 / 3])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_keeps_dtype_and_works_on_any_leading_shape(dtype: type[np.floating]) -> None:
    x = ordinary_scores(np.random.default_rng(1), (2, 3, 4)).astype(dtype)
    y = softmax(x)
    assert y.dtype == dtype
    assert y.shape == x.shape
    np.testing.assert_allclose(y.sum(axis=-1), 1.0, rtol=1e-6)


def test_softmax_is_shift_invariant() -> None:
    x = ordinary_scores(np.random.default_rng(2))
    np.testing.assert_allclose(softmax(x + 500.0), softmax(x), rtol=1e-12)


def test_log_softmax_of_huge_values_is_finite() -> None:
    x = np.array([[1e4, -1e4], [0.0, -1e4]])
    with no_fp_trouble():
        logp = log_softmax(x)
    assert np.all(np.isfinite(logp))
    np.testing.assert_allclose(logp, [[0.0, -2e4], [0.0, -1e4]])


def test_log_softmax_equals_log_of_softmax_on_ordinary_input() -> None:
    x = ordinary_scores(np.random.default_rng(3))
    np.testing.assert_allclose(log_softmax(x), np.log(softmax(x)), rtol=1e-12, atol=1e-14)


# --- cross-entropy --------------------------------------------------------------------


def test_cross_entropy_one_hot_and_integer_labels_agree_with_the_book() -> None:
    rng = np.random.default_rng(4)
    y = softmax(ordinary_scores(rng, (6, 5)))
    t = rng.integers(0, 5, size=6)
    one_hot = np.eye(5)[t]
    by_index = cross_entropy_error(y, t)
    by_one_hot = cross_entropy_error(y, one_hot)
    exact = -np.sum(one_hot * np.log(y)) / 6
    book = -np.sum(one_hot * np.log(y + 1e-7)) / 6  # the book's formula, with its delta
    assert by_index == pytest.approx(by_one_hot, rel=1e-14)
    assert by_index == pytest.approx(exact, rel=1e-14)
    assert by_index == pytest.approx(book, rel=1e-5)


def test_cross_entropy_of_a_single_sample() -> None:
    y = np.array([0.1, 0.7, 0.2])
    assert cross_entropy_error(y, 1) == pytest.approx(-np.log(0.7))
    assert cross_entropy_error(y, np.array([0, 1, 0])) == pytest.approx(-np.log(0.7))


def test_cross_entropy_of_a_zero_probability_is_finite() -> None:
    y = np.array([[0.0, 1.0], [0.5, 0.5]])
    with no_fp_trouble():
        loss = cross_entropy_error(y, np.array([0, 1]))
    assert np.isfinite(loss)
    # Clamped at the smallest positive float64, not at the book's 1e-7 (which caps at ~16).
    assert loss > 300


def test_softmax_cross_entropy_equals_the_layers_loss_and_the_two_step_version() -> None:
    rng = np.random.default_rng(5)
    x = ordinary_scores(rng, (7, 4))
    t = rng.integers(0, 4, size=7)
    expected = SoftmaxWithLoss().forward(x, t)
    assert softmax_cross_entropy(x, t) == pytest.approx(expected, rel=1e-14)
    assert softmax_cross_entropy(x, np.eye(4)[t]) == pytest.approx(expected, rel=1e-14)
    assert cross_entropy_error(softmax(x), t) == pytest.approx(expected, rel=1e-12)


def test_softmax_cross_entropy_reports_the_true_loss_of_a_confident_wrong_answer() -> None:
    with no_fp_trouble():
        loss = softmax_cross_entropy(np.array([[1000.0, 0.0]]), np.array([1]))
    assert loss == pytest.approx(1000.0)
    assert softmax_cross_entropy(np.array([1000.0, 0.0]), 1) == pytest.approx(1000.0)


# --- bad labels -----------------------------------------------------------------------


def test_labels_out_of_range_are_named() -> None:
    with pytest.raises(ValueError, match=r"\[0, 3\).*received a label of 3"):
        as_label_indices(np.array([0, 3]), 2, 3)
    with pytest.raises(ValueError, match="received a label of -1"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([-1, 0]))


def test_float_labels_are_a_type_error() -> None:
    with pytest.raises(TypeError, match="float64"):
        cross_entropy_error(np.full((2, 3), 1 / 3), np.array([0.0, 1.0]))


def test_labels_of_the_wrong_length_are_named() -> None:
    with pytest.raises(ValueError, match=r"\(2,\).*received \(3,\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_one_hot_of_the_wrong_shape_is_named() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3\).*received \(2, 4\)"):
        cross_entropy_error(np.full((2, 3), 1 / 3), np.zeros((2, 4)))
    with pytest.raises(ValueError, match=r"received \(2, 4\)"):
        softmax_cross_entropy(np.zeros((2, 3)), np.zeros((2, 4)))


def test_three_dimensional_scores_are_rejected() -> None:
    with pytest.raises(ValueError, match=r"received \(2, 3, 4\)"):
        softmax_cross_entropy(np.zeros((2, 3, 4)), np.zeros(2, dtype=int))
    with pytest.raises(ValueError, match=r"received \(2, 3, 4\)"):
        cross_entropy_error(np.zeros((2, 3, 4)), np.zeros(2, dtype=int))
