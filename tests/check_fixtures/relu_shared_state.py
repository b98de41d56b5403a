"""Mistake: the mask is stored on the class, so every Relu object shares it."""


class Relu:
    mask = None

    def forward(self, x):
        Relu.mask = x <= 0
        out = x.copy()
        out[Relu.mask] = 0
        return out

    def backward(self, dout):
        dx = dout.copy()
        dx[Relu.mask] = 0
        return dx
