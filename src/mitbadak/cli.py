"""The ``mitbadak`` command: train, evaluate, predict and gradcheck.

Every user error (a bad flag, a missing file, data that cannot be had) ends in
one line on stderr and a non-zero exit code, never a traceback: 2 for bad
arguments, 1 for anything else.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

from mitbadak import __version__

DATASETS = ("mnist", "fashion-mnist", "mnist-sample")
MODELS = ("two-layer", "mlp", "convnet")
OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
CLASS_NAMES = {
    "fashion-mnist": [
        "T-shirt/top",
        "Trouser",
        "Pullover",
        "Dress",
        "Coat",
        "Sandal",
        "Shirt",
        "Sneaker",
        "Bag",
        "Ankle boot",
    ],
}


class UsageError(Exception):
    """A bad argument found after parsing (exit code 2)."""


class CommandError(Exception):
    """Anything else that stops a command (exit code 1)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # One line instead of argparse's usage block, as the rest of the CLI does.
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a positive integer, received {text!r}"
        ) from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, received {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, received {text!r}")
    return value


def _non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, received {text!r}") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, received {text!r}")
    return value


def _ratio(text: str) -> float:
    value = _non_negative_float(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a ratio in [0, 1), received {text!r}")
    return value


def _hidden_sizes(text: str) -> list[int]:
    try:
        sizes = [_positive_int(part) for part in text.split(",")]
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(
            f"expected positive integers separated by commas, received {text!r}"
        ) from None
    return sizes


def _add_data_args(parser: argparse.ArgumentParser, default: str) -> None:
    parser.add_argument(
        "--dataset",
        choices=DATASETS,
        default=default,
        help=f"which data to use (default: {default})",
    )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="folder holding the four IDX .gz files (default: the user cache)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="mitbadak",
        description="Deep learning from the very bottom: backprop written by hand, one layer "
        "class at a time.",
    )
    parser.add_argument("--version", action="version", version=f"mitbadak {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    train = commands.add_parser(
        "train",
        help="train a network (default: the book's 784-50-10 net, SGD, lr 0.1, 1000 iterations)",
        description="Mini-batch training with per-epoch train/test accuracy. Writes model.npz, "
        "history.json and curves.png into --out.",
    )
    _add_data_args(train, "mnist")
    train.add_argument("--model", choices=MODELS, default="two-layer", help="(default: two-layer)")
    train.add_argument(
        "--hidden",
        type=_hidden_sizes,
        default=None,
        metavar="N[,N...]",
        help="hidden layer width(s): 50 for two-layer, e.g. 100,100,100 for mlp, "
        "the fully connected width for convnet (default: the book's)",
    )
    length = train.add_mutually_exclusive_group()
    length.add_argument("--iters", type=_positive_int, default=None, help="(default: 1000)")
    length.add_argument("--epochs", type=_positive_int, default=None)
    train.add_argument("--batch-size", type=_positive_int, default=100, help="(default: 100)")
    train.add_argument("--lr", type=_positive_float, default=0.1, help="(default: 0.1)")
    train.add_argument("--optimizer", choices=OPTIMIZER_NAMES, default="sgd")
    train.add_argument(
        "--sampling",
        choices=("replacement", "shuffle"),
        default="replacement",
        help="batches drawn with replacement as in the book, or shuffled epochs",
    )
    train.add_argument("--seed", type=int, default=0, help="seeds weights and batches (default: 0)")
    train.add_argument(
        "--weight-init-std",
        type=_positive_float,
        default=0.01,
        help="two-layer/convnet weight scale (default: 0.01)",
    )
    train.add_argument(
        "--init",
        choices=("std", "xavier", "he"),
        default="he",
        help="mlp weight initialisation; std uses --weight-init-std (default: he)",
    )
    train.add_argument("--batchnorm", action="store_true", help="mlp only")
    train.add_argument("--dropout", type=_ratio, default=0.0, metavar="P", help="mlp only")
    train.add_argument(
        "--weight-decay",
        type=_non_negative_float,
        default=0.0,
        metavar="LAMBDA",
        help="L2 penalty (in the loss for mlp, in the optimizer's gradient otherwise)",
    )
    train.add_argument(
        "--threads",
        type=_positive_int,
        default=1,
        help="BLAS threads (default: 1; see benchmarks/README.md for why)",
    )
    train.add_argument("--out", type=Path, default=None, help="run folder (default: runs/NNN)")
    train.add_argument("--force", action="store_true", help="allow writing into an existing --out")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")

    evaluate = commands.add_parser("evaluate", help="accuracy and confusion matrix of a model")
    evaluate.add_argument("model", type=Path, metavar="MODEL")
    _add_data_args(evaluate, "mnist")

    predict = commands.add_parser("predict", help="classify 28x28 grayscale PNG images")
    predict.add_argument("model", type=Path, metavar="MODEL")
    predict.add_argument("images", type=Path, nargs="+", metavar="IMAGE")
    predict.add_argument("--top", type=_positive_int, default=3, help="probabilities shown")

    gradcheck = commands.add_parser(
        "gradcheck", help="the book's gradient check: backprop vs numerical gradients"
    )
    _add_data_args(gradcheck, "mnist-sample")
    gradcheck.add_argument("--samples", type=_positive_int, default=3, help="(default: 3)")
    gradcheck.add_argument("--hidden", type=_positive_int, default=50, help="(default: 50)")
    gradcheck.add_argument("--seed", type=int, default=0)
    return parser


