"""The book's ``common/multi_layer_net.py`` (chapter 6): ``MultiLayerNet``.

``from common.multi_layer_net import MultiLayerNet`` becomes
``from mitbadak.book.multi_layer_net import MultiLayerNet``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from mitbadak.book.network import BookNetwork
from mitbadak.models.multi_layer_net import MultiLayerNet as _MultiLayerNet

__all__ = ["MultiLayerNet"]


class MultiLayerNet(BookNetwork, _MultiLayerNet):
    """A fully connected network of any depth with weight decay, in the book's words.

    Parameters
    ----------
    input_size, hidden_size_list, output_size : e.g. 784, ``[100, 100, 100]``, 10
    activation : ``"relu"`` or ``"sigmoid"``
    weight_init_std : a number (the standard deviation itself), ``"relu"``/``"he"``
        or ``"sigmoid"``/``"xavier"``; see :mod:`mitbadak.initializers`
    weight_decay_lambda : L2 strength, added to the loss and the gradients
    rng, dtype : mitbadak's (a fresh generator and float32 by default)

    :class:`mitbadak.models.MultiLayerNet` (whose ``weight_init`` is the book's
    ``weight_init_std``) with the conventions of
    :class:`~mitbadak.book.network.BookNetwork`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: Sequence[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: str | float = "relu",
        weight_decay_lambda: float = 0,
        *,
        rng: np.random.Generator | None = None,
        dtype: DTypeLike = np.float32,
    ) -> None:
        super().__init__(
            input_size,
            hidden_size_list,
            output_size,
            activation=activation,
            weight_init=weight_init_std,
            weight_decay_lambda=weight_decay_lambda,
            rng=rng,
            dtype=dtype,
        )
