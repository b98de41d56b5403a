"""The Trainer: the reference's loop, reproducibility, NaN stop and Ctrl-C."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from mitbadak.models import TwoLayerNet
from mitbadak.optimizers import SGD
from mitbadak.train import EpochRecord, Trainer, TrainingDiverged


def _blobs(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Three well separated Gaussian clusters in 8 dimensions."""
    rng = np.random.default_rng(seed)
    t = rng.integers(0, 3, size=n)
    centers = np.eye(3, 8) * 4
    x = centers[t] + rng.standard_normal((n, 8))
    return x.astype(np.float32), t


def _trainer(seed: int = 0, **kwargs: object) -> Trainer:
    x, t = _blobs(600, 0)
    xt, tt = _blobs(200, 1)
    net = TwoLayerNet(8, 16, 3, 0.1, rng=np.random.default_rng(seed))
    options: dict = {"optimizer": SGD(lr=0.1), "batch_size": 20, "iters": 100}
    options.update(kwargs)
    return Trainer(net, x, t, xt, tt, rng=np.random.default_rng(seed), **options)


def test_learns_and_records_the_reference_quantities() -> None:
    trainer = _trainer()
    history = trainer.train()
    assert trainer.iter_per_epoch == 30
    assert len(history.train_loss) == 100
    # Evaluations at iterations 0, 30, 60, 90 (the book's `i % iter_per_epoch == 0`) + the end.
    assert [r.iteration for r in history.epochs] == [0, 30, 60, 90, 99]
    assert [r.epoch for r in history.epochs] == [0.0, 1.0, 2.0, 3.0, 3.3]
    assert history.epochs[-1].test_acc > 0.95
    assert np.mean(history.train_loss[-10:]) < 0.5 * np.mean(history.train_loss[:10])
    assert history.stopped == "finished"
    # The recorded loss is the one of that iteration's forward pass.
    assert history.epochs[1].loss == history.train_loss[30]


def test_same_seed_same_run_different_seed_different_run() -> None:
    a, b, c = _trainer(5).train(), _trainer(5).train(), _trainer(6).train()
    assert a.train_loss == b.train_loss
    assert a.train_loss != c.train_loss


def test_epochs_and_shuffle_sampling_visit_every_sample_once_per_epoch() -> None:
    trainer = _trainer(iters=None, epochs=2, sampling="shuffle")
    assert trainer.iters == 60
    seen = np.concatenate(list(trainer._batches()))
    assert len(seen) == 1200
    np.testing.assert_array_equal(np.sort(seen[:600]), np.arange(600))
    np.testing.assert_array_equal(np.sort(seen[600:]), np.arange(600))


def test_stops_on_nan_with_last_good_weights() -> None:
    trainer = _trainer(optimizer=SGD(lr=1e6), iters=200)
    with pytest.raises(TrainingDiverged, match=r"iteration \d+ with learning rate 1000000"):
        trainer.train()
    history = trainer.history
    assert history.stopped == "diverged"
    for name in trainer.network.params:
        assert np.all(np.isfinite(trainer.network.params[name]))
    assert all(math.isfinite(v) for v in history.train_loss)
    # The kept weights are those of the last recorded (finite) loss.
    x, t = trainer.x_train, trainer.t_train
    assert math.isfinite(trainer.network.loss(x, t))


def test_ctrl_c_stops_cleanly() -> None:
    calls = {"n": 0}

    def interrupt(iteration: int, loss: float) -> None:
        calls["n"] += 1
        if iteration == 40:
            raise KeyboardInterrupt

    trainer = _trainer(on_iteration=interrupt)
    history = trainer.train()
    assert history.stopped == "interrupted"
    assert len(history.train_loss) == 41
    assert "interrupted after 40 iterations" in history.message


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"batch_size": 0}, "batch_size must be a positive integer, received batch_size=0"),
        ({"batch_size": 601}, "larger than the training set"),
        ({"iters": -1}, "iters must be a positive integer"),
        ({"epochs": 1, "iters": 5}, "not both"),
        ({"sampling": "random"}, "received 'random'"),
    ],
)
def test_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _trainer(**kwargs)


