"""The book's training run: 784-50-10 net, batch 100, SGD lr 0.1, 1000 iterations.

Run: python examples/train_neuralnet.py [dataset]   (default: the bundled mnist-sample)
"""

import sys

import numpy as np

from mitbadak.data import load_mnist
from mitbadak.models import TwoLayerNet
from mitbadak.optimizers import SGD

dataset = sys.argv[1] if len(sys.argv) > 1 else "mnist-sample"
(x_train, t_train), (x_test, t_test) = load_mnist(one_hot_label=True, dataset=dataset)

rng = np.random.default_rng(0)
network = TwoLayerNet(784, 50, 10, rng=rng)
optimizer = SGD(lr=0.1)

iters_num, batch_size = 1000, 100
train_size = x_train.shape[0]
iter_per_epoch = max(train_size // batch_size, 1)
train_loss_list = []

for i in range(iters_num):
    batch_mask = rng.integers(0, train_size, size=batch_size)  # with replacement, as the book
    # One forward pass gives both the loss to record and the gradients.
    loss, grad = network.loss_and_gradient(x_train[batch_mask], t_train[batch_mask])
    optimizer.update(network.params, grad)
    train_loss_list.append(loss)

    if i % iter_per_epoch == 0:
        train_acc = network.accuracy(x_train, t_train, batch_size=1000)
        test_acc = network.accuracy(x_test, t_test, batch_size=1000)
        print(f"iter {i:4d}  loss {loss:.4f}  train acc {train_acc:.4f}  test acc {test_acc:.4f}")

print(f"final test acc {network.accuracy(x_test, t_test):.4f}")
