"""The JSON API of `mitbadak serve`: right answers, and a one-line 4xx for every bad request.

The server (``page_server``, in conftest) serves the book's network trained once on the
bundled sample. Answers are checked against the network itself: its probabilities, its
hidden layer, and dL/dx computed here by calling each layer's backward.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from digit_rendering import render
from mitbadak.data import load_mnist
from mitbadak.data.images import mnist_like, read_digit
from mitbadak.functions import softmax
from mitbadak.serialization import load
from mitbadak.web import ModelCatalog, make_server
from mitbadak.web.server import MAX_BODY


@pytest.fixture(scope="module")
def test_set() -> tuple[np.ndarray, np.ndarray]:
    _, (x, t) = load_mnist(dataset="mnist-sample")
    return x, t


def request(
    server: Any,
    method: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, str], Any]:
    """One request; the status, the headers and the JSON body (or the raw bytes)."""
    host, port = server.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=30)
    sent = {"Content-Type": "application/json"} if body is not None else {}
    sent.update(headers or {})
    conn.request(method, path, body=body, headers=sent)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    kind = response.getheader("Content-Type", "")
    data = json.loads(raw) if kind.startswith("application/json") else raw
    return response.status, dict(response.getheaders()), data


def predict(server: Any, payload: dict[str, Any]) -> tuple[int, Any]:
    status, _, data = request(server, "POST", "/api/predict", json.dumps(payload).encode())
    return status, data


def gray_b64(levels: np.ndarray) -> dict[str, Any]:
    h, w = levels.shape
    return {"width": w, "height": h, "gray": base64.b64encode(levels.tobytes()).decode()}


# --- answers -------------------------------------------------------------------------------


def test_the_models_are_listed_with_their_test_accuracy(page_server: Any, book_runs: Path) -> None:
    status, headers, data = request(page_server, "GET", "/api/models")
    assert status == 200 and headers["Content-Type"] == "application/json; charset=utf-8"
    history = json.loads((book_runs / "001" / "history.json").read_text())
    assert data["models"] == [
        {
            "id": "001",
            "path": str(book_runs / "001" / "model.npz"),
            "test_accuracy": history["epochs"][-1]["test_acc"],
            "dataset": "mnist-sample",
            "network": "two-layer",
        }
    ]
    assert data["default"] == "001" and data["numerical_entries"] == 6


def test_predict_and_explain_agree_with_the_network(
    page_server: Any, book_runs: Path, test_set: tuple[np.ndarray, np.ndarray]
) -> None:
    x, t = test_set
    net = load(book_runs / "001" / "model.npz")
    status, data = predict(page_server, {"pixels": x[0].tolist()})
    assert status == 200 and data["model"] == "001"
    probs = softmax(net.predict(x[:1]).astype(np.float64))[0]
    np.testing.assert_allclose(data["probabilities"], probs, rtol=1e-5, atol=1e-7)
    order = np.argsort(-probs)
    assert [e["class"] for e in data["top"]] == order[:3].tolist()
    assert data["predicted"] == order[0] == t[0] and data["class"] == t[0]
    assert data["class_from"] == "predicted"
    # The hidden layer is Relu1's output.
    (hidden,) = data["hidden"]
    relu = np.maximum(x[:1] @ net.params["W1"] + net.params["b1"], 0)[0]
    assert hidden["layer"] == "Relu1" and hidden["shape"] == [50]
    np.testing.assert_allclose(hidden["values"], relu, rtol=1e-5, atol=1e-6)
    assert hidden["active"] == int(np.count_nonzero(relu > 0))
    # dL/dx for the predicted class, by calling each layer's backward here.
    net.loss(x[:1], np.array([t[0]]))
    dout = net.last_layer.backward(1.0)
    for layer in reversed(list(net.layers.values())):
        dout = layer.backward(dout)
    np.testing.assert_allclose(data["gradient"], dout[0], rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(data["input"], x[0], atol=1e-7)
    trace = data["trace"]
    assert trace["format"] == "mitbadak-trace"
    assert [s["node"] for s in trace["backward"]] == [
        "SoftmaxWithLoss",
        "Affine2",
        "Relu1",
        "Affine1",
    ]
    assert data["loss"] == pytest.approx(-np.log(probs[t[0]]), rel=1e-5)
    checked = {c["value"]: c["checked"] for c in data["numerical"]["checked"]}
    assert checked == {"x": 6, "W1": 6, "b1": 6, "W2": 6, "b2": 6}
    assert data["numerical"]["largest_relative_error"] < 1e-6


def test_a_chosen_class_gets_its_own_backward_pass(
    page_server: Any, test_set: tuple[np.ndarray, np.ndarray]
) -> None:
    x, t = test_set
    other = (int(t[0]) + 4) % 10
    _, mine = predict(page_server, {"pixels": x[0].reshape(28, 28).tolist(), "class": other})
    _, auto = predict(page_server, {"pixels": x[0].tolist()})
    assert mine["class"] == other and mine["class_from"] == "request"
    assert mine["predicted"] == auto["predicted"] == t[0]
    assert mine["trace"]["title"].endswith(f"backward for class {other}")
    assert not np.allclose(mine["gradient"], auto["gradient"])
    _, bare = predict(page_server, {"pixels": x[0].tolist(), "explain": False})
    assert "trace" not in bare and "gradient" not in bare
    assert bare["probabilities"] == auto["probabilities"]


def test_drawings_and_files_get_the_preprocessing_of_predict(
    page_server: Any, test_set: tuple[np.ndarray, np.ndarray], tmp_path: Path
) -> None:
    x, t = test_set
    ink = np.round(255 * x[1].reshape(28, 28)).astype(np.uint8)
    sheet = render(ink, np.random.default_rng(1), ink=(30, 30, 30), paper=(250, 250, 250))
    gray = np.asarray(sheet.convert("L"))
    status, drawn = predict(page_server, {"image": gray_b64(gray)})
    assert status == 200
    np.testing.assert_array_equal(drawn["input"], mnist_like(gray / 255.0).reshape(-1))
    assert drawn["predicted"] == t[1]
    path = tmp_path / "digit.jpg"
    sheet.save(path, quality=92)
    status, read = predict(page_server, {"file": base64.b64encode(path.read_bytes()).decode()})
    assert status == 200
    np.testing.assert_array_equal(read["input"], read_digit(path).reshape(-1))
    assert read["predicted"] == t[1]


# --- bad requests ------------------------------------------------------------------------

PIXELS = [0.0] * 783 + [1.0]
BLANK = gray_b64(np.full((40, 40), 255, dtype=np.uint8))
NOT_AN_IMAGE = base64.b64encode(b"GIF89a but not really").decode()

BAD_BODIES = [
    (b"{not json", 400, "not valid JSON"),
    (b"[1, 2]", 400, "must be a JSON object, received a JSON list"),
    (b'{"pixels": [NaN]}', 400, "NaN is not a JSON number"),
    (b"\xff\xfe", 400, "not UTF-8"),
    (b"[" * 100_000 + b"]" * 100_000, 400, "not valid JSON"),
    (b"{}", 400, "give exactly one of image, file or pixels, received 0"),
    (json.dumps({"pixels": PIXELS, "file": "aGk="}), 400, "exactly one of"),
    (json.dumps({"pixels": PIXELS, "colour": 1}), 400, "unknown field 'colour'"),
    (json.dumps({"pixels": [0.5] * 100}), 400, "28x28 = 784 values, received 100 values"),
    (json.dumps({"pixels": [[0.0] * 28] * 27}), 400, "received 27 rows"),
    (json.dumps({"pixels": [2.0] * 784}), 400, "numbers from 0 to 1"),
    (json.dumps({"pixels": ["0"] * 784}), 400, "only numbers"),
    (json.dumps({"pixels": "0" * 784}), 400, "a list of 784 numbers, received str"),
    (json.dumps({"image": {"width": 10, "height": 10, "gray": "AAAA"}}), 400, "100 bytes"),
    (json.dumps({"image": {"width": 99999, "height": 1, "gray": ""}}), 400, "from 1 to 2048"),
    (json.dumps({"image": {"width": 2, "height": 2, "gray": "!!"}}), 400, "not valid base64"),
    (json.dumps({"image": {"width": 2, "height": 2, "gray": "AAAAAA==", "x": 1}}), 400, "'x'"),
    (json.dumps({"image": BLANK}), 400, "no digit found"),
    (json.dumps({"file": NOT_AN_IMAGE}), 400, "the uploaded file: not a readable"),
    (json.dumps({"pixels": PIXELS, "class": 10}), 400, "class 10 is out of range"),
    (json.dumps({"pixels": PIXELS, "class": -1}), 400, "an integer >= 0"),
    (json.dumps({"pixels": PIXELS, "class": "3"}), 400, "an integer >= 0"),
    (json.dumps({"pixels": PIXELS, "class": True}), 400, "an integer >= 0"),
    (json.dumps({"pixels": PIXELS, "explain": "yes"}), 400, "true or false"),
    (json.dumps({"pixels": PIXELS, "model": 1}), 400, "a model id (a string)"),
    (json.dumps({"pixels": PIXELS, "model": "007"}), 404, "unknown model '007'"),
    (json.dumps({"pixels": PIXELS, "model": "../001"}), 404, "the models are 001"),
    (json.dumps({"pixels": PIXELS, "model": "/etc/passwd"}), 404, "unknown model"),
    (json.dumps({"pixels": PIXELS, "model": "001/model.npz"}), 404, "unknown model"),
]


def assert_one_line_error(status: int, headers: dict[str, str], data: Any, code: int) -> str:
    assert status == code, data
    assert headers["Content-Type"].startswith("application/json")
    assert set(data) == {"error"}
    message = data["error"]
    assert message and "\n" not in message and "Traceback" not in message
    assert len(message) < 400
    return str(message)


@pytest.mark.parametrize(("body", "code", "words"), BAD_BODIES)
def test_bad_bodies_get_a_one_line_4xx(
    page_server: Any, body: bytes | str, code: int, words: str
) -> None:
    data = body.encode() if isinstance(body, str) else body
    status, headers, answer = request(page_server, "POST", "/api/predict", data)
    message = assert_one_line_error(status, headers, answer, code)
    assert words in message
    assert "mitbadak-upload" not in message and "/tmp" not in message


@pytest.mark.parametrize(
    ("method", "path", "code", "words"),
    [
        ("GET", "/api/predict", 405, "GET is not allowed on /api/predict; use POST"),
        ("POST", "/api/models", 405, "use GET, HEAD"),
        ("DELETE", "/", 405, "DELETE is not allowed"),
        ("BREW", "/api/predict", 405, "BREW is not allowed"),
        ("GET", "/nope", 404, "no such page or API route: /nope"),
        ("GET", "/static/../pyproject.toml", 404, "no such page"),
        ("GET", "/static/%2e%2e/__init__.py", 404, "no such page"),
        ("GET", "/static/analysis.py", 404, "no such page"),
        ("GET", "/runs/001/model.npz", 404, "no such page"),
    ],
)
def test_wrong_methods_and_routes(
    page_server: Any, method: str, path: str, code: int, words: str
) -> None:
    status, headers, data = request(page_server, method, path)
    assert words in assert_one_line_error(status, headers, data, code)
    if code == 405:
        assert headers["Allow"] in ("POST", "GET, HEAD")


@pytest.mark.parametrize(
    ("headers", "code", "words"),
    [
        ({"Content-Type": "text/plain"}, 415, "Content-Type: application/json"),
        ({"Host": "evil.example:80"}, 403, "only requests addressed to it"),
        ({"Origin": "http://evil.example"}, 403, "other sites"),
        ({"Content-Length": "12abc"}, 400, "bad Content-Length"),
    ],
)
def test_foreign_and_mislabelled_requests(
    page_server: Any, headers: dict[str, str], code: int, words: str
) -> None:
    body = json.dumps({"pixels": PIXELS}).encode()
    if "Content-Length" in headers:
        raw = raw_request(page_server, "POST", "/api/predict", headers, body)
        status, data = parse_raw(raw)
        assert status == code and words in data["error"]
        return
    status, answer_headers, data = request(page_server, "POST", "/api/predict", body, headers)
    assert words in assert_one_line_error(status, answer_headers, data, code)


def raw_request(
    server: Any, method: str, path: str, headers: dict[str, str], body: bytes, *, close: bool = True
) -> bytes:
    """Send exactly these bytes (no Content-Length added) and read the whole answer."""
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=30) as sock:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{k}: {v}" for k, v in {"Content-Type": "application/json", **headers}.items()]
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        if close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def parse_raw(raw: bytes) -> tuple[int, Any]:
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), json.loads(body)


def test_a_body_without_its_length_or_too_large_is_refused_unread(page_server: Any) -> None:
    status, data = parse_raw(raw_request(page_server, "POST", "/api/predict", {}, b"{}"))
    assert status == 411 and "Content-Length" in data["error"]
    chunked = {"Transfer-Encoding": "chunked"}
    status, data = parse_raw(raw_request(page_server, "POST", "/api/predict", chunked, b"0\r\n"))
    assert status == 411
    # 1 GB announced, nothing sent, the connection left open: refused at once.
    huge = {"Content-Length": str(1 << 30)}
    started = time.monotonic()
    raw = raw_request(page_server, "POST", "/api/predict", huge, b"", close=False)
    status, data = parse_raw(raw)
    assert status == 413 and f"the most accepted is {MAX_BODY:,}" in data["error"]
    assert time.monotonic() - started < 5
    # A body that ends early.
    short = {"Content-Length": "100"}
    status, data = parse_raw(raw_request(page_server, "POST", "/api/predict", short, b'{"a"'))
    assert status == 400 and "the body ended after 4 of 100 bytes" in data["error"]


@pytest.fixture
def quick_server(book_runs: Path) -> Iterator[Any]:
    """A server whose clients get half a second for each piece and one for the body."""
    server = make_server(
        ModelCatalog(book_runs), log=io.StringIO(), socket_seconds=0.5, body_seconds=1.0
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_slow_clients_neither_hang_nor_stop_the_server(quick_server: Any) -> None:
    host, port = quick_server.server_address[:2]
    # One client sends half a request line and waits; another sends a third of its body.
    idle = socket.create_connection((host, port))
    idle.sendall(b"POST /api/pre")
    stalled = socket.create_connection((host, port))
    head = f"POST /api/predict HTTP/1.1\r\nHost: {host}:{port}\r\n"
    head += "Content-Type: application/json\r\nContent-Length: 300\r\n\r\n"
    stalled.sendall(head.encode() + b'{"pixels": [' + b"0," * 40)
    # Meanwhile everyone else is answered.
    for _ in range(3):
        status, _, _ = request(quick_server, "GET", "/api/models")
        assert status == 200
    stalled.settimeout(10)
    answer = b""
    while chunk := stalled.recv(4096):
        answer += chunk
    assert parse_raw(answer) == (408, {"error": "the body took too long to arrive"})
    idle.settimeout(10)
    assert idle.recv(4096) == b""  # the idle one is dropped after its timeout
    idle.close()
    stalled.close()
    status, _, _ = request(quick_server, "GET", "/api/models")
    assert status == 200
    log = quick_server.log.getvalue()
    assert "Traceback" not in log and "408" in log


def test_the_page_and_its_files_are_served_from_the_package(page_server: Any) -> None:
    status, headers, page = request(page_server, "GET", "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert b'<canvas id="pad"' in page
    for name, kind in [("draw.js", "javascript"), ("explain.js", "javascript")]:
        status, headers, text = request(page_server, "GET", f"/static/{name}")
        assert status == 200 and kind in headers["Content-Type"] and len(text) > 1000
    # The very viewer `mitbadak explain --html` inlines: one renderer, not two.
    from mitbadak.explain.page import static_text

    _, _, served = request(page_server, "GET", "/static/explain.js")
    assert served.decode() == static_text("explain.js")
    status, headers, body = request(page_server, "HEAD", "/")
    assert status == 200 and body == b"" and int(headers["Content-Length"]) == len(page)


def test_errors_are_logged_in_one_line_without_a_traceback(page_server: Any) -> None:
    request(page_server, "POST", "/api/predict", b"{oops")
    request(page_server, "GET", "/missing")
    log = page_server.log.getvalue()
    assert "Traceback" not in log
    assert "POST /api/predict: 400 the body is not valid JSON" in log
    assert "GET /missing: 404 no such page or API route: /missing" in log


def test_a_convnet_of_fashion_mnist_gets_names_and_feature_maps(tmp_path: Path) -> None:
    from mitbadak.data.mnist import class_names
    from mitbadak.models import SimpleConvNet
    from mitbadak.serialization import save

    net = SimpleConvNet(
        conv_param={"filter_num": 20, "filter_size": 5, "pad": 0, "stride": 1},
        hidden_size=30,
        weight_init_std=0.1,
        rng=np.random.default_rng(0),
    )
    names = class_names("fashion-mnist")
    assert names is not None
    save(net, tmp_path / "runs" / "conv" / "model.npz", metadata={"class_names": names})
    log = io.StringIO()
    server = make_server(ModelCatalog(tmp_path / "runs"), log=log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        pixels = np.random.default_rng(1).random(784).tolist()
        status, data = predict(server, {"pixels": pixels, "class": 9})
    finally:
        server.shutdown()
        server.server_close()
    assert status == 200 and data["model"] == "conv"
    assert [e["name"] for e in data["top"]] == [names[e["class"]] for e in data["top"]]
    first, second = data["hidden"]
    assert first["shape"] == [20, 24, 24] and first["shown_shape"] == [16, 24, 24]
    assert len(first["values"]) == 16 * 24 * 24
    assert second["shape"] == [30]
    assert data["class"] == 9 and len(data["gradient"]) == 784
    assert data["trace"]["title"].endswith("backward for class 9 (Ankle boot)")
    assert "Traceback" not in log.getvalue()


def test_huge_integers_and_an_empty_model_name_are_a_400(page_server: Any) -> None:
    digits = "9" * 5000
    for body in (
        '{"pixels": [' + digits + "]}",
        '{"pixels": [' + ",".join(["0"] * 784) + '], "class": ' + digits + "}",
    ):
        status, _, data = request(page_server, "POST", "/api/predict", body.encode())
        assert status == 400 and "integer of 5,000 digits" in data["error"]
    status, data = predict(page_server, {"pixels": [0.0] * 784, "model": ""})
    assert status == 400 and "empty model name" in data["error"]


def test_an_absolute_target_naming_another_host_is_refused(page_server: Any) -> None:
    host, port = page_server.server_address[:2]
    ours = {"Host": f"{host}:{port}"}
    status, _, data = request(page_server, "GET", "http://example.com/api/models", headers=ours)
    assert status == 421 and "another host" in data["error"]
    status, _, _ = request(page_server, "GET", f"http://{host}:{port}/api/models")
    assert status == 200


class _Writes:
    """A log that records every write call, to see whether a line came in one piece."""

    def __init__(self) -> None:
        self.writes: list[str] = []
        self.lock = threading.Lock()

    def write(self, text: str) -> int:
        with self.lock:
            self.writes.append(text)
        time.sleep(0.001)  # widen the window in which another thread could write
        return len(text)

    def flush(self) -> None:
        pass


def test_concurrent_errors_are_logged_one_whole_line_each(book_runs: Path) -> None:
    log = _Writes()
    server = make_server(ModelCatalog(book_runs), log=log, header_seconds=1.0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        host, port = server.server_address[:2]
        workers = [
            threading.Thread(target=request, args=(server, "GET", f"/missing{i}"))
            for i in range(20)
        ]
        for w in workers:
            w.start()
        for w in workers:
            w.join(timeout=30)
        lines = "".join(log.writes).splitlines()
        assert len(lines) == 20 and all(
            line.startswith("mitbadak serve: GET /missing") for line in lines
        )
        assert all(w.endswith("\n") and w.count("\n") == 1 for w in log.writes)
        # 300 connections at once are all accepted (the backlog is not 5).
        assert server.request_queue_size >= 300
        # A client dripping its headers is cut at the header deadline.
        drip = socket.create_connection((str(host), port))
        drip.sendall(b"GET /api/models HTTP/1.1\r\n")
        drip.settimeout(0.3)
        started = time.monotonic()
        closed = False
        while time.monotonic() - started < 15:
            try:
                drip.sendall(b"X-A: b\r\n")
                if drip.recv(4096) == b"":
                    closed = True
                    break
            except TimeoutError:
                continue
            except OSError:
                closed = True
                break
        drip.close()
        assert closed
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
