"""The page's HTTP server: the standard library's ``ThreadingHTTPServer``, on this machine.

Routes: ``GET /`` (the page), ``GET /static/<file>`` (its script and style, and explain's
viewer), ``GET /api/models`` and ``POST /api/predict`` (see the README). Every error is a
JSON object ``{"error": "one line"}`` with a 4xx status (5xx only for a fault of the
server's own, such as a model file that cannot be read), never a traceback.

One bad client cannot stop the server or hold it up: each connection has its own thread
and a socket timeout, a body is refused by its declared length before any of it is read,
the whole body must arrive within :data:`BODY_SECONDS`, and requests must name this
machine as their host (a page elsewhere cannot reach the server by DNS rebinding).
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from mitbadak.explain.page import static_text
from mitbadak.web.analysis import NUMERICAL_ENTRIES, ClassOutOfRange, analyse
from mitbadak.web.api import ApiError, parse_json, parse_predict
from mitbadak.web.catalog import ModelCatalog, UnknownModelError

__all__ = ["BODY_SECONDS", "MAX_BODY", "PageServer", "make_server"]

#: The largest request body read (a phone photo, base64-encoded, fits).
MAX_BODY = 16 * 1024 * 1024
#: Seconds a client has to send the whole body; and to send each piece of a request.
BODY_SECONDS = 20.0
SOCKET_SECONDS = 10.0
#: Seconds a client has to send its request line and all its headers.
HEADER_SECONDS = 20.0

#: Files served under /static/: the page's own, and explain's viewer (the same two files
#: `mitbadak explain --html` inlines).
_STATIC = {
    "draw.js": ("web", "application/javascript"),
    "draw.css": ("web", "text/css"),
    "explain.js": ("explain", "application/javascript"),
    "explain.css": ("explain", "text/css"),
}
_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _static(name: str) -> bytes:
    package, _ = _STATIC[name]
    if package == "explain":
        return static_text(name).encode("utf-8")
    return resources.files("mitbadak.web").joinpath("static", name).read_bytes()


def _page() -> bytes:
    return resources.files("mitbadak.web").joinpath("static", "index.html").read_bytes()


class PageServer(ThreadingHTTPServer):
    """A threading HTTP server holding the model catalogue and the page's settings."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 512  # connections waiting (the standard library's 5 refuses a burst)

    def __init__(
        self,
        address: tuple[str, int],
        catalog: ModelCatalog,
        *,
        default_model: str | None = None,
        numerical_entries: int | None = NUMERICAL_ENTRIES,
        log: Any = None,
        socket_seconds: float = SOCKET_SECONDS,
        body_seconds: float = BODY_SECONDS,
        header_seconds: float = HEADER_SECONDS,
    ) -> None:
        self.catalog = catalog
        self.default_model = default_model
        self.numerical_entries = numerical_entries
        self.log = sys.stderr if log is None else log
        self.socket_seconds = socket_seconds
        self.body_seconds = body_seconds
        self.header_seconds = header_seconds
        #: Held while an uploaded file is decoded: one at a time (see parse_predict).
        self.file_lock = threading.Lock()
        self.log_lock = threading.Lock()  # one whole line per error, whatever the threads
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Handler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{f'[{name}]' if ':' in name else name}:{port}/"

    def allowed_host(self, header: str | None) -> bool:
        """Whether a Host header (``name[:port]``) names this server; any host does when
        the server listens on every address."""
        host = str(self.server_address[0])
        if host in ("0.0.0.0", "::"):
            return True
        text = (header or "").strip().lower()
        if text.startswith("["):
            name, _, rest = text.partition("]")
            name, port = name + "]", rest[1:] if rest.startswith(":") else "80"
        else:
            name, colon, port = text.partition(":")
            port = port if colon else "80"
        return port == str(self.server_address[1]) and name in (*_LOOPBACK, host, f"[{host}]")

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that went away mid-request is not worth a traceback.
        exc = sys.exc_info()[1]
        self.write_log(f"{client_address[0]}: {type(exc).__name__}: {exc}")

    def write_log(self, text: str) -> None:
        """One line in the log, whole, whatever other threads write."""
        line = "mitbadak serve: " + " ".join(text.split()) + "\n"
        with self.log_lock:
            self.log.write(line), self.log.flush()


