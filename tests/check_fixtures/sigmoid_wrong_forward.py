"""Mistake: forward computes 1 / (1 + exp(x)) (a sign lost); backward agrees with it, so
only the comparison with the book's Sigmoid can tell."""

import numpy as np


class Sigmoid:
    def forward(self, x):
        self.out = 1 / (1 + np.exp(x))
        return self.out

    def backward(self, dout):
        return -dout * (1.0 - self.out) * self.out
