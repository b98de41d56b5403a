import numpy as np

from mitbadak.data.spiral import load_spiral


def test_spiral_shape_and_classes_seeded() -> None:
    x, t = load_spiral(np.random.default_rng(0))
    assert x.shape == (300, 2) and t.shape == (300, 3)
    np.testing.assert_array_equal(t.sum(axis=0), [100, 100, 100])
    assert np.all(np.linalg.norm(x, axis=1) < 1.0)
    x2, _ = load_spiral(np.random.default_rng(0))
    np.testing.assert_array_equal(x, x2)
