"""mitbadak.book's networks and Trainer, used as the book's chapter 4-8 scripts use them.

Short runs on the bundled MNIST sample: gradient checks at the book's precision, the
book's constructor keywords, the book's Trainer and its lists.
"""

from __future__ import annotations

import numpy as np
import pytest

from mitbadak import models
from mitbadak.batchnorm import BatchNormalization
from mitbadak.book.deep_convnet import DeepConvNet
from mitbadak.book.multi_layer_net import MultiLayerNet
from mitbadak.book.multi_layer_net_extend import BOOK_BN_EPS, MultiLayerNetExtend
from mitbadak.book.simple_convnet import SimpleConvNet
from mitbadak.book.trainer import Trainer
from mitbadak.book.two_layer_net import TwoLayerNet
from mitbadak.data import load_mnist
from mitbadak.dropout import Dropout


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    (x, t), (xt, tt) = load_mnist(dataset="mnist-sample")
    return x, t, xt, tt


def mean_abs_differences(net: object, x: np.ndarray, t: np.ndarray) -> dict[str, float]:
    """What the book's gradient_check.py scripts print: mean |backprop - numerical|."""
    numerical = net.numerical_gradient(x, t)  # type: ignore[attr-defined]
    backprop = net.gradient(x, t)  # type: ignore[attr-defined]
    return {k: float(np.mean(np.abs(backprop[k] - numerical[k]))) for k in numerical}


def test_two_layer_net_gradient_check_at_the_books_precision(digits: tuple) -> None:
    x, t = digits[0][:3], np.eye(10)[digits[1][:3]]
    net = TwoLayerNet(input_size=784, hidden_size=10, output_size=10)
    assert net.dtype == np.float32  # trains in float32 ...
    diffs = mean_abs_differences(net, x, t)  # ... yet the check differs in float64
    assert set(diffs) == {"W1", "b1", "W2", "b2"}
    assert max(diffs.values()) < 1e-7, diffs
    assert isinstance(net, models.TwoLayerNet) and net.lastLayer is net.last_layer


def test_the_chapter_5_loop_learns_the_sample(digits: tuple) -> None:
    x, t, xt, tt = digits
    net = TwoLayerNet(784, 50, 10, rng=np.random.default_rng(0))
    rng = np.random.default_rng(1)
    for _ in range(300):
        batch = rng.choice(len(x), 100)
        grad = net.gradient(x[batch], t[batch])
        for key in ("W1", "b1", "W2", "b2"):
            net.params[key] -= 0.1 * grad[key]
    assert net.accuracy(xt, tt) > 0.85
    # Predictions as the book asks for them; integer pixels are converted at the door.
    assert net.predict(xt[:5], False).shape == (5, 10)
    pixels = (xt[:2] * 255).round().astype(np.uint8)
    np.testing.assert_array_equal(net.predict(pixels), net.predict(pixels.astype(np.float32)))


def test_simple_convnet_gradient_check_with_a_label_column() -> None:
    # The chapter-7 check: one random 10x10 image, its label as an (N, 1) array.
    net = SimpleConvNet(
        input_dim=(1, 10, 10),
        conv_param={"filter_num": 4, "filter_size": 3, "pad": 0, "stride": 1},
        hidden_size=6,
        output_size=10,
        weight_init_std=0.01,
    )
    x = np.random.default_rng(2).random(100).reshape((1, 1, 10, 10))
    diffs = mean_abs_differences(net, x, np.array([1]).reshape((1, 1)))
    assert np.median(list(diffs.values())) <= 1e-6, diffs


def test_multi_layer_net_extend_batchnorm_gradient_check(digits: tuple) -> None:
    x, t = digits[0][:4, ::8], np.eye(10)[digits[1][:4]]  # every 8th pixel: 98 inputs
    net = MultiLayerNetExtend(98, [12, 12], 10, use_batchnorm=True, weight_init_std=0.1)
    norms = [la for la in net.layers.values() if isinstance(la, BatchNormalization)]
    assert len(norms) == 2 and all(la.eps == BOOK_BN_EPS == 1e-6 for la in norms)
    diffs = mean_abs_differences(net, x, t)
    assert {"gamma1", "beta2", "W3"} <= set(diffs)
    assert np.median(list(diffs.values())) <= 1e-6, diffs