def make_server(
    catalog: ModelCatalog,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    default_model: str | None = None,
    numerical_entries: int | None = NUMERICAL_ENTRIES,
    log: Any = None,
    socket_seconds: float = SOCKET_SECONDS,
    body_seconds: float = BODY_SECONDS,
    header_seconds: float = HEADER_SECONDS,
) -> PageServer:
    """A :class:`PageServer` listening on ``host:port`` (port 0: a free one); call its
    ``serve_forever()`` to answer, ``shutdown()`` from another thread to stop.

    ``default_model``: the id requests without one get (default: the newest run);
    ``numerical_entries``: see :func:`~mitbadak.web.analysis.analyse`; ``log``: where
    errors are written, one line each (default: stderr); ``socket_seconds``: the longest
    wait for any piece of a request; ``body_seconds``: for the whole body;
    ``header_seconds``: for the request line and all the headers.
    """
    return PageServer(
        (host, port),
        catalog,
        default_model=default_model,
        numerical_entries=numerical_entries,
        log=log,
        socket_seconds=socket_seconds,
        body_seconds=body_seconds,
        header_seconds=header_seconds,
    )


class _Handler(BaseHTTPRequestHandler):
    server: PageServer
    server_version = "mitbadak"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.socket_seconds)
        self._header_timer: threading.Timer | None = None

    def handle_one_request(self) -> None:
        # A client dripping its headers a byte at a time never trips the socket timeout:
        # the request line and headers have one deadline, after which the connection is cut.
        self._header_timer = timer = threading.Timer(self.server.header_seconds, self._drop)
        timer.daemon = True
        timer.start()
        try:
            super().handle_one_request()
        finally:
            timer.cancel()

    def parse_request(self) -> bool:
        ok = super().parse_request()
        if self._header_timer is not None:
            self._header_timer.cancel()
        return ok

    def _drop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def __getattr__(self, name: str) -> Any:
        # Any method at all reaches the router, which answers 405 to those it does not
        # take (http.server alone would answer 501 to a method it has no do_ for).
        if name.startswith("do_"):
            return self._route
        raise AttributeError(name)

    # --- responses ---------------------------------------------------------------------

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, **headers: str) -> None:
        body = json.dumps(data, allow_nan=False, ensure_ascii=False, separators=(",", ":"))
        self._send(status, body.encode("utf-8"), "application/json; charset=utf-8", **headers)

    def _error(self, status: int, message: str, **headers: str) -> None:
        text = " ".join(message.split())
        self.log_error("%d %s", status, text)
        self.close_connection = True
        self._json(status, {"error": text}, Connection="close", **headers)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own errors (a malformed request line, too many headers, an
        unknown method) as JSON too."""
        self._error(code, message or HTTPStatus(code).phrase)

    def log_message(self, format: str, *args: Any) -> None:
        # Quiet when all is well: errors only (log_error), one line each.
        pass

    def log_error(self, format: str, *args: Any) -> None:
        where = f"{self.command or '-'} {getattr(self, 'path', '-')[:200]}"
        self.server.write_log(f"{where}: {format % args}")

    # --- routing -----------------------------------------------------------------------

    def _route(self) -> None:
        try:
            if not self.server.allowed_host(self.headers.get("Host")):
                raise ApiError(
                    HTTPStatus.FORBIDDEN, "this server answers only requests addressed to it"
                )
            target = urlsplit(self.path)
            if (target.scheme or target.netloc) and not (
                target.scheme == "http" and self.server.allowed_host(target.netloc)
            ):
                raise ApiError(HTTPStatus.MISDIRECTED_REQUEST, "the request names another host")
            path = target.path
            routes = {
                "/": {"GET": self._get_page},
                "/index.html": {"GET": self._get_page},
                "/api/models": {"GET": self._get_models},
                "/api/predict": {"POST": self._post_predict},
            }
            if path.startswith("/static/") and path[len("/static/") :] in _STATIC:
                routes[path] = {"GET": self._get_static}
            if path not in routes:
                raise ApiError(HTTPStatus.NOT_FOUND, f"no such page or API route: {path[:100]}")
            methods = dict(routes[path])
            if "GET" in methods:
                methods["HEAD"] = methods["GET"]
            if self.command not in methods:
                allowed = ", ".join(methods)
                self._error(
                    HTTPStatus.METHOD_NOT_ALLOWED,
                    f"{self.command} is not allowed on {path}; use {allowed}",
                    Allow=allowed,
                )
                return
            methods[self.command]()
        except ApiError as exc:
            self._error(exc.status, exc.message)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception as exc:  # a fault of ours: one line, and the server goes on
            message = " ".join(f"{type(exc).__name__}: {exc}".split())[:300]
            self._error(HTTPStatus.INTERNAL_SERVER_ERROR, f"internal error: {message}")

    # --- reading the body ----------------------------------------------------------------

    def _body(self) -> bytes:
        """The request body: a declared length within :data:`MAX_BODY`, all of it in time."""
        if self.headers.get("Transfer-Encoding"):
            raise ApiError(HTTPStatus.LENGTH_REQUIRED, "send the body with a Content-Length")
        declared = self.headers.get("Content-Length")
        if declared is None:
            raise ApiError(HTTPStatus.LENGTH_REQUIRED, "a POST needs a Content-Length header")
        if not declared.strip().isdigit():
            raise ApiError(HTTPStatus.BAD_REQUEST, f"bad Content-Length {declared[:40]!r}")
        length = int(declared)
        if length > MAX_BODY:
            raise ApiError(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE,
                f"the body is {length:,} bytes; the most accepted is {MAX_BODY:,}",
            )
        content_type = self.headers.get_content_type()
        if content_type != "application/json":
            raise ApiError(
                HTTPStatus.UNSUPPORTED_MEDIA_TYPE,
                f"send JSON with Content-Type: application/json, received {content_type}",
            )
        deadline = time.monotonic() + self.server.body_seconds
        chunks, remaining = [], length
        while remaining:
            if time.monotonic() > deadline:
                raise ApiError(HTTPStatus.REQUEST_TIMEOUT, "the body took too long to arrive")
            try:
                chunk = self.rfile.read1(min(remaining, 1 << 16))
            except TimeoutError:
                raise ApiError(
                    HTTPStatus.REQUEST_TIMEOUT, "the body took too long to arrive"
                ) from None
            if not chunk:
                raise ApiError(
                    HTTPStatus.BAD_REQUEST,
                    f"the body ended after {length - remaining:,} of {length:,} bytes",
                )
            chunks.append(chunk)
            remaining -= len(chunk)
        return b"".join(chunks)

    # --- the routes --------------------------------------------------------------------

    def _get_page(self) -> None:
        self._send(
            HTTPStatus.OK,
            _page(),
            "text/html; charset=utf-8",
            Content_Security_Policy=_POLICY,
            Referrer_Policy="no-referrer",
        )

    def _get_static(self) -> None:
        name = urlsplit(self.path).path[len("/static/") :]
        self._send(HTTPStatus.OK, _static(name), f"{_STATIC[name][1]}; charset=utf-8")

    def _get_models(self) -> None:
        catalog = self.server.catalog
        entries = catalog.entries()
        default = self.server.default_model
        if default is None or default not in {e.id for e in entries}:
            default = catalog.default_id()
        self._json(
            HTTPStatus.OK,
            {
                "models": [e.to_dict() for e in entries],
                "default": default,
                "numerical_entries": self.server.numerical_entries,
            },
        )

    def _post_predict(self) -> None:
        origin = self.headers.get("Origin")
        if origin and not self.server.allowed_host(urlsplit(origin).netloc):
            raise ApiError(HTTPStatus.FORBIDDEN, "requests from other sites are not answered")
        body = self._body()
        started = time.perf_counter()  # the answer's own time: reading the image onwards
        request = parse_predict(parse_json(body), file_lock=self.server.file_lock)
        catalog = self.server.catalog
        model_id = request.model or self.server.default_model or catalog.default_id()
        if model_id is None:
            raise ApiError(HTTPStatus.NOT_FOUND, "there is no model: train one with mitbadak train")
        try:
            loaded = catalog.load(model_id)
        except UnknownModelError as exc:
            raise ApiError(HTTPStatus.NOT_FOUND, str(exc)) from None
        except (ValueError, OSError) as exc:
            self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, f"model {model_id!r} cannot be loaded: {exc}"
            )
            return
        with loaded.lock:
            try:
                result = analyse(
                    loaded.net,
                    request.x,
                    label=request.label,
                    explain=request.explain,
                    numerical_entries=self.server.numerical_entries,
                    class_names=loaded.class_names,
                    source=request.source,
                )
            except ClassOutOfRange as exc:
                raise ApiError(HTTPStatus.BAD_REQUEST, str(exc)) from None
            except ValueError as exc:
                raise ApiError(
                    HTTPStatus.UNPROCESSABLE_ENTITY,
                    f"model {model_id!r} cannot take a 28x28 image: {exc}",
                ) from None
        milliseconds = round(1000 * (time.perf_counter() - started), 1)
        self._json(
            HTTPStatus.OK, {"model": loaded.entry.id, **result, "milliseconds": milliseconds}
        )
