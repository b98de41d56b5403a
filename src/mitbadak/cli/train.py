"""``mitbadak train``: build a network, train it, and write the run folder."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak.cli.common import load_dataset
from mitbadak.cli.errors import UsageError
from mitbadak.models import CLI_MODELS, BuildOptions, Network

__all__ = ["run"]

#: Command-line flag of each network option, for error messages.
_FLAGS = {
    "weight_init_std": "--weight-init-std",
    "weight_init": "--init",
    "use_batchnorm": "--batchnorm",
    "dropout_ratio": "--dropout",
}


def _options(args: argparse.Namespace, cls: type[Network]) -> BuildOptions:
    options = BuildOptions(
        hidden=args.hidden,
        weight_init_std=args.weight_init_std,
        weight_init=args.init,
        use_batchnorm=args.batchnorm,
        dropout_ratio=args.dropout,
        # A network that takes weight decay puts it into its own loss (as the book's
        # MultiLayerNet does); for the others the optimizer adds it.
        weight_decay_lambda=args.weight_decay if "weight_decay_lambda" in cls.accepts else 0.0,
    )
    defaults = BuildOptions()
    for field, flag in _FLAGS.items():
        if getattr(options, field) != getattr(defaults, field) and field not in cls.accepts:
            takers = [name for name, c in CLI_MODELS.items() if field in c.accepts]
            raise UsageError(f"{flag} applies to --model {' or '.join(takers)} only")
    return options


def _epoch_line(record: Any) -> str:
    return (
        f"epoch {record.epoch:6.2f}  iter {record.iteration:6d}  loss {record.loss:.4f}  "
        f"train acc {record.train_acc:.4f}  test acc {record.test_acc:.4f}  "
        f"{record.elapsed:7.2f}s"
    )


def run(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from mitbadak.optimizers import get_optimizer
    from mitbadak.progress import training_progress
    from mitbadak.runs import RunFolderError, prepare_run_dir, write_run
    from mitbadak.train import Trainer, TrainingDiverged

    cls = CLI_MODELS[args.model]
    options = _options(args, cls)
    started = time.perf_counter()
    dataset, ((x_train, t_train), (x_test, t_test)) = load_dataset(args)
    if args.batch_size > len(x_train):
        raise UsageError(
            f"--batch-size {args.batch_size} is larger than the training set "
            f"({len(x_train)} samples of {dataset})"
        )
    try:
        net = cls.build(
            x_train.shape[1:],
            int(t_train.max()) + 1,
            options,
            rng=np.random.default_rng(args.seed),
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    try:
        out = prepare_run_dir(args.out, force=args.force)
    except RunFolderError as exc:
        raise UsageError(f"--out {exc}") from exc
    decay = 0.0 if "weight_decay_lambda" in cls.accepts else args.weight_decay
    optimizer = get_optimizer(args.optimizer, lr=args.lr, weight_decay=decay)

    trainer = Trainer(
        net,
        x_train,
        t_train,
        x_test,
        t_test,
        optimizer=optimizer,
        batch_size=args.batch_size,
        iters=args.iters,
        epochs=args.epochs,
        sampling=args.sampling,
        rng=np.random.default_rng([args.seed, 1]),
    )
    print(
        f"training {type(net).__name__} on {dataset}: {len(x_train)} train / {len(x_test)} test, "
        f"batch {args.batch_size}, {args.optimizer} lr {args.lr}, seed {args.seed} -> {out}",
        flush=True,
    )
    progress = training_progress(trainer.iters, enabled=not args.no_progress)
    trainer.on_iteration = progress.iteration
    trainer.on_epoch = lambda record: progress.line(_epoch_line(record))
    diverged: TrainingDiverged | None = None
    with threadpool_limits(limits=args.threads, user_api="blas"):
        try:
            history = trainer.train()
        except TrainingDiverged as exc:
            diverged = exc
            history = trainer.history
        finally:
            progress.close()
    # The data is no longer needed: free it before matplotlib loads, to keep the peak low.
    del trainer, x_train, t_train, x_test, t_test
    config = {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key != "func"
    }
    write_run(out, net, history, config=config, dataset=dataset, started=started)
    if diverged is not None:
        print(f"mitbadak: {diverged}", file=sys.stderr)
        return 1
    if history.stopped == "interrupted":
        print(f"mitbadak: {history.message}; saved what was trained to {out}", file=sys.stderr)
        return 130
    print(f"saved model, history and curves to {out}")
    return 0
