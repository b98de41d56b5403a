"""The book's ``common/multi_layer_net_extend.py`` (chapter 6): ``MultiLayerNetExtend``.

``from common.multi_layer_net_extend import MultiLayerNetExtend`` becomes
``from mitbadak.book.multi_layer_net_extend import MultiLayerNetExtend``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import DTypeLike

from mitbadak.batchnorm import BatchNormalization
from mitbadak.book.network import BookNetwork
from mitbadak.models.multi_layer_net import MultiLayerNet as _MultiLayerNet

__all__ = ["BOOK_BN_EPS", "MultiLayerNetExtend"]

#: What the book's batch normalisation adds to the variance (``10e-7`` in its code);
#: mitbadak's default is PyTorch's 1e-5. It matters for tiny weights: with std 1e-4
#: the variances fall below 1e-5 and a larger eps shrinks the signal layer by layer.
BOOK_BN_EPS = 1e-6


class MultiLayerNetExtend(BookNetwork, _MultiLayerNet):
    """:class:`~mitbadak.book.multi_layer_net.MultiLayerNet` with dropout and batch
    normalisation, in the book's words.

    Parameters
    ----------
    input_size, hidden_size_list, output_size, activation, weight_init_std,
    weight_decay_lambda : as for the book's ``MultiLayerNet``
    use_dropout : put a Dropout layer after every hidden activation
    dropout_ration : its ratio (the book's spelling), used when ``use_dropout``
    use_batchnorm : put a BatchNormalization layer after every hidden Affine
    rng, dtype : mitbadak's (a fresh generator and float32 by default)

    ``predict(x, train_flg=False)`` and ``loss(x, t, train_flg=False)`` take the mode;
    ``gradient`` always differentiates the training-mode loss, as the book's does.
    mitbadak's dropout is inverted (see :class:`mitbadak.dropout.Dropout`); the batch
    normalisation layers use the book's :data:`BOOK_BN_EPS`.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size_list: Sequence[int],
        output_size: int,
        activation: str = "relu",
        weight_init_std: str | float = "relu",
        weight_decay_lambda: float = 0,
        use_dropout: bool = False,
        dropout_ration: float = 0.5,
        use_batchnorm: bool = False,
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
            use_batchnorm=bool(use_batchnorm),
            dropout_ratio=dropout_ration if use_dropout else 0.0,
            rng=rng,
            dtype=dtype,
        )
        for layer in self.layers.values():
            if isinstance(layer, BatchNormalization):
                layer.eps = BOOK_BN_EPS
