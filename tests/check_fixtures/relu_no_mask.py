"""Mistake: backward passes dout through everywhere, forgetting the mask."""


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        return dout.copy()
