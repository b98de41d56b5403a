"""Mistake: batch norm's backward forgets that the variance depends on x."""

import numpy as np


class BatchNormalization:
    def __init__(self, gamma, beta):
        self.gamma = gamma
        self.beta = beta

    def forward(self, x, train_flg=True):
        self.xc = x - x.mean(axis=0)
        self.std = np.sqrt(np.mean(self.xc**2, axis=0) + 1e-7)
        self.xn = self.xc / self.std
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxc = self.gamma * dout / self.std
        return dxc - dxc.mean(axis=0)
