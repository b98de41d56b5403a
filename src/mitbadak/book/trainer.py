"""The book's ``common/trainer.py``: ``Trainer``, with the book's arguments.

``from common.trainer import Trainer`` becomes ``from mitbadak.book.trainer import Trainer``.
It runs :class:`mitbadak.train.Trainer`'s loop (batches drawn with replacement, one
evaluation per epoch) and keeps the book's lists.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, cast

import numpy as np
from numpy.typing import ArrayLike

from mitbadak import train
from mitbadak._checks import as_book_labels, as_float_lenient
from mitbadak.book.optimizer import OPTIMIZERS
from mitbadak.models import Sequential

__all__ = ["Trainer"]


class _BookStyle:
    """A network written as the book's (``params``, ``gradient``, ``loss``,
    ``accuracy``) seen through the methods mitbadak's loop calls."""

    def __init__(self, network: Any) -> None:
        self.network = network
        self.params = network.params

    def loss_and_gradient(self, x: ArrayLike, t: ArrayLike) -> tuple[float, dict[str, Any]]:
        grads = self.network.gradient(x, t)
        return float(self.network.loss(x, t)), grads

    def accuracy(self, x: ArrayLike, t: ArrayLike, batch_size: int | None = None) -> float:
        return float(self.network.accuracy(x, t))


class Trainer:
    """Mini-batch training, per-epoch accuracies and a final test accuracy.

    Parameters
    ----------
    network : a network of :mod:`mitbadak.book` or :mod:`mitbadak.models`, or one
        written as the book's (with ``params``, ``gradient``, ``loss``, ``accuracy``)
    x_train, t_train, x_test, t_test : the data; labels ``(N,)``, ``(N, 1)`` or one-hot
    epochs, mini_batch_size : run length and batch size; an epoch is
        ``max(N // mini_batch_size, 1)`` iterations
    optimizer : ``"SGD"``, ``"Momentum"``, ``"Nesterov"``, ``"AdaGrad"``,
        ``"RMSprop"`` or ``"Adam"``, in any case
    optimizer_param : its arguments, e.g. ``{"lr": 0.01}``
    evaluate_sample_num_per_epoch : evaluate each epoch on the first this many
        samples of each set (None: all); the final test accuracy uses all of them
    verbose : print one line per epoch and the final test accuracy
    rng : draws the batches (a fresh unseeded generator if omitted)

    After :meth:`train`: ``train_loss_list`` (the loss of every iteration, of the
    batch before its update), ``train_acc_list`` and ``test_acc_list`` (one entry per
    epoch) and ``test_acc`` (on the whole test set).
    """

    def __init__(
        self,
        network: Any,
        x_train: ArrayLike,
        t_train: ArrayLike,
        x_test: ArrayLike,
        t_test: ArrayLike,
        epochs: int = 20,
        mini_batch_size: int = 100,
        optimizer: str = "SGD",
        optimizer_param: Mapping[str, Any] | None = None,
        evaluate_sample_num_per_epoch: int | None = None,
        verbose: bool = True,
        *,
        rng: np.random.Generator | None = None,
    ) -> None:
        name = optimizer.lower() if isinstance(optimizer, str) else optimizer
        if name not in OPTIMIZERS:
            raise ValueError(
                f"unknown optimizer {optimizer!r}; expected one of "
                f"{', '.join(cls.__name__ for cls in OPTIMIZERS.values())}"
            )
        param = {"lr": 0.01} if optimizer_param is None else dict(optimizer_param)
        self.optimizer = OPTIMIZERS[name](**param)
        self.network = network
        self.verbose = verbose
        self.epochs = epochs
        self.x_test = as_float_lenient(x_test, "x_test")
        self.t_test = as_book_labels(t_test)
        learner = network if isinstance(network, Sequential) else _BookStyle(network)
        self._trainer = train.Trainer(
            cast(Sequential, learner),  # _BookStyle has what the loop calls
            as_float_lenient(x_train, "x_train"),
            as_book_labels(t_train),
            self.x_test,
            self.t_test,
            optimizer=self.optimizer,
            batch_size=mini_batch_size,
            epochs=epochs,
            rng=rng,
            eval_samples=evaluate_sample_num_per_epoch,
            final_evaluation=False,
            on_epoch=self._report if verbose else None,
        )
        self.batch_size = self._trainer.batch_size
        self.iter_per_epoch = self._trainer.iter_per_epoch
        self.max_iter = self._trainer.iters
        self.test_acc: float | None = None

    @property
    def train_loss_list(self) -> list[float]:
        return self._trainer.history.train_loss

    @property
    def train_acc_list(self) -> list[float]:
        return [record.train_acc for record in self._trainer.history.epochs]

    @property
    def test_acc_list(self) -> list[float]:
        return [record.test_acc for record in self._trainer.history.epochs]

    def _report(self, record: train.EpochRecord) -> None:
        epoch = len(self._trainer.history.epochs)
        print(
            f"epoch {epoch:>3}/{self.epochs}  loss {record.loss:.4f}  "
            f"train acc {record.train_acc:.4f}  test acc {record.test_acc:.4f}",
            flush=True,
        )

    def train(self) -> None:
        """Run every iteration, then measure the accuracy on the whole test set.

        A loss that becomes NaN or infinite stops the iterations early, with a line on
        stderr, keeping the last weights whose loss was finite (the book's trainer
        would go on with NaN weights); the lists then hold fewer epochs.
        """
        try:
            self._trainer.train()
        except train.TrainingDiverged as exc:
            print(f"mitbadak: {exc}", file=sys.stderr)
        self.test_acc = float(self.network.accuracy(self.x_test, self.t_test))
        if self.verbose:
            print(f"final test accuracy ({len(self.x_test)} samples): {self.test_acc:.4f}")
            sys.stdout.flush()
