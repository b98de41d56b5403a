"""What several commands share: loading a dataset (with the offline fallback) and a model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from mitbadak.cli.errors import CommandError
from mitbadak.models import Sequential

__all__ = ["load_dataset", "load_model"]


def load_dataset(args: argparse.Namespace, *, one_hot: bool = False) -> tuple[str, Any]:
    """Load ``args.dataset``; MNIST without network falls back to the sample, loudly.

    Returns the name of the dataset actually used and ``load_mnist``'s result.
    """
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


def load_model(path: Path) -> Sequential:
    """``mitbadak.load(path)``, with every failure as one line (exit code 1)."""
    from mitbadak.serialization import load

    if not path.is_file():
        raise CommandError(f"model file {path} does not exist")
    try:
        return load(path)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
