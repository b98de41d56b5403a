"""Small tmpfs mounts for the tests of full and read-only disks (the tests run as root)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


@contextmanager
def tmpfs(point: Path, size: str, *options: str) -> Iterator[Path]:
    """Mount a tmpfs of ``size`` (``"64k"``) at ``point``, created if needed; unmount after."""
    point.mkdir(parents=True, exist_ok=True)
    option = ",".join([f"size={size}", *options])
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", option, "tmpfs", str(point)], capture_output=True, text=True
    )
    if done.returncode != 0:
        pytest.fail(f"these tests mount a tmpfs and must run as root: {done.stderr.strip()}")
    try:
        yield point
    finally:
        subprocess.run(["umount", "-l", str(point)], check=False)
