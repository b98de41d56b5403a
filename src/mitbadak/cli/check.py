"""``mitbadak check FILE.py:ClassName``: the checker's report, exit code 0 or 1."""

from __future__ import annotations

import argparse

from mitbadak.cli.errors import CommandError

__all__ = ["run"]


def run(args: argparse.Namespace) -> int:
    from mitbadak.layercheck import LoadError, SetupError, check_target, say

    lang = args.lang
    try:
        report = check_target(args.target, input_shape=args.input_shape)
    except (LoadError, SetupError) as exc:
        raise CommandError(say(f"error.{exc.key}", lang, exc.fields)) from None
    print(report.render(lang), end="")
    return 0 if report.passed else 1