# --------------------------------------------------------------------------- data


def _load(args: argparse.Namespace, *, one_hot: bool = False) -> tuple[str, Any]:
    """Load ``args.dataset``; MNIST without network falls back to the sample, loudly."""
    from mitbadak.data import DataUnavailableError, load_mnist

    dataset = args.dataset
    try:
        return dataset, load_mnist(
            one_hot_label=one_hot, dataset=dataset, data_dir=args.data_dir, download=True
        )
    except ValueError as exc:
        raise CommandError(str(exc)) from exc
    except DataUnavailableError as exc:
        if dataset != "mnist" or args.data_dir is not None:
            raise CommandError(" ".join(str(exc).split())) from exc
        print(
            "mitbadak: MNIST could not be downloaded (no network?); training on the bundled "
            "mnist-sample (10,000 real MNIST digits) instead",
            file=sys.stderr,
        )
        return "mnist-sample", load_mnist(one_hot_label=one_hot, dataset="mnist-sample")


# --------------------------------------------------------------------------- train


def _new_run_dir(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name) for p in root.iterdir() if p.name.isdigit()]
    number = max(numbers, default=0) + 1
    while True:
        candidate = root / f"{number:03d}"
        try:
            candidate.mkdir()
        except FileExistsError:
            number += 1
            continue
        return candidate


def _prepare_out(args: argparse.Namespace) -> Path:
    if args.out is None:
        return _new_run_dir(Path("runs"))
    out: Path = args.out
    if out.exists():
        if not out.is_dir():
            raise UsageError(f"--out {out} exists and is not a folder")
        if not args.force and any(out.iterdir()):
            raise UsageError(f"--out {out} already exists; pick another folder or pass --force")
    out.mkdir(parents=True, exist_ok=True)
    return out


def _build_model(args: argparse.Namespace, n_features: int, n_classes: int) -> Any:
    from mitbadak.models import TwoLayerNet

    rng = np.random.default_rng(args.seed)
    hidden = args.hidden
    if args.model == "two-layer":
        if hidden is not None and len(hidden) != 1:
            raise UsageError(f"--hidden takes one width for two-layer, received {hidden}")
        return TwoLayerNet(
            n_features,
            50 if hidden is None else hidden[0],
            n_classes,
            args.weight_init_std,
            rng=rng,
        )
    from mitbadak import nets

    if args.model == "mlp":
        return nets.MultiLayerNet(
            n_features,
            [100, 100, 100, 100] if hidden is None else hidden,
            n_classes,
            weight_init=args.weight_init_std if args.init == "std" else args.init,
            weight_decay_lambda=args.weight_decay,
            use_batchnorm=args.batchnorm,
            dropout_ratio=args.dropout,
            rng=rng,
        )
    if hidden is not None and len(hidden) != 1:
        raise UsageError(f"--hidden takes one width for convnet, received {hidden}")
    side = math.isqrt(n_features)
    return nets.SimpleConvNet(
        input_dim=(1, side, side),
        hidden_size=100 if hidden is None else hidden[0],
        output_size=n_classes,
        weight_init_std=args.weight_init_std,
        rng=rng,
    )


