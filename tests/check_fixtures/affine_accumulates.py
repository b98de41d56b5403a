"""Mistake: the gradients are added into the old ones (+=), so a second backward doubles them."""

import numpy as np


class Affine:
    def __init__(self, W, b):
        self.W = W
        self.b = b
        self.dW = np.zeros_like(W)
        self.db = np.zeros_like(b)

    def forward(self, x):
        self.x = x
        return np.dot(x, self.W) + self.b

    def backward(self, dout):
        self.dW += np.dot(self.x.T, dout)
        self.db += np.sum(dout, axis=0)
        return np.dot(dout, self.W.T)
