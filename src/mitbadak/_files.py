"""Files: atomic writes (a file appears complete under its name, or not at all), and opening
a file for reading only once it is known to be a regular file.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import stat
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any, BinaryIO

__all__ = [
    "atomic_target",
    "default_mode",
    "file_kind",
    "open_regular",
    "sigterm_cleans_up",
    "write_json",
]

_umask_lock = threading.Lock()

#: errno values saying "this file system cannot make hard links".
_NO_LINKS = {errno.EPERM, errno.EXDEV, errno.EMLINK, errno.ENOSYS, errno.EOPNOTSUPP, errno.ENOTSUP}


def _umask() -> int:
    """The process's umask, read without changing it where the system allows."""
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    # Elsewhere the only portable way to read the umask is to set it; the lock keeps two
    # of our threads from seeing each other's temporary value.
    with _umask_lock:
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def default_mode() -> int:
    """The permissions ``open(path, "w")`` gives a new file: 0666 less the umask."""
    return 0o666 & ~_umask()


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words, from its ``st_mode``."""
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a named pipe (FIFO)"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "not a regular file"


def open_regular(path: str | os.PathLike[str]) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    A folder, FIFO, device or socket is a ``ValueError`` naming the path, found without
    reading from it: a FIFO would block forever and a device may never end. The open is
    non-blocking and the type checked again on the open descriptor, so a file swapped for
    a FIFO in between is refused too. A missing file is ``FileNotFoundError``.
    """
    target = Path(path)
    mode = os.stat(target).st_mode
    if not stat.S_ISREG(mode):
        raise ValueError(f"{target}: is {file_kind(mode)}, not a file")
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(target, flags)
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise ValueError(f"{target}: is {file_kind(mode)}, not a file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _link_no_clobber(tmp: Path, target: Path) -> None:
    """Move ``tmp`` to ``target`` unless ``target`` exists, atomically where links exist."""
    try:
        # link() fails with EEXIST instead of replacing: two writers cannot both win.
        os.link(tmp, target)
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, "file exists", str(target)) from None
        os.replace(tmp, target)
    else:
        tmp.unlink()


class _Terminated(BaseException):
    """SIGTERM arrived: unwinds the stack so that temporary files are removed."""


@contextmanager
def sigterm_cleans_up() -> Iterator[None]:
    """Within, SIGTERM first unwinds (removing temporary files), then ends the process
    as it would have (killed by SIGTERM).

    Only where nobody handles SIGTERM already (the command line does, turning it into
    a clean stop) and only on the main thread, where Python runs signal handlers.
    """
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGTERM) != signal.SIG_DFL
    ):
        yield
        return

    def unwind(signum: int, frame: FrameType | None) -> None:
        raise _Terminated

    signal.signal(signal.SIGTERM, unwind)
    try:
        yield
    except _Terminated:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        raise
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


@contextmanager
def atomic_target(path: str | os.PathLike[str], *, overwrite: bool = True) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    The file gets the permissions a plain ``open(path, "w")`` would give it (0666
    less the umask), not the 0600 of a temporary file. On any error (Ctrl-C
    included, and SIGTERM: see :func:`sigterm_cleans_up`) the temporary file is removed
    and ``path`` is left as it was. With ``overwrite=False`` an existing ``path`` (even
    one created meanwhile by another process) is never replaced: ``FileExistsError``.
    """
    target = Path(path)
    with sigterm_cleans_up():
        fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
        tmp = Path(tmp_name)
        try:
            try:
                os.fchmod(fd, default_mode())
            finally:
                os.close(fd)
            yield tmp
            if overwrite:
                os.replace(tmp, target)
            else:
                _link_no_clobber(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise


def write_json(path: str | os.PathLike[str], data: Any) -> None:
    """Write ``data`` as indented JSON, atomically."""
    with atomic_target(path) as tmp:
        tmp.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
