"""A fully connected layer keeping its weights in params and its gradients in grads."""

import numpy as np


class Linear:
    def __init__(self, input_size, output_size):
        rng = np.random.default_rng(0)
        self.params = {
            "W": rng.standard_normal((input_size, output_size)),
            "b": np.zeros(output_size),
        }
        self.grads = {}

    def forward(self, x):
        self.x = x
        return x @ self.params["W"] + self.params["b"]

    def backward(self, dout):
        self.grads["W"] = self.x.T @ dout
        self.grads["b"] = dout.sum(axis=0)
        return dout @ self.params["W"].T


class Flatten:
    """Returns views of its input and of dout: a note, not a failure."""

    def forward(self, x):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, dout):
        return dout.reshape(self.shape)
