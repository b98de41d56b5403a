"""Tests for mitbadak.optimizers: the update rules, their validation and the registry.

The step-by-step comparisons with torch.optim are in test_torch_optim.py, which imports
``STEPS``, ``make_params`` and ``make_grads`` from here.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from mitbadak.optimizers import (
    OPTIMIZERS,
    SGD,
    AdaGrad,
    Adam,
    Momentum,
    Nesterov,
    Optimizer,
    RMSprop,
    get_optimizer,
)

SHAPES: dict[str, tuple[int, ...]] = {
    "W1": (4, 3),
    "b1": (3,),
    "W2": (3, 2, 2),
    "b2": (2,),
    "scale": (),
}
STEPS = 6

NAMES = ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam"]


def make_params(rng: np.random.Generator, dtype: Any = np.float64) -> dict[str, np.ndarray]:
    return {k: rng.standard_normal(shape).astype(dtype) for k, shape in SHAPES.items()}


def make_grads(rng: np.random.Generator, params: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {k: rng.standard_normal(p.shape).astype(p.dtype) for k, p in params.items()}


def test_nesterov_equals_books_formula_with_previous_velocity() -> None:
    # The book: p += m*m*v_old - (1+m)*lr*g, then v = m*v_old - lr*g.
    rng = np.random.default_rng(2)
    lr, m = 0.05, 0.9
    params = make_params(rng)
    book = {k: p.copy() for k, p in params.items()}
    velocity = {k: np.zeros_like(p) for k, p in params.items()}
    opt = Nesterov(lr=lr, momentum=m)
    for _ in range(STEPS):
        grads = make_grads(rng, params)
        opt.update(params, grads)
        for k in book:
            book[k] += m * m * velocity[k] - (1 + m) * lr * grads[k]
            velocity[k] = m * velocity[k] - lr * grads[k]
            np.testing.assert_allclose(params[k], book[k], rtol=1e-10, atol=1e-12)


def test_adam_equals_books_form_with_rescaled_eps() -> None:
    # The book: lr_t = lr*sqrt(1-b2**t)/(1-b1**t); p -= lr_t*m/(sqrt(v) + e).
    # Ours with eps equals that with e = eps*sqrt(1-b2**t), as the docstring says.
    rng = np.random.default_rng(3)
    lr, b1, b2, eps = 0.01, 0.9, 0.999, 1e-3
    params = make_params(rng)
    book = {k: p.copy() for k, p in params.items()}
    m = {k: np.zeros_like(p) for k, p in params.items()}
    v = {k: np.zeros_like(p) for k, p in params.items()}
    opt = Adam(lr=lr, beta1=b1, beta2=b2, eps=eps)
    for t in range(1, STEPS + 1):
        grads = make_grads(rng, params)
        opt.update(params, grads)
        lr_t = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        for k in book:
            m[k] += (1 - b1) * (grads[k] - m[k])
            v[k] += (1 - b2) * (grads[k] ** 2 - v[k])
            book[k] -= lr_t * m[k] / (np.sqrt(v[k]) + eps * math.sqrt(1 - b2**t))
            np.testing.assert_allclose(params[k], book[k], rtol=1e-10, atol=1e-12)


class _Holder:
    """Stands in for a layer that owns its weight array."""

    def __init__(self, W: np.ndarray) -> None:
        self.W = W


@pytest.mark.parametrize("name", NAMES)
def test_update_is_in_place(name: str) -> None:
    rng = np.random.default_rng(4)
    layer = _Holder(rng.standard_normal((3, 2)))
    before = layer.W.copy()
    params = {"W": layer.W}
    opt = get_optimizer(name, lr=0.1)
    for _ in range(2):
        opt.update(params, {"W": rng.standard_normal((3, 2))})
    assert params["W"] is layer.W
    assert not np.array_equal(layer.W, before)


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("name", NAMES)
def test_grads_are_not_mutated(name: str, weight_decay: float) -> None:
    rng = np.random.default_rng(5)
    params = make_params(rng)
    opt = get_optimizer(name, weight_decay=weight_decay)
    for _ in range(3):
        grads = make_grads(rng, params)
        saved = {k: g.copy() for k, g in grads.items()}
        opt.update(params, grads)
        for k in grads:
            np.testing.assert_array_equal(grads[k], saved[k])


@pytest.mark.parametrize("weight_decay", [0.0, 0.1])
@pytest.mark.parametrize("name", NAMES)
def test_float32_stays_float32(name: str, weight_decay: float) -> None:
    rng = np.random.default_rng(6)
    params32 = make_params(rng, np.float32)
    params64 = {k: p.astype(np.float64) for k, p in params32.items()}
    # np.float64 hyperparameters must not upcast the float32 arithmetic either.
    opt32 = get_optimizer(name, lr=np.float64(0.01), weight_decay=np.float64(weight_decay))
    opt64 = get_optimizer(name, lr=0.01, weight_decay=weight_decay)
    for step in range(4):
        grads32 = make_grads(rng, params32)
        # A float64 gradient for a float32 parameter is used in float32.
        if step == 1:
            grads32["W1"] = grads32["W1"].astype(np.float64)
        opt32.update(params32, grads32)
        opt64.update(params64, {k: g.astype(np.float64) for k, g in grads32.items()})
    for k, p in params32.items():
        assert p.dtype == np.float32, k
        np.testing.assert_allclose(p, params64[k], rtol=1e-4, atol=1e-5)
    states = [v for attr in ("v", "h", "m") for v in getattr(opt32, attr, {}).values()]
    assert all(s.dtype == np.float32 for s in states)


@pytest.mark.parametrize("name", NAMES)
def test_zero_gradient_first_step_leaves_params(name: str) -> None:
    params = {"W": np.arange(6.0).reshape(2, 3)}
    get_optimizer(name).update(params, {"W": np.zeros((2, 3))})
    np.testing.assert_array_equal(params["W"], np.arange(6.0).reshape(2, 3))


@given(
    data=hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=0, max_dims=3),
        elements=st.floats(-1e3, 1e3),
    ),
    lr=st.floats(1e-6, 10.0),
)
def test_sgd_is_p_minus_lr_g(data: np.ndarray, lr: float) -> None:
    param = data.copy()
    grad = data[::-1].copy() if data.ndim else data.copy()
    SGD(lr=lr).update({"p": param}, {"p": grad})
    np.testing.assert_array_equal(param, data - lr * grad)


@pytest.mark.parametrize(
    ("cls", "kwargs", "error", "match"),
    [
        (SGD, {"lr": 0}, ValueError, r"lr must be a positive number, received lr=0"),
        (SGD, {"lr": -1}, ValueError, r"received lr=-1"),
        (SGD, {"lr": float("nan")}, ValueError, r"finite.*received lr=nan"),
        (SGD, {"lr": float("inf")}, ValueError, r"received lr=inf"),
        (SGD, {"lr": "0.1"}, TypeError, r"real number, received lr='0.1'"),
        (SGD, {"lr": True}, TypeError, r"received lr=True"),
        (SGD, {"lr": None}, TypeError, r"received lr=None"),
        (SGD, {"weight_decay": -0.1}, ValueError, r"received weight_decay=-0.1"),
        (Momentum, {"momentum": 1.5}, ValueError, r"\[0, 1\), received momentum=1.5"),
        (Momentum, {"momentum": 1}, ValueError, r"received momentum=1"),
        (Nesterov, {"momentum": -0.1}, ValueError, r"received momentum=-0.1"),
        (AdaGrad, {"eps": 0}, ValueError, r"eps must be a positive number, received eps=0"),
        (RMSprop, {"decay_rate": 1.0}, ValueError, r"received decay_rate=1.0"),
        (RMSprop, {"eps": -1e-7}, ValueError, r"received eps=-1e-07"),
        (Adam, {"beta1": 1.0}, ValueError, r"received beta1=1.0"),
        (Adam, {"beta2": -0.5}, ValueError, r"received beta2=-0.5"),
        (Adam, {"beta2": "0.9"}, TypeError, r"received beta2='0.9'"),
        (Adam, {"lr": 0.0}, ValueError, r"received lr=0.0"),
    ],
)
def test_bad_hyperparameters(
    cls: type[Optimizer], kwargs: dict[str, Any], error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        cls(**kwargs)


def test_lr_is_validated_when_changed() -> None:
    opt = SGD(lr=0.1)
    with pytest.raises(ValueError, match=r"received lr=0"):
        opt.lr = 0
    assert opt.lr == 0.1
    opt.lr = 0.5
    params = {"W": np.ones(2)}
    opt.update(params, {"W": np.ones(2)})
    np.testing.assert_array_equal(params["W"], [0.5, 0.5])


@pytest.mark.parametrize("name", NAMES)
def test_missing_gradient_names_the_key(name: str) -> None:
    params = {"W1": np.ones((2, 2)), "b1": np.ones(2)}
    with pytest.raises(ValueError, match=r"'b1'"):
        get_optimizer(name).update(params, {"W1": np.ones((2, 2))})


@pytest.mark.parametrize("name", NAMES)
def test_wrong_gradient_shape_names_key_and_shapes(name: str) -> None:
    params = {"W1": np.ones((2, 2)), "b1": np.ones(2)}
    grads = {"W1": np.ones((2, 2)), "b1": np.ones((1, 2))}
    with pytest.raises(ValueError, match=r"grads\['b1'\].*\(2,\).*received shape \(1, 2\)"):
        get_optimizer(name).update(params, grads)


def test_failed_update_changes_nothing() -> None:
    # W1 comes first and is valid; the whole call is checked before anything is written.
    opt = Adam()
    params = {"W1": np.ones((2, 2)), "b1": np.ones(2)}
    with pytest.raises(ValueError, match=r"'b1'"):
        opt.update(params, {"W1": np.ones((2, 2)), "b1": np.ones(3)})
    np.testing.assert_array_equal(params["W1"], np.ones((2, 2)))
    assert opt.m == {} and opt.t == {}


def test_extra_gradients_are_ignored() -> None:
    params = {"W": np.ones(2)}
    SGD(lr=1.0).update(params, {"W": np.ones(2), "unused": np.ones(5)})
    np.testing.assert_array_equal(params["W"], [0.0, 0.0])


@pytest.mark.parametrize(
    ("param", "match"),
    [
        ([1.0, 2.0], r"params\['W'\] must be a floating-point numpy.ndarray.*received list"),
        (np.array([1, 2]), r"params\['W'\].*received int64"),
    ],
)
def test_params_must_be_float_arrays(param: Any, match: str) -> None:
    with pytest.raises(TypeError, match=match):
        SGD().update({"W": param}, {"W": np.ones(2)})


def test_gradient_must_be_numeric() -> None:
    with pytest.raises(TypeError, match=r"grads\['W'\].*received dtype <U1"):
        SGD().update({"W": np.ones(2)}, {"W": np.array(["a", "b"])})


def test_state_shape_change_is_an_error() -> None:
    opt = Momentum()
    opt.update({"W": np.ones(2)}, {"W": np.ones(2)})
    with pytest.raises(ValueError, match=r"params\['W'\] has shape \(3,\).*state.*\(2,\)"):
        opt.update({"W": np.ones(3)}, {"W": np.ones(3)})


@pytest.mark.parametrize(
    ("name", "cls"),
    [
        ("sgd", SGD),
        ("SGD", SGD),
        ("Momentum", Momentum),
        ("nesterov", Nesterov),
        ("AdaGrad", AdaGrad),
        ("RMSprop", RMSprop),
        ("ADAM", Adam),
    ],
)
def test_get_optimizer(name: str, cls: type[Optimizer]) -> None:
    opt = get_optimizer(name, lr=0.5)
    assert type(opt) is cls
    assert opt.lr == 0.5


def test_optimizers_mapping() -> None:
    assert sorted(OPTIMIZERS) == sorted(NAMES)
    with pytest.raises(TypeError):
        OPTIMIZERS["new"] = SGD  # type: ignore[index]


def test_get_optimizer_unknown_name_lists_valid_names() -> None:
    with pytest.raises(ValueError, match=r"received name='adamw'.*'sgd'.*'adam'"):
        get_optimizer("adamw")


def test_get_optimizer_rejects_non_string_and_bad_kwargs() -> None:
    with pytest.raises(TypeError, match=r"received name=3"):
        get_optimizer(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"momentum"):
        get_optimizer("sgd", momentum=0.9)
    with pytest.raises(ValueError, match=r"received lr=0"):
        get_optimizer("adam", lr=0)


def test_repr_shows_hyperparameters() -> None:
    assert repr(Adam(lr=0.01)) == (
        "Adam(lr=0.01, beta1=0.9, beta2=0.999, eps=1e-08, weight_decay=0.0)"
    )
    assert repr(SGD()) == "SGD(lr=0.01, weight_decay=0.0)"
