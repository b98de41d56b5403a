"""Batch normalisation in training mode, backward through the mean and the variance."""

import numpy as np


class BatchNormalization:
    def __init__(self, gamma, beta, momentum=0.9, eps=1e-7):
        self.gamma = gamma
        self.beta = beta
        self.momentum = momentum
        self.eps = eps
        self.dgamma = None
        self.dbeta = None

    def forward(self, x, train_flg=True):
        mu = x.mean(axis=0)
        self.xc = x - mu
        var = np.mean(self.xc**2, axis=0)
        self.std = np.sqrt(var + self.eps)
        self.xn = self.xc / self.std
        self.batch_size = x.shape[0]
        return self.gamma * self.xn + self.beta

    def backward(self, dout):
        self.dbeta = dout.sum(axis=0)
        self.dgamma = np.sum(self.xn * dout, axis=0)
        dxn = self.gamma * dout
        dxc = dxn / self.std
        dstd = -np.sum((dxn * self.xc) / (self.std * self.std), axis=0)
        dvar = 0.5 * dstd / self.std
        dxc += (2.0 / self.batch_size) * self.xc * dvar
        dmu = np.sum(dxc, axis=0)
        return dxc - dmu / self.batch_size
