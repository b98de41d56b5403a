"""The ``mitbadak`` command: train, evaluate, predict, gradcheck, explain, check, serve
and doctor.

Every user error (a bad flag, a missing file, data that cannot be had) ends in
one line on stderr and a non-zero exit code, never a traceback: 2 for bad
arguments, 1 for anything else. ``args`` defines the flags; each command group
lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import cast

from mitbadak.cli.args import build_parser
from mitbadak.cli.errors import CommandError, UsageError

__all__ = ["main"]

#: Command -> (module, function) that runs it.
COMMANDS: dict[str, tuple[str, str]] = {
    "train": ("mitbadak.cli.train", "run"),
    "evaluate": ("mitbadak.cli.evaluate", "run_evaluate"),
    "predict": ("mitbadak.cli.evaluate", "run_predict"),
    "gradcheck": ("mitbadak.cli.gradcheck", "run"),
    "explain": ("mitbadak.cli.explain", "run"),
    "check": ("mitbadak.cli.check", "run"),
    "serve": ("mitbadak.cli.serve", "run"),
    "doctor": ("mitbadak.cli.doctor", "run"),
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mitbadak`` console script; returns the exit code."""
    from mitbadak.progress import make_streams_safe

    make_streams_safe()
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    module, function = COMMANDS[args.command]
    command = cast(Callable[..., int], getattr(importlib.import_module(module), function))
    try:
        return command(args)
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
