"""The book's ``deep_convnet`` (chapter 8): ``DeepConvNet``.

``from deep_convnet import DeepConvNet`` becomes
``from mitbadak.book.deep_convnet import DeepConvNet``.
"""

from __future__ import annotations

from typing import ClassVar

from mitbadak.book.network import BookNetwork
from mitbadak.models.deep_convnet import DeepConvNet as _DeepConvNet

__all__ = ["DeepConvNet"]


class DeepConvNet(BookNetwork, _DeepConvNet):
    """``DeepConvNet(input_dim=(1, 28, 28), conv_param_1=..., ..., conv_param_6=...,
    hidden_size=50, output_size=10)``: six 3x3 convolutions, three max pools, Affine,
    dropout, Affine, dropout.

    :class:`mitbadak.models.DeepConvNet` with the conventions of
    :class:`~mitbadak.book.network.BookNetwork`: ``predict(x, train_flg=False)``, and
    ``loss(x, t)`` in training mode as the book's. ``load_params
    ("deep_convnet_params.pkl")`` reads the book's trained weights, rescaled for
    mitbadak's inverted dropout so that the network computes what the book's did.
    """

    loss_train_default: ClassVar[bool] = True
