"""One HTTP download, bounded in time and size, that says plainly why it failed.

A per-read timeout alone lets a mirror that drips one byte every half second hold a
download for days. Here each file has an overall deadline and a minimum average rate,
watched from a second thread that closes the connection when either is missed, wherever
the transfer is stuck (connecting, the status line, the headers or the body). A file
may not grow past its known size, and a file that should be gzip but starts otherwise
(an HTML page from a proxy, a captive portal or a mirror's error page) is stopped after
its first bytes.
"""

from __future__ import annotations

import http.client
import os
import socket
import threading
import time
import urllib.error
import urllib.request
from typing import Any

__all__ = ["MIN_RATE", "DownloadError", "download", "failure_reason"]

#: Bytes per second below which a transfer is given up once ``timeout`` has passed.
MIN_RATE = 20_000
_CHUNK = 1 << 16
_GZIP_MAGIC = b"\x1f\x8b"


class DownloadError(OSError):
    """A mirror answered, but not with the file (too slow, too large, not gzip)."""

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class _Watchdog:
    """Closes the connection's sockets when the deadline passes or the rate stays too low."""

    def __init__(self, timeout: float, size_limit: int) -> None:
        self.started = time.monotonic()
        self.timeout = timeout
        # Room for the whole file at the minimum rate, after a timeout's grace.
        self.deadline = self.started + timeout + size_limit / MIN_RATE
        self.received = 0
        self.tripped = ""
        self.sockets: list[socket.socket] = []
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def verdict(self) -> str:
        """Why the transfer must stop now, or ``""``."""
        now = time.monotonic()
        elapsed = now - self.started
        if now > self.deadline:
            return f"gave up after {elapsed:.0f} s with {self.received} bytes received"
        if elapsed > self.timeout and self.received < MIN_RATE * elapsed:
            return (
                f"too slow: {self.received} bytes in {elapsed:.0f} s "
                f"(less than {MIN_RATE // 1000} kB/s)"
            )
        return ""

    def _watch(self) -> None:
        while not self._done.wait(0.2):
            verdict = self.verdict()
            if verdict:
                self.tripped = verdict
                for sock in self.sockets:
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return

    def __enter__(self) -> _Watchdog:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()


