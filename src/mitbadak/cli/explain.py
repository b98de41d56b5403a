"""``mitbadak explain``: one forward and backward pass, node by node, as text or a page.

Without a model: the book's apple example, the same bill with a value used twice, and a
tiny TwoLayerNet. With ``MODEL.npz``: the model on one test image (``--index``) or on an
image file (``--image``). ``--html`` writes the self-contained page, ``--json`` the trace.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from mitbadak.cli.common import load_dataset, load_model
from mitbadak.cli.errors import CommandError, UsageError

if TYPE_CHECKING:
    from mitbadak.explain import Trace

__all__ = ["AUTO_LIMIT", "run"]

#: Networks with at most this many parameters get every entry checked numerically
#: (TwoLayerNet(784, 50, 10) has 39,760); larger ones a sample of each array.
AUTO_LIMIT = 100_000
SAMPLED_ENTRIES = 1000


def _read_image(path: Path) -> np.ndarray:
    """An image file as a network input, prepared as ``mitbadak predict`` does: (1, 784)."""
    from mitbadak.data.images import read_digit

    return read_digit(path)


def _check_output(path: Path | None, force: bool) -> None:
    if path is None:
        return
    if path.exists() and not force:
        raise CommandError(f"{path} exists; pass --force to replace it")
    if not path.parent.is_dir():
        raise CommandError(f"cannot write {path}: folder {path.parent} does not exist")


def _write(path: Path, text: str) -> None:
    from mitbadak._files import atomic_target

    try:
        with atomic_target(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise CommandError(f"cannot write {path}: {exc.strerror or exc}") from exc


def _model_trace(args: argparse.Namespace) -> tuple[Trace, str]:
    from mitbadak.explain import trace_network

    net = load_model(args.model)
    names = net.metadata.get("class_names") or None
    if args.image is not None:
        try:
            x = _read_image(args.image)
        except (ValueError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        source = f"the image {args.image}"
    else:
        dataset = args.dataset or net.metadata.get("dataset") or "mnist"
        ns = argparse.Namespace(dataset=dataset, data_dir=args.data_dir)
        dataset, (_, (x_test, t_test)) = load_dataset(ns)
        index = 0 if args.index is None else args.index
        if index >= len(x_test):
            raise UsageError(
                f"--index {index} is out of range: {dataset}'s test set has "
                f"{len(x_test)} images (0 to {len(x_test) - 1})"
            )
        x = x_test[index : index + 1]
        source = f"test image {index} of {dataset}"
    try:
        scores = net.predict(x)
    except ValueError as exc:
        raise CommandError(f"{args.model} cannot take this input: {exc}") from exc
    n_classes = scores.shape[1]
    if args.label is not None:
        label, how = args.label, "given with --label"
    elif args.image is None:
        label, how = int(t_test[index]), "the test set's"
    else:
        label, how = int(scores.argmax()), "no --label given: the predicted class is used"
    if not 0 <= label < n_classes:
        raise UsageError(f"--label {label} is out of range: the model has {n_classes} classes")
    size = sum(p.size for p in net.params.values())
    limit = args.numerical_entries
    if limit is None:
        limit = None if size <= AUTO_LIMIT else SAMPLED_ENTRIES
    elif limit == 0:
        limit = None
    trace = trace_network(
        net,
        x,
        np.array([label]),
        title=f"{type(net).__name__} from {args.model.name} on {source}",
        description=f"The trained network's forward and backward pass on {source}, with "
        f"label {label} ({how}). Gradients are of the loss for that label.",
        whole_limit=1000,
        numerical_limit=limit,
        class_names=names,
    )
    return trace, "mitbadak explain: " + trace.title


def run(args: argparse.Namespace) -> int:
    from mitbadak.explain import bundle_to_json, default_traces
    from mitbadak.explain.page import render_html
    from mitbadak.explain.text import render_text

    if args.model is None:
        given = [f for f in ("index", "image", "label") if getattr(args, f) is not None]
        if given:
            raise UsageError(f"--{given[0]} needs a MODEL (a model.npz written by mitbadak train)")
    _check_output(args.html, args.force)
    _check_output(args.json, args.force)
    start = time.perf_counter()
    if args.model is None:
        traces = default_traces()
        title = "mitbadak explain: backprop on the book's examples"
    else:
        trace, title = _model_trace(args)
        traces = [trace]
    seconds = time.perf_counter() - start
    print(render_text(traces), end="")
    print(f"\n(forward, backward and the numerical check took {seconds:.1f} s)")
    if args.html is not None:
        _write(args.html, render_html(traces, title=title))
        print(f"wrote {args.html} (a page for any browser; it works offline)")
    if args.json is not None:
        _write(args.json, bundle_to_json(traces, title=title) + "\n")
        print(f"wrote {args.json}")
    return 0
