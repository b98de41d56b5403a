"""Mistake: backward uses the scores x instead of the softmax output y."""

import numpy as np


class SoftmaxWithLoss:
    def forward(self, x, t):
        self.x, self.t = x, t
        e = np.exp(x - x.max(axis=1, keepdims=True))
        y = e / e.sum(axis=1, keepdims=True)
        return -np.sum(t * np.log(y)) / x.shape[0]

    def backward(self, dout=1):
        return (self.x - self.t) / self.t.shape[0]
