"""Mistake: backward keeps the gradient where x <= 0 and blocks it where x > 0."""


class Relu:
    def forward(self, x):
        self.mask = x <= 0
        out = x.copy()
        out[self.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[~self.mask] = 0
        return dx
