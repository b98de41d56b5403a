"""Tests for mitbadak.curves.smooth_curve."""

from __future__ import annotations

import numpy as np
import pytest

from mitbadak.curves import smooth_curve


def test_keeps_the_length_and_removes_batch_noise() -> None:
    rng = np.random.default_rng(0)
    trend = np.linspace(2.3, 0.3, 500)
    noisy = trend + 0.2 * rng.standard_normal(500)
    smooth = smooth_curve(noisy.tolist())
    assert smooth.shape == (500,) and smooth.dtype == np.float64
    # The noise left is a fraction of the noise put in; the trend stays.
    inner = slice(10, -10)
    assert np.std(smooth[inner] - trend[inner]) < 0.4 * np.std(noisy[inner] - trend[inner])
    assert abs(smooth[0] - noisy[:6].mean()) < 0.2 and abs(smooth[-1] - trend[-1]) < 0.15


def test_is_a_weighted_average_that_keeps_constants_and_lines() -> None:
    np.testing.assert_allclose(smooth_curve(np.full(30, 4.0)), 4.0)
    line = np.arange(40.0)
    # A symmetric window leaves a straight line alone away from the mirrored ends.
    np.testing.assert_allclose(smooth_curve(line)[5:-5], line[5:-5])
    spike = np.zeros(21)
    spike[10] = 1.0
    weights = smooth_curve(spike)
    assert weights.sum() == pytest.approx(1.0)
    assert weights[10] == weights.max() and weights[5] > 0 and weights[4] == 0


def test_short_curves_and_bad_input() -> None:
    np.testing.assert_allclose(smooth_curve([3.0, 1.0]), [2.5, 1.5], rtol=0.3)
    assert smooth_curve([7.0]).tolist() == [7.0]
    with pytest.raises(ValueError, match=r"shape \(N,\), received shape \(2, 2\)"):
        smooth_curve(np.ones((2, 2)))
    with pytest.raises(ValueError, match="window must be an integer >= 1"):
        smooth_curve([1.0, 2.0], window=0)
