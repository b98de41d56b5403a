"""Mistake: the addition node hands dout itself to both inputs."""


class AddLayer:
    def forward(self, x, y):
        return x + y

    def backward(self, dout):
        return dout, dout
