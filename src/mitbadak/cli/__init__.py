"""The ``mitbadak`` command: train, evaluate, predict, gradcheck, explain, check, serve
and doctor.

Every user error (a bad flag, a missing file, data that cannot be had) ends in
one line on stderr and a non-zero exit code, never a traceback: 2 for bad
arguments, 1 for anything else, ``128 + N`` when stopped by signal N (130 for
Ctrl-C, 143 for SIGTERM). ``args`` defines the flags; each command group
lives in its own module and is imported only when it runs.
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Sequence
from typing import cast

from mitbadak.cli.args import build_parser
from mitbadak.cli.common import one_line, say, silence
from mitbadak.cli.errors import CommandError, UsageError
from mitbadak.cli.signals import exit_code, stop_signals, what_stopped

__all__ = ["DEBUG_VAR", "main"]

#: Set to show the traceback of an internal error instead of one line.
DEBUG_VAR = "MITBADAK_DEBUG"

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
    try:
        args = parser.parse_args(argv)
    except BrokenPipeError:  # `mitbadak --help | head`
        silence(sys.stdout)
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    from mitbadak.i18n import language

    # One choice for the whole run: --lang (before or after the command), else the locale.
    args.lang = language(args.lang)
    module, function = COMMANDS[args.command]
    name = f"mitbadak {args.command}"
    try:
        with stop_signals():
            command = cast(Callable[..., int], getattr(importlib.import_module(module), function))
            return command(args)
    except UsageError as exc:
        say(f"{name}: error: {one_line(str(exc))}", err=True)
        return 2
    except CommandError as exc:
        say(f"{name}: error: {one_line(str(exc))}", err=True)
        return 1
    except KeyboardInterrupt as exc:
        say(f"mitbadak: {what_stopped(exc)}", err=True)
        return exit_code(exc)
    except BrokenPipeError:
        # Output piped into `head` and closed early: not an error worth a traceback.
        silence(sys.stdout)
        return 1
    except MemoryError:
        say(f"{name}: error: out of memory", err=True)
        return 1
    except OSError as exc:
        say(f"{name}: error: {one_line(str(exc))}", err=True)
        return 1
    except Exception as exc:
        # A bug of ours: still one line for the user, the traceback on request.
        if os.environ.get(DEBUG_VAR):
            raise
        say(
            f"{name}: internal error: {type(exc).__name__}: {one_line(str(exc))} (set "
            f"{DEBUG_VAR}=1 to see "
            "where; please report it)",
            err=True,
        )
        return 1
