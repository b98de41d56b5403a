"""Command-line interface (placeholder until the training CLI lands)."""
from __future__ import annotations

import argparse

from mitbadak import __version__


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mitbadak")
    parser.add_argument("--version", action="version", version=f"mitbadak {__version__}")
    parser.parse_args(argv)
    return 0