def _opener(watchdog: _Watchdog) -> urllib.request.OpenerDirector:
    """An opener whose connections register their sockets with ``watchdog``."""
    sockets = watchdog.sockets

    class WatchedHTTP(http.client.HTTPConnection):
        def connect(self) -> None:
            super().connect()
            sockets.append(self.sock)

    class WatchedHTTPS(http.client.HTTPSConnection):
        def connect(self) -> None:
            super().connect()
            sockets.append(self.sock)

    class HTTPHandler(urllib.request.HTTPHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(WatchedHTTP, req, **kwargs)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def do_open(self, http_class: Any, req: Any, **kwargs: Any) -> Any:
            return super().do_open(WatchedHTTPS, req, **kwargs)

    # Built by hand rather than with build_opener, which would add handlers for file:,
    # data: and ftp: addresses: a mirror must not redirect a download to a local file.
    opener = urllib.request.OpenerDirector()
    for handler in (
        urllib.request.ProxyHandler(),
        urllib.request.UnknownHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        urllib.request.HTTPRedirectHandler(),
        urllib.request.HTTPErrorProcessor(),
        HTTPHandler(),
        HTTPSHandler(),
    ):
        opener.add_handler(handler)
    return opener


def _not_gzip(head: bytes) -> DownloadError:
    if head.lstrip()[:1] == b"<":
        what = "an HTML page"
        reason = "a mirror sent an HTML page instead of the data (a proxy or login page?)"
    else:
        what = f"data starting with {head[:16]!r}"
        reason = "a mirror sent something other than the gzip data"
    return DownloadError(f"sent {what}, not gzip data", reason=reason)


def download(
    url: str,
    dest: str | os.PathLike[str],
    *,
    size_limit: int,
    timeout: float,
    gzip_expected: bool,
    progressbar: bool = False,
) -> int:
    """Stream ``url`` into ``dest``; return the number of bytes written.

    Raises ``OSError`` for connection and HTTP errors, and :class:`DownloadError` when the
    transfer runs past ``timeout + size_limit / MIN_RATE`` seconds, stays below
    :data:`MIN_RATE` after ``timeout`` seconds, grows past ``size_limit`` bytes, or (with
    ``gzip_expected``) does not start with gzip's magic bytes.
    """
    request = urllib.request.Request(url, headers={"User-Agent": "mitbadak"})
    bar: Any = None
    with _Watchdog(timeout, size_limit) as watchdog:
        try:
            with (
                _opener(watchdog).open(request, timeout=timeout) as response,
                # Unbuffered: a full disk shows at the write that hits it, not at close.
                open(dest, "wb", buffering=0) as out,
            ):
                announced = response.headers.get("Content-Length", "")
                if announced.isdigit() and int(announced) > size_limit:
                    raise DownloadError(
                        f"announces {announced} bytes, more than the file's {size_limit}",
                        reason="a mirror offered a file larger than the known one",
                    )
                if progressbar:
                    from tqdm import tqdm

                    total = int(announced) if announced.isdigit() else None
                    bar = tqdm(total=total, unit="B", unit_scale=True, leave=False)
                head = b""
                while chunk := response.read1(_CHUNK):
                    if gzip_expected and len(head) < 2:
                        head += chunk[:16]
                        if len(head) >= 2 and head[:2] != _GZIP_MAGIC:
                            raise _not_gzip(head)
                    watchdog.received += len(chunk)
                    if watchdog.received > size_limit:
                        raise DownloadError(
                            f"sent more than the file's {size_limit} bytes",
                            reason="a mirror sent more data than the known file has",
                        )
                    try:
                        view = memoryview(chunk)
                        while view:
                            view = view[out.write(view) or 0 :]
                    except OSError as exc:  # our disk, not the mirror
                        raise DownloadError(
                            f"cannot write {dest}: {exc.strerror}",
                            reason=f"the data folder cannot take the file ({exc.strerror})",
                        ) from exc
                    if bar is not None:
                        bar.update(len(chunk))
                    if verdict := watchdog.verdict():
                        raise DownloadError(verdict, reason="the download was too slow")
                if watchdog.tripped:  # the watchdog's shutdown reads as a normal end
                    raise DownloadError(watchdog.tripped, reason="the download was too slow")
        except Exception as exc:
            if isinstance(exc, DownloadError):
                raise
            if watchdog.tripped:
                raise DownloadError(watchdog.tripped, reason="the download was too slow") from exc
            if isinstance(exc, OSError):
                raise
            # A broken response (bad status line, chunk sizes or headers, a cut-off body):
            # http.client's own errors and the ValueErrors it lets through.
            raise DownloadError(
                f"{type(exc).__name__}: {exc}", reason="a mirror sent a broken answer"
            ) from exc
        finally:
            if bar is not None:
                bar.close()
    return watchdog.received


def failure_reason(exc: BaseException) -> str:
    """A few words saying why a download failed, for the offline fallback notice."""
    if isinstance(exc, DownloadError):
        return exc.reason
    if isinstance(exc, urllib.error.HTTPError):
        return f"a mirror answered HTTP {exc.code} {exc.reason}"
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    if isinstance(cause, socket.gaierror):
        return "no network: the mirrors' names could not be resolved"
    if isinstance(cause, TimeoutError | socket.timeout):
        return "no answer from the mirrors (timed out)"
    if isinstance(cause, ConnectionError):
        return f"no network: {cause.strerror or type(cause).__name__}"
    if isinstance(cause, OSError) and cause.strerror:
        return f"no network: {cause.strerror}"
    if isinstance(exc, ValueError) and "hash" in str(exc):
        return "a mirror sent a file whose hash is not the known one"
    return f"{type(exc).__name__}: {exc}"
