"""Tests for mitbadak.sampling.shuffle_dataset."""

from __future__ import annotations

import numpy as np
import pytest

from mitbadak.sampling import shuffle_dataset


def test_shuffles_images_and_labels_together_reproducibly() -> None:
    x = np.arange(10 * 1 * 2 * 2, dtype=np.float32).reshape(10, 1, 2, 2)
    t = np.arange(10)
    xs, ts = shuffle_dataset(x, t, rng=np.random.default_rng(3))
    assert xs.shape == x.shape and ts.shape == t.shape
    assert sorted(ts.tolist()) == list(range(10)) and ts.tolist() != list(range(10))
    np.testing.assert_array_equal(xs, x[ts])  # each image still has its label
    again = shuffle_dataset(x, t, rng=np.random.default_rng(3))
    np.testing.assert_array_equal(again[1], ts)
    np.testing.assert_array_equal(t, np.arange(10))  # the inputs are left alone


def test_one_hot_labels_follow_their_rows() -> None:
    x = np.eye(6, dtype=np.float32)
    t = np.eye(6)
    xs, ts = shuffle_dataset(x, t, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(xs, ts)


def test_refuses_sets_of_different_lengths() -> None:
    with pytest.raises(ValueError, match=r"same number of samples.*\(4, 3\) and \(5,\)"):
        shuffle_dataset(np.zeros((4, 3)), np.zeros(5))
