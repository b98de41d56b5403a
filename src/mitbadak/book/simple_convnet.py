"""The book's ``simple_convnet`` (chapter 7): ``SimpleConvNet``.

``from simple_convnet import SimpleConvNet`` becomes
``from mitbadak.book.simple_convnet import SimpleConvNet``.
"""

from __future__ import annotations

from mitbadak.book.network import BookNetwork
from mitbadak.models.simple_convnet import SimpleConvNet as _SimpleConvNet

__all__ = ["SimpleConvNet"]


class SimpleConvNet(BookNetwork, _SimpleConvNet):
    """``SimpleConvNet(input_dim=(1, 28, 28), conv_param={...}, hidden_size=100,
    output_size=10, weight_init_std=0.01)``: Conv → ReLU → Pool → Affine → ReLU →
    Affine → softmax.

    :class:`mitbadak.models.SimpleConvNet` with the conventions of
    :class:`~mitbadak.book.network.BookNetwork`: ``load_params("params.pkl")`` reads
    the book's trained weights, ``accuracy(x, t, batch_size=100)`` counts every
    sample (the book's drops a last partial batch but divides by all of them).
    """
