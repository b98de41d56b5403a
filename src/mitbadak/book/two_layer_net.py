"""The book's ``two_layer_net`` (chapters 4 and 5): ``TwoLayerNet``.

``from two_layer_net import TwoLayerNet`` becomes
``from mitbadak.book.two_layer_net import TwoLayerNet``.
"""

from __future__ import annotations

from mitbadak.book.network import BookNetwork
from mitbadak.models.two_layer_net import TwoLayerNet as _TwoLayerNet

__all__ = ["TwoLayerNet"]


class TwoLayerNet(BookNetwork, _TwoLayerNet):
    """``TwoLayerNet(input_size, hidden_size, output_size, weight_init_std=0.01)``:
    Affine → ReLU → Affine → softmax, chapter 5's version (chapter 4 writes the same
    network with a sigmoid and without layers; its scripts run on this one).

    :class:`mitbadak.models.TwoLayerNet` with the book's conventions of
    :class:`~mitbadak.book.network.BookNetwork`; ``params`` holds ``W1, b1, W2, b2``.
    """
