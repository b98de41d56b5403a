"""How much memory is free, and refusing work that would not fit before allocating it.

A network whose weights cannot fit is refused with the amount it would need, instead of
a ``MemoryError`` halfway through (or the kernel's OOM killer, which a ``MemoryError``
never reaches: Linux hands out address space freely and kills the process once the
pages are touched).
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["MemoryNeededError", "available_memory", "check_fits", "format_bytes"]

#: cgroup v2 and v1 files holding a container's memory limit and current use.
_CGROUP_FILES = (
    (Path("/sys/fs/cgroup/memory.max"), Path("/sys/fs/cgroup/memory.current")),
    (
        Path("/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        Path("/sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ),
)


class MemoryNeededError(ValueError):
    """What was asked for needs more memory than this machine has available."""


def _read_int(path: Path) -> int | None:
    try:
        text = path.read_text().strip()
    except (OSError, ValueError):
        return None
    return int(text) if text.isdigit() else None


def _meminfo_available() -> int | None:
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, AttributeError):
        return None


def available_memory() -> int | None:
    """Bytes that can still be allocated without swapping, or None where unknown.

    The smaller of the kernel's ``MemAvailable`` and what is left under a container's
    memory limit (cgroup v2 or v1), so a limited container is not judged by the host.
    """
    free = _meminfo_available()
    for limit_file, usage_file in _CGROUP_FILES:
        limit, usage = _read_int(limit_file), _read_int(usage_file)
        if limit is not None and usage is not None and limit < 1 << 60:
            left = max(limit - usage, 0)
            free = left if free is None else min(free, left)
            break
    return free


def format_bytes(n: float) -> str:
    """``1536`` -> ``"1.5 KiB"``: a size as a person reads it."""
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    raise AssertionError("unreachable")


def check_fits(nbytes: int, what: str) -> None:
    """``MemoryNeededError`` naming ``what`` unless ``nbytes`` fit in the available memory."""
    free = available_memory()
    if free is not None and nbytes > free:
        raise MemoryNeededError(
            f"{what} needs about {format_bytes(nbytes)} of memory, but only "
            f"{format_bytes(free)} is available"
        )
