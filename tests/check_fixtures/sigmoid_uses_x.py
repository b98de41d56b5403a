"""Mistake: the sigmoid's derivative written with the input x instead of the output y."""

import numpy as np


class Sigmoid:
    def forward(self, x):
        self.x = x
        return 1 / (1 + np.exp(-x))

    def backward(self, dout):
        return dout * (1.0 - self.x) * self.x
