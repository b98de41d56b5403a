"""``mitbadak gradcheck``: the book's gradient check as a table."""

from __future__ import annotations

import argparse
import time

import numpy as np

from mitbadak.cli.common import load_dataset
from mitbadak.cli.errors import UsageError

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    from mitbadak._memory import MemoryNeededError
    from mitbadak.gradcheck import gradient_check
    from mitbadak.models import TwoLayerNet

    dataset, ((x_train, t_train), _) = load_dataset(args, one_hot=True)
    if args.samples > len(x_train):
        raise UsageError(f"--samples {args.samples} exceeds the {len(x_train)} training samples")
    x, t = x_train[: args.samples], t_train[: args.samples]
    try:
        net = TwoLayerNet(
            x.shape[1],
            args.hidden,
            t.shape[1],
            rng=np.random.default_rng(args.seed),
            dtype=np.float64,
        )
    except MemoryNeededError as error:  # a too-large --hidden is the user's choice, not a bug
        raise UsageError(str(error)) from None
    start = time.perf_counter()
    results = gradient_check(net, x, t)
    seconds = time.perf_counter() - start
    print(
        f"gradient check of TwoLayerNet({x.shape[1]}, {args.hidden}, {t.shape[1]}) in float64 "
        f"on the first {args.samples} {dataset} training images ({seconds:.1f}s)"
    )
    print(f"{'param':<6} {'mean |backprop - numerical|':>28} {'max relative error':>20}")
    for name, result in results.items():
        print(f"{name:<6} {result.mean_abs_diff:>28.3e} {result.max_rel_error:>20.3e}")
    return 0
