"""Mistake: the mask is computed on the first call only, and stale afterwards."""


class Relu:
    def __init__(self):
        self.mask = None

    def forward(self, x):
        if self.mask is None:
            self.mask = x <= 0
        out = x.copy()
        out[x <= 0] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[self.mask] = 0
        return dx
