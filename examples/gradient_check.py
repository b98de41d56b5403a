"""The book's gradient check: backprop against numerical gradients on 3 images.

Run: python examples/gradient_check.py   (uses the bundled MNIST sample; no network)
"""

import numpy as np

from mitbadak.data import load_mnist
from mitbadak.gradcheck import gradient_check
from mitbadak.models import TwoLayerNet

(x_train, t_train), _ = load_mnist(one_hot_label=True, dataset="mnist-sample")
x_batch, t_batch = x_train[:3], t_train[:3]

# float64, as the gradient check needs: float32 rounding would swamp the differences.
network = TwoLayerNet(784, 50, 10, rng=np.random.default_rng(0), dtype=np.float64)
grad_backprop = network.gradient(x_batch, t_batch)
grad_numerical = network.numerical_gradient(x_batch, t_batch)

for key in ("W1", "b1", "W2", "b2"):
    diff = np.mean(np.abs(grad_backprop[key] - grad_numerical[key]))
    print(f"{key}: {diff:.3e}")

# The same check as a reusable function, with the worst relative error as well.
for key, result in gradient_check(network, x_batch, t_batch).items():
    print(f"{key}: mean abs diff {result.mean_abs_diff:.3e}, max rel {result.max_rel_error:.3e}")
