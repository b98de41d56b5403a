"""``mitbadak train``: build a network, train it, and write the run folder.

Nothing a user trained is lost: the run folder is claimed and checked (writable, room
for the files, memory for the network) before training; Ctrl-C, SIGTERM or SIGHUP at any
point after the first iteration save the run; progress output to a reader that went
away (``| head``) is dropped instead of ending the run; and if the model cannot be
written into the folder, it is saved elsewhere and the message says where.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak.cli.common import load_dataset, one_line, say, silence
from mitbadak.cli.errors import CommandError, UsageError
from mitbadak.cli.signals import SignalGuard, exit_code, guarded, what_stopped
from mitbadak.models import CLI_MODELS, BuildOptions, Network
from mitbadak.progress import training_progress
from mitbadak.train import History, Trainer, TrainingDiverged

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


def _hint(
    exc: TrainingDiverged, cls: type[Network], history: History, args: argparse.Namespace
) -> str:
    """What to change after a divergence: the flags that most likely caused it."""
    std = "--weight-init-std" if "weight_init_std" in cls.accepts else ""
    if exc.iteration == 0:
        return f"the initial weights are too large{f': try a smaller {std}' if std else ''}"
    suspects = ["--lr"]
    if args.weight_decay > 0:
        suspects.append("--weight-decay")
    # A first loss far above chance (ln 10 = 2.3) means the initial weights were huge too.
    if std and history.train_loss and history.train_loss[0] > 100:
        suspects.append(std)
    return f"try a smaller {' or '.join(suspects)}"


def _guarded(callback: Callable[..., None]) -> Callable[..., None]:
    """``callback`` that can never stop training: progress output is not worth a run."""

    def call(*args: Any) -> None:
        try:
            callback(*args)
        except (OSError, ValueError):
            silence(sys.stdout)
            silence(sys.stderr)

    return call


def run(args: argparse.Namespace) -> int:
    from mitbadak.runs import RunFolderError, claim_run_dir

    cls = CLI_MODELS[args.model]
    options = _options(args, cls)
    started = time.perf_counter()
    # The folder is claimed first: a refused folder costs no download and no training.
    try:
        # The guard is outermost so that, once it holds signals back, they cannot cut
        # short the save nor the release of the folder's lock.
        with guarded() as guard, claim_run_dir(args.out, force=args.force) as folder:
            return _train_into(folder.path, args, cls, options, started, guard)
    except RunFolderError as exc:
        raise UsageError(f"--out {exc}") from exc
    except OSError as exc:
        where = f"--out {args.out}" if args.out is not None else "the run folder under runs/"
        why = exc.strerror or str(exc)
        if exc.filename is not None and str(exc.filename) != str(args.out):
            why = f"{why}: {exc.filename}"
        raise CommandError(f"{where}: {why}") from exc


def _train_into(
    out: Path,
    args: argparse.Namespace,
    cls: type[Network],
    options: BuildOptions,
    started: float,
    guard: SignalGuard,
) -> int:
    from threadpoolctl import threadpool_limits

    from mitbadak._memory import MemoryNeededError, check_fits
    from mitbadak.optimizers import get_optimizer
    from mitbadak.runs import check_room

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
        weights = sum(value.nbytes for value in net.params.values())
        # Gradients, the trainer's copy of the last good weights and up to two optimizer
        # slots come on top of the weights, and the activations of a batch.
        check_fits(4 * weights + (64 << 20), f"training {type(net).__name__}")
    except MemoryNeededError as exc:
        hidden = "" if args.hidden is None else f"--hidden {','.join(map(str, args.hidden))}: "
        raise CommandError(f"{hidden}{exc}") from exc
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
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
    try:
        check_room(out, net, trainer.iters)
    except OSError as exc:
        raise CommandError(f"--out {out}: {exc.strerror}") from exc
    say(
        f"training {type(net).__name__} on {dataset}: {len(x_train)} train / {len(x_test)} test, "
        f"batch {args.batch_size}, {args.optimizer} lr {args.lr}, seed {args.seed} -> {out}"
    )
    progress = training_progress(trainer.iters, enabled=not args.no_progress)
    trainer.on_iteration = _guarded(progress.iteration)
    trainer.on_epoch = _guarded(lambda record: progress.line(_epoch_line(record)))
    config = {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key != "func"
    }
    diverged: TrainingDiverged | None = None
    stop: KeyboardInterrupt | None = None
    failure: Exception | None = None
    with threadpool_limits(limits=args.threads, user_api="blas"):
        try:
            trainer.train()
        except TrainingDiverged as exc:
            diverged = exc
        except KeyboardInterrupt as exc:
            # A second signal while the trainer was stopping: save what there is.
            stop = exc
        except Exception as exc:
            # Whatever went wrong, what was trained so far is still worth keeping.
            failure = exc
        finally:
            # From here on a signal is recorded, not raised: the run will be saved.
            guard.hold()
            _guarded(progress.close)()
        history = trainer.history
        stop = stop or trainer.interruption
        if not history.train_loss and diverged is None:
            # Stopped before the first iteration finished: nothing to save, and the
            # claimed folder is removed on the way out.
            raise failure or stop or KeyboardInterrupt
        # The data is no longer needed: free it before matplotlib loads, to keep the peak low.
        del trainer, x_train, t_train, x_test, t_test
        # A signal that arrives while saving changes nothing: the run is written whole.
        outcome = _Outcome(diverged, stop, failure)
        return _save(out, net, history, args, cls, config, dataset, started, outcome)


@dataclass
class _Outcome:
    """How training ended, besides finishing."""

    diverged: TrainingDiverged | None
    stop: KeyboardInterrupt | None
    failure: Exception | None


def _save(
    out: Path,
    net: Network,
    history: History,
    args: argparse.Namespace,
    cls: type[Network],
    config: dict[str, Any],
    dataset: str,
    started: float,
    outcome: _Outcome,
) -> int:
    """Write the run (stop signals are held back by now), then say how it ended, in one line."""
    from mitbadak.runs import RunSaveError, write_run

    diverged, stop, failure = outcome.diverged, outcome.stop, outcome.failure
    try:
        problems = write_run(out, net, history, config=config, dataset=dataset, started=started)
    except RunSaveError as exc:
        raise CommandError(str(exc)) from exc
    missing = f" (could not write {', '.join(problems)})" if problems else ""
    if failure is not None:
        done = len(history.train_loss)
        say(
            f"mitbadak train: error: training stopped after {done} iterations by "
            f"{type(failure).__name__}: {one_line(str(failure))}; saved what was trained to "
            f"{out}{missing}",
            err=True,
        )
        return 1
    if diverged is not None:
        saved = "saved the untrained run" if diverged.iteration == 0 else "saved the run"
        hint = _hint(diverged, cls, history, args)
        say(f"mitbadak: {diverged} ({hint}); {saved} to {out}{missing}", err=True)
        return 1
    if stop is not None:
        done = len(history.train_loss)
        say(
            f"mitbadak: {what_stopped(stop)} after {done} iteration{'s' if done != 1 else ''}; "
            f"saved what was trained to {out}{missing}",
            err=True,
        )
        return exit_code(stop)
    if problems:
        say(
            f"mitbadak: saved the model to {out}, but could not write {', '.join(problems)}",
            err=True,
        )
        return 1
    say(f"saved model, history and curves to {out}")
    return 0
