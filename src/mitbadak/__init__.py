"""mitbadak: deep learning from the very bottom, with backprop written by hand."""

__version__ = "0.1.0"
