"""Max pooling written with loops: the gradient goes to each window's maximum."""

import numpy as np


class Pooling:
    def __init__(self, pool_h, pool_w, stride=1, pad=0):
        self.pool_h = pool_h
        self.pool_w = pool_w
        self.stride = stride

    def forward(self, x):
        n, c, h, w = x.shape
        oh = (h - self.pool_h) // self.stride + 1
        ow = (w - self.pool_w) // self.stride + 1
        out = np.zeros((n, c, oh, ow))
        self.argmax = {}
        for i in range(oh):
            for j in range(ow):
                r, s = i * self.stride, j * self.stride
                window = x[:, :, r : r + self.pool_h, s : s + self.pool_w]
                flat = window.reshape(n, c, -1)
                out[:, :, i, j] = flat.max(axis=2)
                self.argmax[i, j] = flat.argmax(axis=2)
        self.x_shape = x.shape
        return out

    def backward(self, dout):
        dx = np.zeros(self.x_shape)
        n, c = dout.shape[:2]
        for (i, j), k in self.argmax.items():
            r = i * self.stride + k // self.pool_w
            s = j * self.stride + k % self.pool_w
            for a in range(n):
                for b in range(c):
                    dx[a, b, r[a, b], s[a, b]] += dout[a, b, i, j]
        return dx