def test_mismatched_data() -> None:
    x, t = _blobs(50, 0)
    net = TwoLayerNet(8, 4, 3)
    with pytest.raises(ValueError, match="50 samples but t_train has 49"):
        Trainer(net, x, t[:49], x, t)


def test_final_evaluation_can_follow_the_book_exactly() -> None:
    history = _trainer(final_evaluation=False).train()
    assert [r.iteration for r in history.epochs] == [0, 30, 60, 90]


def test_ctrl_c_during_the_final_evaluation_keeps_the_run() -> None:
    def interrupt(record: EpochRecord) -> None:
        if record.iteration == 99:  # the final evaluation, after the last update
            raise KeyboardInterrupt

    trainer = _trainer(on_epoch=interrupt)
    reference = _trainer(final_evaluation=False)
    reference.train()
    history = trainer.train()
    assert history.stopped == "interrupted"
    assert len(history.train_loss) == 100
    for name, value in trainer.network.params.items():
        np.testing.assert_array_equal(value, reference.network.params[name])


def test_ctrl_c_after_an_update_keeps_that_update() -> None:
    def interrupt(record: EpochRecord) -> None:
        if record.iteration == 30:
            raise KeyboardInterrupt

    trainer = _trainer(on_epoch=interrupt)
    trainer.train()
    reference = _trainer(iters=31, final_evaluation=False)
    reference.train()
    assert len(trainer.history.train_loss) == 31
    for name, value in trainer.network.params.items():
        np.testing.assert_array_equal(value, reference.network.params[name])


class _InterruptedSGD(SGD):
    """Updates the first parameter, then is interrupted: a Ctrl-C in mid-update."""

    def update(self, params: Any, grads: Any) -> None:
        if len(self.calls) == 5:
            first = next(iter(params))
            params[first] -= 1.0
            raise KeyboardInterrupt
        self.calls.append(1)
        super().update(params, grads)

    calls: list[int]


def test_ctrl_c_in_mid_update_restores_the_weights_before_it() -> None:
    optimizer = _InterruptedSGD(lr=0.1)
    optimizer.calls = []
    trainer = _trainer(optimizer=optimizer)
    trainer.train()
    reference = _trainer(optimizer=SGD(lr=0.1), iters=5, final_evaluation=False)
    reference.train()
    assert trainer.history.stopped == "interrupted"
    for name, value in trainer.network.params.items():
        np.testing.assert_array_equal(value, reference.network.params[name])


def test_divergence_before_any_update_blames_the_initial_weights() -> None:
    x, t = _blobs(60, 0)
    net = TwoLayerNet(8, 16, 3, 1e30, rng=np.random.default_rng(0))
    initial = {name: value.copy() for name, value in net.params.items()}
    trainer = Trainer(net, x, t, x, t, batch_size=20, iters=10, rng=np.random.default_rng(0))
    with pytest.raises(TrainingDiverged, match="first iteration, before any update") as info:
        trainer.train()
    assert info.value.iteration == 0
    assert "learning rate" not in str(info.value) and "last" not in str(info.value)
    for name, value in net.params.items():
        np.testing.assert_array_equal(value, initial[name])


def test_eval_samples_evaluates_on_the_first_samples_of_each_set() -> None:
    trainer = _trainer(eval_samples=50, final_evaluation=False)
    seen: list[int] = []
    accuracy = trainer.network.accuracy

    def counting(x: np.ndarray, t: np.ndarray, **kw: object) -> float:
        seen.append(len(x))
        return accuracy(x, t, **kw)  # type: ignore[arg-type]

    trainer.network.accuracy = counting  # type: ignore[method-assign,assignment]
    history = trainer.train()
    # Train and test set, once per epoch (iterations 0, 30, 60, 90), 50 samples each.
    assert len(history.epochs) == 4
    assert seen == [50, 50] * 4
    with pytest.raises(ValueError, match="eval_samples must be a positive integer"):
        _trainer(eval_samples=0)
