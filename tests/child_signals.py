"""Signal dispositions for child processes that a test will signal.

A child inherits ignored signals from its parent: under `nohup` or a backgrounded shell
SIGINT is ignored, Python then installs no KeyboardInterrupt handler, and a test that sends
SIGINT sees nothing happen. Pass ``preexec_fn=default_signals`` so the child starts with the
default dispositions whatever the test run's parent did.
"""

from __future__ import annotations

import signal


def default_signals() -> None:
    """Reset SIGINT, SIGTERM and SIGHUP to their defaults (runs in the child before exec)."""
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)
