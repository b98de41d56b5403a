"""``mitbadak evaluate`` and ``mitbadak predict``: using a trained model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from mitbadak.cli.common import load_dataset, load_model
from mitbadak.cli.errors import CommandError
from mitbadak.models import EVAL_BATCH_SIZE, Sequential

__all__ = ["run_evaluate", "run_predict"]

#: Memory the scoring of a test set may use at once.
_SCORING_BUDGET = 256 << 20


def _chunk_size(net: Sequential, x: np.ndarray) -> int:
    """Samples to score at once so that scoring stays within a memory budget.

    What one sample costs is measured (tracemalloc sees NumPy's buffers): a model file
    decides its layers' sizes, and a hostile one may make a chunk of the usual size
    cost gigabytes.
    """
    import tracemalloc

    from mitbadak._memory import available_memory

    outer = tracemalloc.is_tracing()
    if outer:
        before = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
    else:
        before = 0
        tracemalloc.start()
    try:
        net.scores(x[:1])
    finally:
        peak = tracemalloc.get_traced_memory()[1] - before
        if not outer:
            tracemalloc.stop()
    free = available_memory()
    budget = _SCORING_BUDGET if free is None else min(_SCORING_BUDGET, free // 4)
    return int(max(1, min(EVAL_BATCH_SIZE, budget // max(peak, 1))))


def run_evaluate(args: argparse.Namespace) -> int:
    net = load_model(args.model)
    dataset, (_, (x_test, t_test)) = load_dataset(args)
    try:
        scores = net.scores(x_test, batch_size=_chunk_size(net, x_test))
    except (ValueError, TypeError, IndexError) as exc:
        raise CommandError(f"{args.model} does not fit {dataset}: {exc}") from exc
    if scores.ndim != 2:
        raise CommandError(
            f"{args.model} gives scores of shape {scores.shape}, not one row a sample"
        )
    n_outputs = scores.shape[1]
    n_classes = int(t_test.max()) + 1
    if n_outputs < n_classes:
        raise CommandError(
            f"{args.model} gives {n_outputs} scores per image, but {dataset} has {n_classes} "
            "classes: it was trained for other data"
        )
    # A column per class of the dataset, and one "other" column only for predictions of
    # outputs the dataset has no class for (the matrix never grows with the model).
    predicted = np.minimum(scores.argmax(axis=1), n_classes)
    columns = n_classes + int(predicted.max() == n_classes)
    confusion = np.zeros((n_classes, columns), dtype=np.int64)
    np.add.at(confusion, (t_test, predicted), 1)
    accuracy = float(np.trace(confusion[:, :n_classes])) / len(t_test)
    print(f"{args.model} on {dataset} test set ({len(t_test)} samples): accuracy {accuracy:.4f}")
    print("confusion matrix (rows: true class, columns: predicted class)")
    width = max(5 + (columns > n_classes), len(str(int(confusion.max()))) + 1)
    heads = [f"{j:>{width}d}" for j in range(n_classes)] + [f"{'other':>{width}}"]
    print("true\\pred" + "".join(heads[:columns]))
    for i in range(n_classes):
        print(f"{i:>9d}" + "".join(f"{v:>{width}d}" for v in confusion[i]))
    return 0


def run_predict(args: argparse.Namespace) -> int:
    from mitbadak.data.images import read_digit
    from mitbadak.functions import softmax

    net = load_model(args.model)
    names = net.metadata.get("class_names") or None
    try:
        images = np.concatenate([read_digit(path) for path in args.images])
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
    try:
        probs = softmax(net.predict(images))
    except ValueError as exc:
        raise CommandError(f"{args.model} cannot classify 28x28 images: {exc}") from exc

    def label(k: int) -> str:
        return f"{k} ({names[k]})" if names and k < len(names) else str(k)

    for path, p in zip(args.images, probs, strict=True):
        order = np.argsort(p)[::-1][: args.top]
        tops = ", ".join(f"{label(int(k))} {p[k]:.3f}" for k in order)
        print(f"{path}: {label(int(order[0]))}  [{tops}]", flush=True)
    if args.show:
        for path, x in zip(args.images, images, strict=True):
            _show(path, x)
    return 0


def shown_path(image: Path) -> Path:
    """Where ``--show`` writes what the network saw: ``digit.png`` -> ``digit.mnist.png``."""
    return image.with_name(f"{image.stem}.mnist.png")


def _show(image: Path, x: np.ndarray) -> None:
    """Write the prepared 28x28 digit beside ``image``; an existing file only if the user
    says so on a terminal."""
    from mitbadak.data.images import save_digit_png

    target = shown_path(image)
    if target.exists() or target.is_symlink():
        if not (sys.stdin.isatty() and _ask(f"{target} exists; overwrite it? [y/N] ")):
            print(
                f"mitbadak predict: kept the existing {target} (not overwritten)", file=sys.stderr
            )
            return
    try:
        save_digit_png(x, target)
    except OSError as exc:
        raise CommandError(f"cannot write {target}: {exc.strerror or exc}") from exc
    print(f"{image}: the network saw {target}")


def _ask(question: str) -> bool:
    try:
        return input(question).strip().lower() in ("y", "yes")
    except EOFError:
        return False
