"""Tests for mitbadak.init: the book's weight initialisation schemes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mitbadak.initializers import SCHEMES, fan_in_of, init_weight, weight_std


def sample_std_ok(w: np.ndarray, std: float) -> bool:
    # The sample standard deviation of n normal draws has relative standard
    # error about 1 / sqrt(2 n); allow 5 of those.
    return abs(float(w.std()) / std - 1) <= 5 / math.sqrt(2 * w.size)


@pytest.mark.parametrize(
    ("shape", "fan_in"), [((300, 200), 300), ((64, 3, 5, 5), 75), ((10, 4, 3), 12)]
)
def test_fan_in_of(shape: tuple[int, ...], fan_in: int) -> None:
    assert fan_in_of(shape) == fan_in


@pytest.mark.parametrize(
    ("scheme", "gain"), [("he", 2.0), ("relu", 2.0), ("xavier", 1.0), ("sigmoid", 1.0)]
)
@pytest.mark.parametrize("shape", [(400, 300), (40, 8, 5, 5)])
def test_fan_in_schemes_have_the_books_std(
    scheme: str, gain: float, shape: tuple[int, ...]
) -> None:
    w = init_weight(shape, scheme, rng=np.random.default_rng(0))
    assert w.shape == shape
    assert w.dtype == np.float32
    assert abs(float(w.mean())) < 5 * math.sqrt(gain / fan_in_of(shape) / w.size)
    assert sample_std_ok(w, math.sqrt(gain / fan_in_of(shape)))


def test_aliases_draw_the_same_weights() -> None:
    for a, b in [("he", "relu"), ("xavier", "sigmoid"), ("HE", "he")]:
        wa = init_weight((20, 10), a, rng=np.random.default_rng(3))
        wb = init_weight((20, 10), b, rng=np.random.default_rng(3))
        np.testing.assert_array_equal(wa, wb)


def test_std_scheme_and_numbers() -> None:
    w = init_weight((500, 200), "std", rng=np.random.default_rng(1))
    assert sample_std_ok(w, 0.01)
    w = init_weight((500, 200), "std", rng=np.random.default_rng(1), scale=0.5)
    assert sample_std_ok(w, 0.5)
    # A number is the standard deviation itself, as the book's weight_init_std.
    w = init_weight((500, 200), 0.2, rng=np.random.default_rng(1))
    assert sample_std_ok(w, 0.2)
    assert weight_std(1, 10) == 1.0


def test_explicit_fan_in_and_dtype() -> None:
    w = init_weight((100, 100), "he", rng=np.random.default_rng(2), fan_in=50, dtype=np.float64)
    assert w.dtype == np.float64
    assert sample_std_ok(w, math.sqrt(2 / 50))
    w16 = init_weight((10,), "he", rng=np.random.default_rng(2), fan_in=4, dtype=np.float16)
    assert w16.dtype == np.float16
    assert weight_std("xavier", 4) == 0.5


def test_same_generator_state_gives_same_weights() -> None:
    # The generator is the only source of randomness: equal seeds, equal weights.
    a = init_weight((5, 5), "he", rng=np.random.default_rng(4))
    b = init_weight((5, 5), "he", rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a, b)
    c = init_weight((5, 5), "he", rng=np.random.default_rng(5))
    assert not np.array_equal(a, c)


def test_errors_name_what_was_received() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"unknown initialisation scheme 'kaiming'.*'xavier'"):
        init_weight((3, 3), "kaiming", rng=rng)
    assert set(SCHEMES) == {"std", "xavier", "sigmoid", "he", "relu"}
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, received int"):
        init_weight((3, 3), "he", rng=0)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="rng"):
        init_weight((3, 3), "he")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="floating-point type, received int32"):
        init_weight((3, 3), "he", rng=rng, dtype=np.int32)
    with pytest.raises(ValueError, match=r"cannot infer fan_in from a weight of shape \(7,\)"):
        init_weight((7,), "xavier", rng=rng)
    with pytest.raises(ValueError, match="fan_in must be a positive integer, received fan_in=0"):
        init_weight((3, 3), "he", rng=rng, fan_in=0)
    for bad in [0.0, -0.1, float("nan"), float("inf")]:
        with pytest.raises(ValueError, match="positive finite number"):
            init_weight((3, 3), bad, rng=rng)
    with pytest.raises(TypeError, match="received True"):
        init_weight((3, 3), True, rng=rng)
    with pytest.raises(TypeError, match="received list"):
        init_weight((3, 3), [0.1], rng=rng)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"non-negative sizes, received \(3, -1\)"):
        init_weight((3, -1), "std", rng=rng)
