"""What several commands share: output that survives a closed pipe, loading a dataset
(with the offline fallback) and a model."""

from __future__ import annotations

import argparse
import os
import sys
import unicodedata
from pathlib import Path
from typing import Any, TextIO

from mitbadak.cli.errors import CommandError
from mitbadak.models import Sequential

__all__ = ["load_dataset", "load_model", "one_line", "say", "silence"]


def _shown(char: str) -> str:
    if char in "\t\n\r":
        return " "
    if char == " " or not unicodedata.category(char).startswith(("C", "Z")):
        return char
    return repr(char)[1:-1]


def one_line(text: str) -> str:
    """``text`` on one line, with control characters shown as escapes, never sent raw.

    Error messages quote file names and file contents, which a hostile file could fill
    with terminal escape sequences.
    """
    return "".join(map(_shown, text)).strip()


def silence(stream: TextIO | None) -> None:
    """Point ``stream``'s file descriptor at /dev/null: its reader has gone away.

    Later writes, and Python's final flush at exit, then go nowhere instead of raising.
    """
    try:
        fd = stream.fileno() if stream is not None else -1
        if fd >= 0:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
    except (OSError, ValueError):
        pass


def say(text: str, *, err: bool = False) -> None:
    """Print one line to stdout (stderr with ``err``), flushed.

    A reader that went away (``mitbadak train | head``, a closed terminal) is not an
    error: the output is dropped and the command goes on. Losing a training run because
    nobody reads its progress any more would be absurd.
    """
    stream = sys.stderr if err else sys.stdout
    if stream is None:
        return
    try:
        try:
            stream.write(text + "\n")
        except UnicodeEncodeError:
            # A console that cannot show a character (a Korean folder name on an ASCII
            # console) gets an escape for it, not silence.
            encoding = stream.encoding or "ascii"
            stream.write(text.encode(encoding, "backslashreplace").decode(encoding) + "\n")
        stream.flush()
    except (OSError, ValueError):
        silence(stream)


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
        say(
            f"mitbadak: MNIST could not be downloaded ({exc.reason}); using the bundled "
            "mnist-sample (10,000 real MNIST digits) instead",
            err=True,
        )
        return "mnist-sample", load_mnist(one_hot_label=one_hot, dataset="mnist-sample")


def load_model(path: Path) -> Sequential:
    """``mitbadak.load(path)``, with every failure as one line (exit code 1)."""
    from mitbadak.serialization import load

    if not path.exists():
        raise CommandError(f"model file {path} does not exist")
    try:
        return load(path)
    except (ValueError, OSError) as exc:
        raise CommandError(str(exc)) from exc
