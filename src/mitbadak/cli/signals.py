"""How a command is stopped: Ctrl-C, SIGTERM and SIGHUP all end it the same careful way.

Python turns Ctrl-C (SIGINT) into ``KeyboardInterrupt``, which the trainer catches to
stop cleanly. SIGTERM (what ``kill`` and job schedulers send, and the only stop for a
job started in the background with ``&``, which ignores SIGINT) and SIGHUP (the terminal
closed) would otherwise kill the process on the spot; here they raise :class:`Stopped`,
a ``KeyboardInterrupt``, so a training run is saved and temporary files are removed
whichever signal ends it. Once training has stopped, signals are only *recorded*
(:class:`SignalGuard`), so a second Ctrl-C cannot cut the save short.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

__all__ = [
    "STOP_SIGNALS",
    "SignalGuard",
    "Stopped",
    "exit_code",
    "guarded",
    "stop_signals",
    "what_stopped",
]

#: The signals that stop a command cleanly.
STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name)
)


class Stopped(KeyboardInterrupt):
    """A stop signal other than SIGINT, raised where Ctrl-C raises KeyboardInterrupt."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _signum(exc: BaseException) -> int:
    return exc.signum if isinstance(exc, Stopped) else signal.SIGINT


def exit_code(exc: BaseException) -> int:
    """``128 + signal number``, as a shell reports a process ended by that signal."""
    return 128 + _signum(exc)


def what_stopped(exc: BaseException) -> str:
    """``"interrupted"`` for Ctrl-C, ``"stopped by SIGTERM"`` and so on."""
    signum = _signum(exc)
    return "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"


def _raise_stopped(signum: int, frame: FrameType | None) -> None:
    raise Stopped(signum)


def _install(handler: Any, signums: tuple[int, ...]) -> dict[int, Any]:
    """Set ``handler`` for ``signums``; return the previous handlers (none off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    previous = {}
    for signum in signums:
        old = signal.getsignal(signum)
        # A signal ignored when we started (SIGINT in a background job, SIGHUP under
        # nohup) stays ignored: the user asked for that.
        if old is signal.SIG_IGN:
            continue
        previous[signum] = old
        signal.signal(signum, handler)
    return previous


def _restore(previous: dict[int, Any]) -> None:
    for signum, old in previous.items():
        signal.signal(signum, old)


@contextmanager
def stop_signals() -> Iterator[None]:
    """Within, SIGTERM and SIGHUP raise :class:`Stopped`; Ctrl-C raises KeyboardInterrupt."""
    others = tuple(signum for signum in STOP_SIGNALS if signum != signal.SIGINT)
    previous = _install(_raise_stopped, others)
    try:
        yield
    finally:
        _restore(previous)


class SignalGuard:
    """Stop signals raise (as KeyboardInterrupt or :class:`Stopped`) until :meth:`hold`;
    from then on they are only recorded in ``received``.

    Switching is one assignment, so no signal can fall between "still training" and
    "now saving": call :meth:`hold` first thing in the ``finally`` of the training.
    """

    def __init__(self) -> None:
        self.holding = False
        self.received: list[int] = []

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.holding:
            self.received.append(signum)
            return
        if signum == signal.SIGINT:
            raise KeyboardInterrupt
        raise Stopped(signum)

    def hold(self) -> None:
        self.holding = True


@contextmanager
def guarded() -> Iterator[SignalGuard]:
    """A :class:`SignalGuard` handling every stop signal while inside."""
    guard = SignalGuard()
    previous = _install(guard.handle, STOP_SIGNALS)
    try:
        yield guard
    finally:
        _restore(previous)
