"""``mitbadak doctor``: what this machine gives mitbadak, and what to do about what is missing.

One line per check: ``ok``, ``--`` (missing but optional: the line says how to get it) or
``!!`` (broken: the line says how to fix it). The exit code is 1 when something is broken.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

__all__ = ["Check", "checks", "run"]

Status = Literal["ok", "--", "!!"]


@dataclass(frozen=True)
class Check:
    """One finding: its status, what was checked, and what was found or what to do."""

    status: Status
    topic: str
    detail: str

    def line(self) -> str:
        return f"{self.status:<3} {self.topic + ':':<15} {self.detail}"


def _python() -> list[Check]:
    import numpy as np

    import mitbadak

    version = platform.python_version()
    home = Path(mitbadak.__file__).parent
    return [
        Check("ok", "mitbadak", f"{mitbadak.__version__} ({home})"),
        Check("ok", "python", f"{version} ({sys.executable})"),
        Check("ok", "numpy", np.__version__),
    ]


def _blas() -> list[Check]:
    from threadpoolctl import threadpool_info

    cpus = os.cpu_count() or 1
    found = [pool for pool in threadpool_info() if pool.get("user_api") == "blas"]
    if not found:
        advice = (
            "NumPy found no BLAS library: reinstall it with `pip install --force-reinstall numpy`"
        )
        return [Check("!!", "blas", advice)]
    lines = []
    for pool in found:
        name = f"{pool.get('internal_api', '?')} {pool.get('version') or ''}".strip()
        threads = pool.get("num_threads")
        lines.append(
            Check(
                "ok",
                "blas",
                f"{name}, {threads} threads on {cpus} CPUs (mitbadak train uses --threads, "
                "default 1)",
            )
        )
    return lines


def _data() -> list[Check]:
    from mitbadak.data import SOURCES, DataUnavailableError, cache_dir, load_mnist, locate

    folder = cache_dir()
    env = os.environ.get("MITBADAK_DATA")
    where = f"{folder} (from MITBADAK_DATA)" if env else str(folder)
    lines = []
    parent = folder if folder.exists() else folder.parent
    if folder.exists() and not folder.is_dir():
        lines.append(
            Check("!!", "data cache", f"{where} is not a folder: point MITBADAK_DATA elsewhere")
        )
    elif parent.exists() and not os.access(parent, os.W_OK):
        lines.append(
            Check(
                "!!",
                "data cache",
                f"{where} is not writable: set MITBADAK_DATA to a folder you own",
            )
        )
    else:
        state = "" if folder.exists() else ", not created yet"
        lines.append(Check("ok", "data cache", f"{where}{state}"))
    try:
        (x, _), (x_test, _) = load_mnist(dataset="mnist-sample")
        lines.append(
            Check("ok", "mnist-sample", f"bundled, {len(x)} train / {len(x_test)} test digits")
        )
    except (ValueError, OSError) as exc:
        lines.append(Check("!!", "mnist-sample", f"unreadable ({exc}): reinstall mitbadak"))
    for name, source in SOURCES.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                paths = locate(source, download=False)
            except DataUnavailableError:
                paths = None
            except (ValueError, OSError) as exc:
                lines.append(Check("!!", name, " ".join(str(exc).split())))
                continue
        if paths is not None:
            folders = sorted({str(p.parent) for p in paths.values()})
            lines.append(Check("ok", name, f"{len(paths)} files verified in {', '.join(folders)}"))
            continue
        advice = f"not downloaded yet; `mitbadak train --dataset {name}` downloads it"
        if source.system_dirs:
            advice += " (or `apt-get install dataset-fashion-mnist`)"
        for warning in caught:  # a system copy with the wrong hash
            advice += f"; {warning.message}"
        lines.append(Check("--", name, advice))
    return lines


def _figures() -> list[Check]:
    from mitbadak.hangul import INSTALL_HINT, hangul_font, language

    font = hangul_font()
    lang = language()
    if font is None:
        return [
            Check(
                "--",
                "hangul font",
                f"none, so Korean figures fall back to English: `{INSTALL_HINT}`",
            ),
            Check("ok", "figure labels", f"{lang} (from the locale; mitbadak train --lang en|ko)"),
        ]
    return [
        Check("ok", "hangul font", f"{font.name} ({font.path})"),
        Check("ok", "figure labels", f"{lang} (from the locale; mitbadak train --lang en|ko)"),
    ]


def _console() -> list[Check]:
    from mitbadak.progress import BLOCKS, can_show, in_jupyter

    jupyter = in_jupyter()
    encoding = getattr(sys.stdout, "encoding", None) or "unknown"
    korean = can_show("한글", sys.stdout)
    text = "Korean text shows" if korean else "Korean text shows as \\uXXXX escapes"
    advice = "" if korean else " (for Korean, use a UTF-8 console: `chcp 65001` on Windows)"
    lines = [Check("ok" if korean else "--", "console", f"stdout {encoding}: {text}{advice}")]
    if jupyter:
        try:
            import ipywidgets  # noqa: F401

            bar = "a notebook widget"
        except ImportError:
            bar = "plain lines (`pip install ipywidgets` for a widget)"
        lines.append(Check("ok", "jupyter", f"yes: progress shown as {bar}"))
        return lines
    try:
        terminal = sys.stderr.isatty()
    except (ValueError, OSError):
        terminal = False
    if not terminal or os.environ.get("TERM") == "dumb":
        bar = "none (stderr is not a terminal), one line per epoch"
    elif can_show(BLOCKS, sys.stderr):
        bar = "a bar of block characters"
    else:
        bar = f"an ASCII bar ({getattr(sys.stderr, 'encoding', None)} has no block characters)"
    lines.append(Check("ok", "jupyter", f"no: progress shown as {bar}"))
    return lines


#: The groups of checks, in the order they are printed.
GROUPS: tuple[Callable[[], list[Check]], ...] = (_python, _blas, _data, _figures, _console)


def checks() -> list[Check]:
    """Every check's finding."""
    return [check for group in GROUPS for check in group()]


def run(args: argparse.Namespace) -> int:
    found = checks()
    for check in found:
        print(check.line(), flush=True)
    return 1 if any(check.status == "!!" for check in found) else 0
