"""The training loop of the book's chapter 5, made reproducible and safe to stop.

Each iteration draws a mini-batch, runs one forward and backward pass, records the
batch loss of that same forward pass, and lets the optimizer update the weights.
Once per epoch the accuracy on the full training and test sets is measured in
chunks, so memory stays flat however large the sets are.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from mitbadak._checks import check_positive_int, check_rng
from mitbadak.models.sequential import EVAL_BATCH_SIZE, Sequential
from mitbadak.optimizers import SGD, Optimizer

__all__ = ["EpochRecord", "History", "Trainer", "TrainingDiverged", "iterations_per_epoch"]


def iterations_per_epoch(n_samples: int, batch_size: int) -> int:
    """Iterations that make one epoch: ``max(N // batch_size, 1)``, as the book counts."""
    return max(n_samples // batch_size, 1)


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the model holds the last weights with a finite loss.

    ``iteration`` is where it happened and ``loss`` the value; at iteration 0 no update
    had been made, so the initial weights themselves gave the non-finite loss.
    """

    def __init__(self, message: str, *, iteration: int = 0, loss: float = math.nan) -> None:
        super().__init__(message)
        self.iteration = iteration
        self.loss = loss


@dataclass
class EpochRecord:
    """One evaluation: after ``iteration`` updates (``epoch`` may be fractional at the end)."""

    epoch: float
    iteration: int
    loss: float
    train_acc: float
    test_acc: float
    elapsed: float


@dataclass
class History:
    """What a run produced: the loss of every iteration and the per-epoch evaluations."""

    train_loss: list[float] = field(default_factory=list)
    epochs: list[EpochRecord] = field(default_factory=list)
    stopped: Literal["finished", "interrupted", "diverged"] = "finished"
    message: str = ""
    train_seconds: float = 0.0
    eval_seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class Trainer:
    """Mini-batch training of a network, as in the book's ``train_neuralnet.py``.

    Parameters
    ----------
    network : the model to train (updated in place)
    x_train, t_train : (N, ...) inputs and (N,) or (N, C) labels
    x_test, t_test : the held-out set, evaluated once per epoch
    optimizer : default ``SGD(lr=0.1)``, the reference's
    batch_size : samples per iteration (100)
    iters, epochs : run length; give at most one (default: 1000 iterations).
        An epoch is ``max(N // batch_size, 1)`` iterations.
    sampling : ``"replacement"`` draws each batch independently with replacement,
        as the book does; ``"shuffle"`` walks a fresh permutation every epoch
    rng : the generator for batch sampling (explicit, for reproducible runs)
    eval_batch_size : chunk size for the accuracy passes (see
        :data:`mitbadak.models.EVAL_BATCH_SIZE`)
    eval_samples : evaluate each epoch on the first ``eval_samples`` samples of each
        set only (the book's ``evaluate_sample_num_per_epoch``); None: all of them
    final_evaluation : also evaluate after the last iteration when it is not an
        epoch boundary (the book does not; a user wants the final model's accuracy)
    on_epoch, on_iteration : optional callbacks (progress display)
    """

    def __init__(
        self,
        network: Sequential,
        x_train: NDArray,
        t_train: NDArray,
        x_test: NDArray,
        t_test: NDArray,
        *,
        optimizer: Optimizer | None = None,
        batch_size: int = 100,
        iters: int | None = None,
        epochs: int | None = None,
        sampling: Literal["replacement", "shuffle"] = "replacement",
        rng: np.random.Generator | None = None,
        eval_batch_size: int = EVAL_BATCH_SIZE,
        eval_samples: int | None = None,
        final_evaluation: bool = True,
        on_epoch: Callable[[EpochRecord], None] | None = None,
        on_iteration: Callable[[int, float], None] | None = None,
    ) -> None:
        n = len(x_train)
        if len(t_train) != n:
            raise ValueError(f"x_train has {n} samples but t_train has {len(t_train)}")
        if len(x_test) != len(t_test):
            raise ValueError(f"x_test has {len(x_test)} samples but t_test has {len(t_test)}")
        if n == 0 or len(x_test) == 0:
            raise ValueError("training and test sets must not be empty")
        self.batch_size = check_positive_int("batch_size", batch_size)
        if self.batch_size > n:
            raise ValueError(
                f"batch_size={batch_size} is larger than the training set ({n} samples)"
            )
        if iters is not None and epochs is not None:
            raise ValueError("give iters or epochs, not both")
        self.iter_per_epoch = iterations_per_epoch(n, self.batch_size)
        if epochs is not None:
            self.iters = check_positive_int("epochs", epochs) * self.iter_per_epoch
        else:
            self.iters = check_positive_int("iters", 1000 if iters is None else iters)
        if sampling not in ("replacement", "shuffle"):
            raise ValueError(f"sampling must be 'replacement' or 'shuffle', received {sampling!r}")
        self.network = network
        self.x_train, self.t_train = x_train, t_train
        self.x_test, self.t_test = x_test, t_test
        self.optimizer = SGD(lr=0.1) if optimizer is None else optimizer
        self.sampling = sampling
        self.rng = check_rng(rng)
        self.eval_batch_size = check_positive_int("eval_batch_size", eval_batch_size)
        self.eval_samples = (
            None if eval_samples is None else check_positive_int("eval_samples", eval_samples)
        )
        self.final_evaluation = final_evaluation
        self.on_epoch = on_epoch
        self.on_iteration = on_iteration
        self.history = History()
        #: The KeyboardInterrupt (or subclass: a signal turned into one) that stopped
        #: the last run, if one did.
        self.interruption: KeyboardInterrupt | None = None

    def _batches(self) -> Any:
        n = len(self.x_train)
        if self.sampling == "replacement":
            for _ in range(self.iters):
                yield self.rng.integers(0, n, size=self.batch_size)
            return
        done = 0
        while done < self.iters:
            order = self.rng.permutation(n)
            for start in range(0, self.iter_per_epoch * self.batch_size, self.batch_size):
                if done == self.iters:
                    return
                yield order[start : start + self.batch_size]
                done += 1

    def evaluate(self, iteration: int, loss: float, elapsed: float) -> EpochRecord:
        """Accuracy on the training and test sets (their first ``eval_samples``), recorded
        in the history."""
        start = time.perf_counter()
        net, k, chunk = self.network, self.eval_samples, self.eval_batch_size
        record = EpochRecord(
            epoch=round(iteration / self.iter_per_epoch, 4),
            iteration=iteration,
            loss=loss,
            train_acc=net.accuracy(self.x_train[:k], self.t_train[:k], batch_size=chunk),
            test_acc=net.accuracy(self.x_test[:k], self.t_test[:k], batch_size=chunk),
            elapsed=elapsed,
        )
        self.history.eval_seconds += time.perf_counter() - start
        self.history.epochs.append(record)
        if self.on_epoch is not None:
            self.on_epoch(record)
        return record

    def train(self) -> History:
        """Run the loop; returns the history (also kept as ``self.history``).

        Stops early at the first non-finite loss, raising :class:`TrainingDiverged`
        after restoring the last weights whose loss was finite. Ctrl-C (a
        ``KeyboardInterrupt`` at any point, the final evaluation included) ends the run
        cleanly with the weights of the last completed iteration.
        """
        net, history = self.network, self.history
        params = net.params
        last_good = {name: params[name].copy() for name in params}
        start = time.perf_counter()
        iteration = 0
        loss = math.nan
        updating = False
        # Overflow on the way to a NaN loss is reported once, by TrainingDiverged.
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                for idx in self._batches():
                    loss, grads = net.loss_and_gradient(self.x_train[idx], self.t_train[idx])
                    if not math.isfinite(loss):
                        raise self._diverged(iteration, loss, last_good)
                    # These weights gave a finite loss: remember them before updating.
                    for name in params:
                        np.copyto(last_good[name], params[name])
                    updating = True
                    self.optimizer.update(params, grads)
                    updating = False
                    history.train_loss.append(loss)
                    if self.on_iteration is not None:
                        self.on_iteration(iteration, loss)
                    if iteration % self.iter_per_epoch == 0:
                        self.evaluate(iteration, loss, time.perf_counter() - start)
                    iteration += 1
                last_eval = history.epochs[-1].iteration if history.epochs else -1
                if self.final_evaluation and last_eval != iteration - 1:
                    self.evaluate(iteration - 1, loss, time.perf_counter() - start)
            except KeyboardInterrupt as exc:
                self.interruption = exc
                # Only an update cut short halfway through the parameters needs undoing;
                # anywhere else the weights are those of the last completed iteration.
                if updating:
                    self._restore(last_good)
                history.stopped = "interrupted"
                history.message = f"interrupted after {iteration} iterations"
            except BaseException:
                # Any other error in mid-update leaves the weights of the last iteration too.
                if updating:
                    self._restore(last_good)
                raise
            finally:
                history.train_seconds = time.perf_counter() - start - history.eval_seconds
        return history

    def _diverged(
        self, iteration: int, loss: float, last_good: dict[str, NDArray]
    ) -> TrainingDiverged:
        history = self.history
        history.stopped = "diverged"
        if iteration == 0:
            history.message = (
                f"loss was {loss} at the first iteration, before any update: the initial "
                "weights already give a non-finite loss, so nothing was trained"
            )
        else:
            self._restore(last_good)
            lr = getattr(self.optimizer, "lr", "?")
            history.message = (
                f"loss became {loss} at iteration {iteration} with learning rate {lr}; "
                f"stopped and kept the weights of iteration {iteration - 1}, the last with a "
                "finite loss"
            )
        return TrainingDiverged(history.message, iteration=iteration, loss=loss)

    def _restore(self, snapshot: dict[str, NDArray]) -> None:
        for name, value in snapshot.items():
            np.copyto(self.network.params[name], value)
