"""Training progress on any console: a bar where one can be drawn, plain lines elsewhere.

- On a terminal: tqdm's bar on stderr, in ASCII (``#``) when the console's encoding
  cannot show block characters (cp949, ASCII), never a ``UnicodeEncodeError``.
- In Jupyter: tqdm's notebook widget when ipywidgets is there, else no bar at all, so a
  cell never fills with carriage returns and escape codes.
- Anywhere else (a pipe, a file, ``TERM=dumb``): no bar.

Whole lines (one per epoch) go to stdout in every case. A console that fails while
drawing the bar (closed, or an encoding that refuses a character) costs the bar, never
the training run.
"""

from __future__ import annotations

import os
import sys
from typing import Any, TextIO

__all__ = [
    "BLOCKS",
    "Progress",
    "can_show",
    "in_jupyter",
    "make_streams_safe",
    "training_progress",
]

#: The characters of tqdm's smooth bar.
BLOCKS = " ▏▎▍▌▋▊▉█"


def can_show(text: str, stream: TextIO) -> bool:
    """Whether ``stream``'s encoding can write ``text`` (no encoding: assume ASCII)."""
    try:
        text.encode(getattr(stream, "encoding", None) or "ascii")
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def in_jupyter() -> bool:
    """Whether this code runs inside a Jupyter kernel (Notebook, Lab, Colab, VS Code)."""
    if "IPython" not in sys.modules:  # never import IPython just to ask
        return False
    from IPython import get_ipython

    shell = get_ipython()
    return shell is not None and hasattr(shell, "kernel")


def make_streams_safe() -> None:
    """Let stdout and stderr write any text: what their encoding lacks is escaped.

    Python's stdout refuses such characters with ``UnicodeEncodeError`` (a Korean file
    name printed on a cp949 or ASCII console); ``\\uXXXX`` escapes keep the line.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and not can_show("한", stream):
            try:
                reconfigure(errors="backslashreplace")
            except (ValueError, OSError):  # a closed or detached stream
                pass


class Progress:
    """How far training is: ``iteration`` after each step, ``line`` for a whole line.

    ``bar`` is a tqdm bar or ``None`` (lines only).
    """

    def __init__(self, bar: Any = None) -> None:
        self.bar = bar

    def iteration(self, _: int, loss: float) -> None:
        """Advance the bar by one iteration; show the loss every 50."""
        if self.bar is None:
            return
        try:
            self.bar.update(1)
            if self.bar.n % 50 == 0:
                self.bar.set_postfix(loss=f"{loss:.3f}", refresh=False)
        except (OSError, ValueError, UnicodeError):
            self._drop_bar()

    def line(self, text: str) -> None:
        """Print ``text`` on stdout as a line of its own, above the bar if there is one."""
        if self.bar is not None:
            try:
                self.bar.write(text, file=sys.stdout)
                sys.stdout.flush()
                return
            except (OSError, ValueError, UnicodeError):
                self._drop_bar()
        print(text, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self._drop_bar()

    def _drop_bar(self) -> None:
        bar, self.bar = self.bar, None
        try:
            bar.close()
        except (OSError, ValueError, UnicodeError):
            pass

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def training_progress(
    total: int, *, enabled: bool = True, stream: TextIO | None = None
) -> Progress:
    """The right progress display for ``total`` iterations here (see the module docstring).

    ``stream`` is where a terminal bar goes (default: stderr); ``enabled=False`` gives
    lines only.
    """
    out = sys.stderr if stream is None else stream
    if not enabled:
        return Progress()
    if in_jupyter():
        return Progress(_notebook_bar(total))
    try:
        terminal = out.isatty()
    except (ValueError, OSError):
        terminal = False
    if not terminal or os.environ.get("TERM") == "dumb":
        return Progress()
    from tqdm import tqdm

    return Progress(
        tqdm(
            total=total,
            unit="it",
            file=out,
            dynamic_ncols=True,
            leave=False,
            ascii=not can_show(BLOCKS, out),
        )
    )


def _notebook_bar(total: int) -> Any:
    """tqdm's notebook widget, or ``None`` without ipywidgets (tqdm would fall back to
    writing carriage returns into the cell)."""
    try:
        import ipywidgets  # noqa: F401
        from tqdm.notebook import tqdm as notebook_tqdm
    except ImportError:
        return None
    try:
        return notebook_tqdm(total=total, unit="it", leave=False)
    except ImportError:  # a widget front end tqdm does not support
        return None
