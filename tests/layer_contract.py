"""The contract every layer must keep; shared by all layer test modules."""

from __future__ import annotations

import numpy as np

from mitbadak.gradcheck import check_layer
from mitbadak.layers import Layer


def assert_layer_contract(
    layer: Layer, x: np.ndarray, *, train: bool = True, atol: float = 1e-6, rtol: float = 1e-5
) -> None:
    """Shapes, dtype kept, params/grads keys, inputs untouched, gradient check passes.

    x is the float32 input the layer is exercised with; the gradient check then runs
    on a float64 copy of the layer.
    """
    x_before = x.copy()
    params_before = {k: v.copy() for k, v in layer.params.items()}
    assert set(layer.params) == set(layer.grads), "params and grads must have the same keys"

    out = layer.forward(x, train=train)
    assert out.dtype == x.dtype, f"forward changed dtype {x.dtype} -> {out.dtype}"
    np.testing.assert_array_equal(x, x_before, err_msg="forward modified its input")

    dout = np.random.default_rng(1).standard_normal(out.shape).astype(out.dtype)
    dout_before = dout.copy()
    dx = layer.backward(dout)
    np.testing.assert_array_equal(dout, dout_before, err_msg="backward modified dout")
    np.testing.assert_array_equal(x, x_before, err_msg="backward modified the forward input")
    assert dx.shape == x.shape, f"dx has shape {dx.shape}, x has {x.shape}"
    assert dx.dtype == x.dtype, f"dx has dtype {dx.dtype}, x has {x.dtype}"

    assert set(layer.params) == set(layer.grads)
    for key, value in layer.params.items():
        grad = layer.grads[key]
        assert grad.shape == value.shape, f"grads[{key!r}] shape {grad.shape} != {value.shape}"
        assert grad.dtype == value.dtype, f"grads[{key!r}] dtype {grad.dtype} != {value.dtype}"
        np.testing.assert_array_equal(value, params_before[key], err_msg=f"{key} changed")

    results = check_layer(layer, x, train=train, atol=atol, rtol=rtol)
    assert set(results) == {"x", *layer.params}
    np.testing.assert_array_equal(x, x_before, err_msg="check_layer modified x")