def _epoch_line(record: Any) -> str:
    return (
        f"epoch {record.epoch:6.2f}  iter {record.iteration:6d}  loss {record.loss:.4f}  "
        f"train acc {record.train_acc:.4f}  test acc {record.test_acc:.4f}  "
        f"{record.elapsed:7.2f}s"
    )


def cmd_train(args: argparse.Namespace) -> int:
    from threadpoolctl import threadpool_limits

    from mitbadak.io import save
    from mitbadak.optimizers import get_optimizer
    from mitbadak.train import Trainer, TrainingDiverged

    if args.model != "mlp" and (args.batchnorm or args.dropout):
        raise UsageError("--batchnorm and --dropout apply to --model mlp only")
    started = time.perf_counter()
    dataset, ((x_train, t_train), (x_test, t_test)) = _load(args)
    if args.batch_size > len(x_train):
        raise UsageError(
            f"--batch-size {args.batch_size} is larger than the training set "
            f"({len(x_train)} samples of {dataset})"
        )
    out = _prepare_out(args)
    net = _build_model(args, x_train.shape[1], int(t_train.max()) + 1)
    # MultiLayerNet puts weight decay into its loss and gradient, as the book does;
    # for the other models the optimizer adds it to the gradient.
    decay = 0.0 if args.model == "mlp" else args.weight_decay
    optimizer = get_optimizer(args.optimizer, lr=args.lr, weight_decay=decay)

    print(
        f"training {type(net).__name__} on {dataset}: {len(x_train)} train / {len(x_test)} test, "
        f"batch {args.batch_size}, {args.optimizer} lr {args.lr}, seed {args.seed} -> {out}",
        flush=True,
    )
    show_bar = sys.stderr.isatty() and not args.no_progress
    bar: Any = None
    if show_bar:
        from tqdm import tqdm

        total = args.iters
        if total is None:
            iter_per_epoch = max(len(x_train) // args.batch_size, 1)
            total = 1000 if args.epochs is None else args.epochs * iter_per_epoch
        bar = tqdm(total=total, unit="it", dynamic_ncols=True, leave=False)

    def on_epoch(record: Any) -> None:
        line = _epoch_line(record)
        if bar is not None:
            bar.write(line)
        else:
            print(line, flush=True)

    def on_iteration(_: int, loss: float) -> None:
        bar.update(1)
        if bar.n % 50 == 0:
            bar.set_postfix(loss=f"{loss:.3f}", refresh=False)

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
        on_epoch=on_epoch,
        on_iteration=on_iteration if bar is not None else None,
    )
    diverged: TrainingDiverged | None = None
    with threadpool_limits(limits=args.threads, user_api="blas"):
        try:
            history = trainer.train()
        except TrainingDiverged as exc:
            diverged = exc
            history = trainer.history
        finally:
            if bar is not None:
                bar.close()
    # The data is no longer needed: free it before matplotlib loads, to keep the peak low.
    del trainer, x_train, t_train, x_test, t_test
    _write_run(args, out, net, history, dataset, started, save)
    if diverged is not None:
        print(f"mitbadak: {diverged}", file=sys.stderr)
        return 1
    if history.stopped == "interrupted":
        print(f"mitbadak: {history.message}; saved what was trained to {out}", file=sys.stderr)
        return 130
    print(f"saved model, history and curves to {out}")
    return 0


def _write_run(
    args: argparse.Namespace,
    out: Path,
    net: Any,
    history: Any,
    dataset: str,
    started: float,
    save: Any,
) -> None:
    from mitbadak._files import write_json
    from mitbadak.plot import plot_history

    config = {
        key: (str(value) if isinstance(value, Path) else value)
        for key, value in vars(args).items()
        if key not in ("func",)
    }
    config["dataset_used"] = dataset
    metadata = {"dataset": dataset, "class_names": CLASS_NAMES.get(dataset)}
    save(net, out / "model.npz", overwrite=True, metadata=metadata)
    record = {
        "config": config,
        "mitbadak_version": __version__,
        **history.to_dict(),
        "timings": {
            "train_seconds": history.train_seconds,
            "eval_seconds": history.eval_seconds,
            "total_seconds": time.perf_counter() - started,
        },
    }
    write_json(out / "history.json", record)
    plot_history(history, out / "curves.png", title=f"{type(net).__name__} on {dataset}")


# --------------------------------------------------------------------------- evaluate/predict