def test_weight_init_std_takes_a_number_or_a_scheme_name() -> None:
    stds = {
        init: float(MultiLayerNet(400, [100, 100], 10, weight_init_std=init).params["W2"].std())
        for init in (0.01, "sigmoid", "xavier", "relu", "he")
    }
    assert stds[0.01] == pytest.approx(0.01, rel=0.05)
    assert stds["sigmoid"] == pytest.approx(0.1, rel=0.05) == stds["xavier"]
    assert stds["relu"] == pytest.approx(np.sqrt(0.02), rel=0.05) == stds["he"]
    net = MultiLayerNet(4, [3], 2, "sigmoid", 0.5, 0.1)
    assert (net.activation, net.weight_decay_lambda) == ("sigmoid", 0.1)


def test_dropout_switches_with_use_dropout_and_dropout_ration() -> None:
    with_drop = MultiLayerNetExtend(20, [8, 8], 3, use_dropout=True, dropout_ration=0.2)
    ratios = [la.dropout_ratio for la in with_drop.layers.values() if isinstance(la, Dropout)]
    assert ratios == [0.2, 0.2]
    without = MultiLayerNetExtend(20, [8, 8], 3, dropout_ration=0.2)
    assert not any(isinstance(la, Dropout) for la in without.layers.values())
    x = np.random.default_rng(3).random((4, 20))
    # Inference is deterministic; training mode drops units.
    assert (with_drop.predict(x) == with_drop.predict(x, train_flg=False)).all()
    assert not (with_drop.predict(x, True) == with_drop.predict(x)).all()


def test_the_books_trainer_on_the_sample(digits: tuple, capsys: pytest.CaptureFixture[str]) -> None:
    x, t, xt, tt = digits
    net = MultiLayerNet(784, [50, 50], 10, weight_decay_lambda=1e-4)
    trainer = Trainer(
        net,
        x[:1000],
        t[:1000],
        xt,
        tt,
        epochs=3,
        mini_batch_size=100,
        optimizer="adam",
        optimizer_param={"lr": 0.01},
        evaluate_sample_num_per_epoch=500,
        rng=np.random.default_rng(0),
    )
    trainer.train()
    assert len(trainer.train_loss_list) == 30 == trainer.max_iter
    assert len(trainer.train_acc_list) == len(trainer.test_acc_list) == 3
    assert trainer.test_acc is not None and trainer.test_acc > 0.8
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in lines[:3]] == ["1/3", "2/3", "3/3"]
    assert lines[-1] == f"final test accuracy (2000 samples): {trainer.test_acc:.4f}"
    with pytest.raises(ValueError, match="unknown optimizer 'adamw'"):
        Trainer(net, x, t, xt, tt, optimizer="adamw")


def test_the_trainer_also_trains_a_network_written_as_the_books(digits: tuple) -> None:
    # A reader's own class with params, gradient, loss and accuracy, built on the book's
    # TwoLayerNet: the Trainer needs nothing more.
    class Mine:
        def __init__(self) -> None:
            self.inner = TwoLayerNet(784, 20, 10, rng=np.random.default_rng(4))
            self.params = self.inner.params

        def gradient(self, x: np.ndarray, t: np.ndarray) -> dict:
            return self.inner.gradient(x, t)

        def loss(self, x: np.ndarray, t: np.ndarray) -> float:
            return self.inner.loss(x, t)

        def accuracy(self, x: np.ndarray, t: np.ndarray) -> float:
            return self.inner.accuracy(x, t)

    x, t, xt, tt = digits
    trainer = Trainer(Mine(), x[:500], t[:500], xt[:500], tt[:500], epochs=4, verbose=False)
    trainer.optimizer.lr = 0.5
    trainer.train()
    assert trainer.train_acc_list[-1] > trainer.train_acc_list[0]


def test_deep_convnet_predicts_with_the_books_flag() -> None:
    net = DeepConvNet()
    x = np.random.default_rng(5).random((2, 1, 28, 28), dtype=np.float32)
    scores = net.predict(x, train_flg=False)
    assert scores.shape == (2, 10)
    np.testing.assert_array_equal(net.predict(x.reshape(2, 784)), scores)
    assert DeepConvNet.loss_train_default and not TwoLayerNet.loss_train_default
