"""Mistake: max pooling's backward spreads dout over the whole window, not to its maximum."""

import numpy as np


class Pooling:
    def __init__(self, pool_h, pool_w, stride=2, pad=0):
        self.pool_h, self.pool_w, self.stride = pool_h, pool_w, stride

    def forward(self, x):
        n, c, h, w = x.shape
        oh, ow = h // self.pool_h, w // self.pool_w
        self.x_shape = x.shape
        return x.reshape(n, c, oh, self.pool_h, ow, self.pool_w).max(axis=(3, 5))

    def backward(self, dout):
        return np.repeat(np.repeat(dout, self.pool_h, axis=2), self.pool_w, axis=3)