def _load_model(path: Path) -> Any:
    from mitbadak.io import load

    if not path.is_file():
        raise CommandError(f"model file {path} does not exist")
    try:
        return load(path)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc


def cmd_evaluate(args: argparse.Namespace) -> int:
    net = _load_model(args.model)
    dataset, (_, (x_test, t_test)) = _load(args)
    try:
        scores = np.concatenate(
            [net.predict(x_test[i : i + 1000]) for i in range(0, len(x_test), 1000)]
        )
    except ValueError as exc:
        raise CommandError(f"{args.model} does not fit {dataset}: {exc}") from exc
    n_classes = scores.shape[1]
    predicted = scores.argmax(axis=1)
    confusion = np.zeros((n_classes, n_classes), dtype=np.int64)
    np.add.at(confusion, (t_test, predicted), 1)
    accuracy = float(np.trace(confusion)) / len(t_test)
    print(f"{args.model} on {dataset} test set ({len(t_test)} samples): accuracy {accuracy:.4f}")
    print("confusion matrix (rows: true class, columns: predicted class)")
    width = max(5, len(str(int(confusion.max()))) + 1)
    print("true\\pred" + "".join(f"{j:>{width}d}" for j in range(n_classes)))
    for i in range(n_classes):
        print(f"{i:>9d}" + "".join(f"{v:>{width}d}" for v in confusion[i]))
    return 0


def _read_image(path: Path) -> NDArray[np.float32]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            if img.format != "PNG":
                raise CommandError(f"{path}: expected a PNG image, received {img.format}")
            if img.size != (28, 28):
                raise CommandError(
                    f"{path}: expected a 28x28 image, received {img.size[0]}x{img.size[1]}"
                )
            mode = img.mode
            pixels = np.asarray(img.convert("RGB") if mode in ("P", "RGBA", "LA") else img)
    except FileNotFoundError:
        raise CommandError(f"{path}: no such file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise CommandError(f"{path}: not a readable PNG image ({exc})") from exc
    if pixels.ndim == 3:
        if not (
            np.array_equal(pixels[..., 0], pixels[..., 1])
            and np.array_equal(pixels[..., 0], pixels[..., 2])
        ):
            raise CommandError(f"{path}: expected a grayscale image, received colour ({mode})")
        pixels = pixels[..., 0]
    peak = 1.0 if pixels.dtype == np.bool_ else float(np.iinfo(pixels.dtype).max)
    return (pixels.astype(np.float32) / peak).reshape(1, 784)


def cmd_predict(args: argparse.Namespace) -> int:
    from mitbadak.functions import softmax

    net = _load_model(args.model)
    names = net.metadata.get("class_names") or None
    images = np.concatenate([_read_image(path) for path in args.images])
    try:
        probs = softmax(net.predict(images))
    except ValueError as exc:
        raise CommandError(f"{args.model} cannot classify 28x28 images: {exc}") from exc
    for path, p in zip(args.images, probs, strict=True):
        order = np.argsort(p)[::-1][: args.top]

        def label(k: int) -> str:
            return f"{k} ({names[k]})" if names else str(k)

        tops = ", ".join(f"{label(int(k))} {p[k]:.3f}" for k in order)
        print(f"{path}: {label(int(order[0]))}  [{tops}]")
    return 0


# --------------------------------------------------------------------------- gradcheck


def cmd_gradcheck(args: argparse.Namespace) -> int:
    from mitbadak.gradcheck import gradient_check
    from mitbadak.models import TwoLayerNet

    dataset, ((x_train, t_train), _) = _load(args, one_hot=True)
    if args.samples > len(x_train):
        raise UsageError(f"--samples {args.samples} exceeds the {len(x_train)} training samples")
    x, t = x_train[: args.samples], t_train[: args.samples]
    net = TwoLayerNet(
        x.shape[1], args.hidden, t.shape[1], rng=np.random.default_rng(args.seed), dtype=np.float64
    )
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


COMMANDS = {
    "train": cmd_train,
    "evaluate": cmd_evaluate,
    "predict": cmd_predict,
    "gradcheck": cmd_gradcheck,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mitbadak`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return COMMANDS[args.command](args)
    except UsageError as exc:
        print(f"mitbadak {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except CommandError as exc:
        print(f"mitbadak {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("mitbadak: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())
