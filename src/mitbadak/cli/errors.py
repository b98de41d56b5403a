"""The two ways a command stops, by exit code."""

from __future__ import annotations

__all__ = ["CommandError", "UsageError"]


class UsageError(Exception):
    """A bad argument found after parsing (exit code 2)."""


class CommandError(Exception):
    """Anything else that stops a command (exit code 1)."""
