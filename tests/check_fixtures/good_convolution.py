"""A convolution written with loops, no im2col: each output is a window times a filter."""

import numpy as np


class Convolution:
    def __init__(self, W, b, stride=1, pad=0):
        self.W = W
        self.b = b
        self.stride = stride
        self.dW = None
        self.db = None

    def forward(self, x):
        fn, c, fh, fw = self.W.shape
        n, _, h, w = x.shape
        oh = (h - fh) // self.stride + 1
        ow = (w - fw) // self.stride + 1
        out = np.zeros((n, fn, oh, ow))
        for i in range(oh):
            for j in range(ow):
                r, s = i * self.stride, j * self.stride
                window = x[:, :, r : r + fh, s : s + fw]
                out[:, :, i, j] = np.tensordot(window, self.W, axes=([1, 2, 3], [1, 2, 3]))
        self.x = x
        return out + self.b.reshape(1, -1, 1, 1)

    def backward(self, dout):
        fn, c, fh, fw = self.W.shape
        dx = np.zeros(self.x.shape)
        self.dW = np.zeros(self.W.shape)
        self.db = dout.sum(axis=(0, 2, 3))
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                r, s = i * self.stride, j * self.stride
                window = self.x[:, :, r : r + fh, s : s + fw]
                self.dW += np.tensordot(dout[:, :, i, j], window, axes=([0], [0]))
                dx[:, :, r : r + fh, s : s + fw] += np.tensordot(
                    dout[:, :, i, j], self.W, axes=([1], [0])
                )
        return dx
