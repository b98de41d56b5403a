"""mitbadak: deep learning from the very bottom, with backprop written by hand.

The book's pieces live in one module each: ``mitbadak.layers`` (Relu, Sigmoid, Affine,
SoftmaxWithLoss), ``mitbadak.conv`` and ``mitbadak.normalization`` (chapters 6-7),
``mitbadak.models`` (Sequential, TwoLayerNet), ``mitbadak.nets`` (MultiLayerNet,
SimpleConvNet), ``mitbadak.optimizers``, ``mitbadak.gradcheck``, ``mitbadak.train``
and ``mitbadak.data`` (load_mnist).
"""

__version__ = "0.1.0"

from mitbadak.io import load, save

__all__ = ["__version__", "load", "save"]
