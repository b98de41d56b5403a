"""mitbadak: deep learning from the very bottom, with backprop written by hand.

The book's pieces live in one module each: :mod:`mitbadak.functions` (stable math),
:mod:`mitbadak.layers` (Relu, Sigmoid, Affine, SoftmaxWithLoss), :mod:`mitbadak.conv`,
:mod:`mitbadak.batchnorm` and :mod:`mitbadak.dropout` (chapters 6-7),
:mod:`mitbadak.models` (Sequential and the book's networks), :mod:`mitbadak.optimizers`,
:mod:`mitbadak.numerical` and :mod:`mitbadak.gradcheck`, :mod:`mitbadak.train` and
:mod:`mitbadak.data` (load_mnist). ``save`` and ``load`` write and read models.
"""

__version__ = "0.2.0"

from mitbadak.serialization import load, save

__all__ = ["__version__", "load", "save"]
