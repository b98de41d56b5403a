"""Tests for downloads: mirror failover, hash rejection and error reports, against a local server.

The server (http.server on 127.0.0.1, port 0, in a thread) serves the same tiny dataset
under several prefixes: /good/ as made, /bad/ with every file corrupted, /short/ cut off
half-way through the body, and nothing at all under /missing/ (404). Misbehaving mirrors:
/drip/ sends the body one byte every 0.2 s, /driphead/ even its status line; /html/ answers
with a login page; /long/ sends the file and then more, /huge/ announces 1 GB; /tofile/
redirects to a local file, /badchunk/ sends a malformed chunked body.
"""

from __future__ import annotations

import functools
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pooch
import pytest

from child_signals import default_signals
from data_helpers import make_arrays, tiny_source, write_mnist_files
from mitbadak.data import (
    ENV_VAR,
    MNIST_FILES,
    DataSource,
    DataUnavailableError,
    cache_dir,
    fetch,
    load_mnist,
    locate,
)
from mounts import tmpfs

X_TRAIN, T_TRAIN, X_TEST, T_TEST = MNIST_FILES.values()


@dataclass
class Server:
    url: str
    root: Path
    source_hashes: dict[str, str]
    arrays: dict[str, np.ndarray]
    requests: list[str] = field(default_factory=list)

    def source(self, *prefixes: str, name: str = "tiny") -> DataSource:
        return tiny_source(self.source_hashes, tuple(f"{self.url}/{p}/" for p in prefixes), name)


#: How long a dripping mirror keeps dripping before it hangs up (the client, not this,
#: must be what ends a test).
DRIP_SECONDS = 20


class _Handler(http.server.SimpleHTTPRequestHandler):
    log: list[str]

    def _good_body(self) -> bytes:
        return (Path(self.directory) / "good" / Path(self.path).name).read_bytes()

    def _drip(self, data: bytes) -> None:
        stop = time.monotonic() + DRIP_SECONDS
        for byte in data:
            if time.monotonic() > stop:
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:  # the client gave up: what we want
                return
            time.sleep(0.2)

    def do_GET(self) -> None:
        self.log.append(self.path)
        prefix = self.path.split("/")[1]
        if prefix == "tofile":
            self.send_response(302)
            self.send_header("Location", "file:///etc/hostname")
            self.end_headers()
            return
        if prefix == "badchunk":
            self.close_connection = True
            self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n")
            return
        if prefix in ("drip", "driphead", "html", "long", "huge"):
            self.close_connection = True
            body = self._good_body()
            if prefix == "driphead":
                head = f"HTTP/1.0 200 OK\r\nContent-Length: {len(body)}\r\n\r\n"
                self._drip(head.encode() + body)
                return
            if prefix == "html":
                body = b"<!DOCTYPE html><html><body>Please log in to the Wi-Fi</body></html>"
            self.send_response(200)
            if prefix == "huge":
                self.send_header("Content-Length", str(10**9))
            self.end_headers()
            if prefix == "drip":
                self._drip(body)
            elif prefix == "long":
                self.wfile.write(body + bytes(1 << 20))
            else:
                self.wfile.write(body)
            return
        if self.path.startswith("/short/"):
            # Promise the whole file, send half, hang up: a download cut off mid-way.
            body = (Path(self.directory) / "good" / Path(self.path).name).read_bytes()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2])
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep the test output clean


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("www")
    arrays = make_arrays()
    hashes = write_mnist_files(root / "good", arrays)
    (root / "bad").mkdir()
    for fname in MNIST_FILES.values():
        raw = bytearray((root / "good" / fname).read_bytes())
        raw[len(raw) // 2] ^= 0xFF
        (root / "bad" / fname).write_bytes(bytes(raw))
    log: list[str] = []
    handler = type("Handler", (_Handler,), {"log": log})
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.daemon = True
    thread.start()
    try:
        port = httpd.server_address[1]
        yield Server(
            url=f"http://127.0.0.1:{port}",
            root=root,
            source_hashes=hashes,
            arrays=arrays,
            requests=log,
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


@pytest.fixture(autouse=True)
def offline_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: Server) -> Path:
    """Private cache folder; no proxy between us and 127.0.0.1; fresh request log."""
    folder = tmp_path / "cache"
    monkeypatch.setenv(ENV_VAR, str(folder))
    for var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    server.requests.clear()
    return folder


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_failover_404_then_corrupt_then_good(server: Server, tmp_path: Path) -> None:
    source = server.source("missing", "bad", "good")
    dest = tmp_path / "dl"
    paths = fetch(source, dest, progressbar=False, timeout=5)
    assert sorted(paths) == sorted(MNIST_FILES.values())
    assert leftovers(dest) == sorted(MNIST_FILES.values())  # no temporary files
    for fname, path in paths.items():
        assert path == dest / fname
        assert path.read_bytes() == (server.root / "good" / fname).read_bytes()
    # Each file was asked of every mirror in order, and the good one won.
    assert server.requests[:3] == [f"/missing/{X_TRAIN}", f"/bad/{X_TRAIN}", f"/good/{X_TRAIN}"]
    assert len(server.requests) == 12


def test_load_mnist_downloads_into_cache(server: Server, offline_env: Path) -> None:
    source = server.source("missing", "bad", "good")
    (x, t), (x_test, t_test) = load_mnist(normalize=False, flatten=False, dataset=source)
    np.testing.assert_array_equal(x[:, 0], server.arrays["x_train"])
    np.testing.assert_array_equal(t, server.arrays["t_train"])
    np.testing.assert_array_equal(x_test[:, 0], server.arrays["x_test"])
    np.testing.assert_array_equal(t_test, server.arrays["t_test"])
    assert cache_dir() == offline_env
    assert leftovers(offline_env / "tiny") == sorted(MNIST_FILES.values())
    # Loaded again: from the parsed-array cache, with no request at all.
    server.requests.clear()
    load_mnist(dataset=source)
    assert server.requests == []


def test_corrupt_only_mirror_is_rejected_and_leaves_nothing(server: Server, tmp_path: Path) -> None:
    source = server.source("bad")
    dest = tmp_path / "dl"
    with pytest.raises(DataUnavailableError) as info:
        fetch(source, dest, progressbar=False, timeout=5)
    message = str(info.value)
    assert f"{server.url}/bad/{X_TRAIN}" in message
    assert "hash" in message.lower()
    assert leftovers(dest) == []  # neither the bad file nor pooch's temporary file


def test_error_lists_every_address_tried(server: Server, offline_env: Path) -> None:
    source = server.source("missing", "bad", "short")
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(dataset=source)
    message = str(info.value)
    for prefix in ("missing", "bad", "short"):
        assert f"{server.url}/{prefix}/{X_TRAIN}" in message
    assert "404" in message
    assert "does not match the known hash" in message
    # What to do instead.
    assert "data_dir=" in message and ENV_VAR in message and 'dataset="mnist-sample"' in message
    assert leftovers(offline_env / "tiny") == []


def test_cut_off_download_leaves_nothing(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    with pytest.raises(DataUnavailableError, match=f"/short/{X_TRAIN}"):
        fetch(server.source("short"), dest, progressbar=False, timeout=5)
    assert leftovers(dest) == []


def test_pooch_deletes_download_with_wrong_hash(server: Server, tmp_path: Path) -> None:
    # The behaviour fetch() relies on, checked directly.
    dest = tmp_path / "dl"
    with pytest.raises(ValueError, match="does not match the known hash"):
        pooch.retrieve(
            f"{server.url}/bad/{T_TEST}",
            known_hash=server.source_hashes[T_TEST],
            fname=T_TEST,
            path=dest,
            progressbar=False,
        )
    assert leftovers(dest) == []


def test_no_mirrors_at_all(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError, match="no mirrors configured"):
        fetch(server.source(), tmp_path / "dl", progressbar=False)


def test_corrupt_cached_download_is_replaced(server: Server, offline_env: Path) -> None:
    source = server.source("good")
    folder = offline_env / "tiny"
    folder.mkdir(parents=True)
    (folder / T_TRAIN).write_bytes(b"<html>captive portal</html>")
    paths = locate(source, progressbar=False)
    assert paths[T_TRAIN] == folder / T_TRAIN
    assert (folder / T_TRAIN).read_bytes() == (server.root / "good" / T_TRAIN).read_bytes()
    assert f"/good/{T_TRAIN}" in server.requests
    (_, t), _ = load_mnist(dataset=source, download=False)
    np.testing.assert_array_equal(t, server.arrays["t_train"])


def test_corrupt_cached_download_deleted_even_if_mirrors_fail(
    server: Server, offline_env: Path
) -> None:
    folder = offline_env / "tiny"
    folder.mkdir(parents=True)
    (folder / T_TRAIN).write_bytes(b"junk")
    with pytest.raises(DataUnavailableError):
        locate(server.source("missing"), progressbar=False)
    assert not (folder / T_TRAIN).exists()


def test_data_dir_files_used_and_only_missing_downloaded(
    server: Server, tmp_path: Path, offline_env: Path
) -> None:
    data_dir = tmp_path / "mine"
    write_mnist_files(data_dir, server.arrays)
    (data_dir / X_TEST).unlink()
    paths = locate(server.source("good"), data_dir, progressbar=False)
    assert server.requests == [f"/good/{X_TEST}"]
    assert paths[X_TEST] == offline_env / "tiny" / X_TEST  # into the cache, not data_dir
    assert paths[X_TRAIN] == data_dir / X_TRAIN
    assert not (data_dir / X_TEST).exists()


def test_unwritable_download_folder_is_data_unavailable(
    server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setenv(ENV_VAR, str(blocker / "cache"))
    with pytest.raises(DataUnavailableError, match="cannot create the download folder"):
        load_mnist(dataset=server.source("good"))
    assert server.requests == []


def test_fetch_rejects_unknown_names(server: Server, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match=r"unknown file\(s\) \['x.gz'\]"):
        fetch(server.source("good"), tmp_path, ["x.gz"])


# --- misbehaving mirrors: bounded waits, sizes, plain reasons ---------------------------------


@pytest.mark.parametrize("prefix", ["drip", "driphead"])
def test_dripping_mirror_is_given_up_and_the_next_one_used(
    prefix: str, server: Server, tmp_path: Path
) -> None:
    # With a 1 s timeout a mirror below 20 kB/s is dropped after about a second, not after
    # the DRIP_SECONDS it would keep going.
    source = server.source(prefix, "good")
    paths = fetch(source, tmp_path / "dl", [T_TEST], progressbar=False, timeout=1)
    assert paths[T_TEST].read_bytes() == (server.root / "good" / T_TEST).read_bytes()
    assert server.requests == [f"/{prefix}/{T_TEST}", f"/good/{T_TEST}"]
    with pytest.raises(DataUnavailableError) as info:
        fetch(server.source(prefix), tmp_path / "dl2", [T_TEST], progressbar=False, timeout=1)
    assert "too slow" in str(info.value), str(info.value)[:600]
    assert info.value.reason == "the download was too slow"
    assert leftovers(tmp_path / "dl2") == []


def test_html_page_is_stopped_and_named_as_the_cause(server: Server, tmp_path: Path) -> None:
    with pytest.raises(DataUnavailableError) as info:
        fetch(server.source("html"), tmp_path / "dl", [T_TEST], progressbar=False, timeout=5)
    assert "HTML page" in str(info.value)
    assert "HTML page instead of the data" in info.value.reason
    assert leftovers(tmp_path / "dl") == []


@pytest.mark.parametrize(("prefix", "needle"), [("long", "sent more than"), ("huge", "announces")])
def test_download_larger_than_the_known_size_is_stopped(
    prefix: str, needle: str, server: Server, tmp_path: Path
) -> None:
    sizes = {f: (server.root / "good" / f).stat().st_size for f in MNIST_FILES.values()}
    source = DataSource(
        name="sized",
        files=server.source_hashes,
        mirrors=(f"{server.url}/{prefix}/",),
        sizes=sizes,
    )
    with pytest.raises(DataUnavailableError, match=needle) as info:
        fetch(source, tmp_path / "dl", [X_TRAIN], progressbar=False, timeout=5)
    assert "larger than the known" in info.value.reason or "more data" in info.value.reason
    assert leftovers(tmp_path / "dl") == []


def test_known_sizes_are_the_mirrors_files(fashion_dir: Path) -> None:
    from mitbadak.data import FASHION_MNIST, MNIST

    assert set(MNIST.sizes) == set(MNIST.files) == set(FASHION_MNIST.sizes)
    # Debian's copies lack only the gzip name field: the file name and its NUL.
    for fname, size in FASHION_MNIST.sizes.items():
        assert size == (fashion_dir / fname).stat().st_size + len(fname.removesuffix(".gz")) + 1


def test_downloaded_files_honour_the_umask(server: Server, tmp_path: Path) -> None:
    old = os.umask(0o002)
    try:
        paths = fetch(server.source("good"), tmp_path / "dl", progressbar=False, timeout=5)
    finally:
        os.umask(old)
    for path in paths.values():
        assert path.stat().st_mode & 0o777 == 0o664, path


def test_files_in_data_dir_are_checked_even_when_cached(server: Server, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    write_mnist_files(folder, server.arrays)
    source = server.source("good")
    load_mnist(dataset=source, data_dir=folder, download=False)  # now cached
    damaged = bytearray((folder / T_TEST).read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    (folder / T_TEST).write_bytes(bytes(damaged))
    with pytest.raises(ValueError, match=f"{T_TEST}: hash"):
        load_mnist(dataset=source, data_dir=folder, download=False)
    with pytest.raises(ValueError, match="is not a folder"):
        load_mnist(dataset=source, data_dir=tmp_path / "typo", download=False)


_SIGTERM_SCRIPT = """
import sys
from pathlib import Path
from mitbadak.data import DataSource, fetch
hashes = dict(arg.split("=", 1) for arg in sys.argv[3:])
source = DataSource(name="t", files=hashes, mirrors=(sys.argv[1],))
fetch(source, Path(sys.argv[2]), ["{name}"], progressbar=False, timeout=30)
"""


def test_sigterm_during_a_download_leaves_no_temporary_file(server: Server, tmp_path: Path) -> None:
    dest = tmp_path / "dl"
    hashes = [f"{name}={digest}" for name, digest in server.source_hashes.items()]
    script = _SIGTERM_SCRIPT.format(name=X_TRAIN)
    env = {**os.environ, "NO_PROXY": "127.0.0.1"}
    proc = subprocess.Popen(
        [sys.executable, "-c", script, f"{server.url}/drip/", str(dest), *hashes],
        env=env,
        preexec_fn=default_signals,
    )
    try:
        # The download has begun once pooch's temporary file exists; then stop it.
        for _ in range(600):
            if leftovers(dest):
                break
            time.sleep(0.05)
        assert leftovers(dest), "the download never started"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert leftovers(dest) == []


_CLI_SCRIPT = """
import sys
from mitbadak.data import sources
from mitbadak.cli import main
hashes = dict(arg.split("=", 1) for arg in sys.argv[2:])
# MNIST as the command line knows it, served by the test's dripping mirror.
sources.SOURCES["mnist"] = sources.DataSource(name="mnist", files=hashes, mirrors=(sys.argv[1],))
sys.exit(main(["train", "--dataset", "mnist", "--no-progress", "--out", "run"]))
"""


def test_sigterm_while_train_downloads_leaves_nothing(server: Server, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    hashes = [f"{name}={digest}" for name, digest in server.source_hashes.items()]
    env = {**os.environ, "NO_PROXY": "127.0.0.1", ENV_VAR: str(cache)}
    proc = subprocess.Popen(
        [sys.executable, "-c", _CLI_SCRIPT, f"{server.url}/drip/", *hashes],
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,
    )
    try:
        for _ in range(600):
            if leftovers(cache / "mnist"):
                break
            time.sleep(0.05)
        assert leftovers(cache / "mnist"), "the download never started"
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == 143, err
    assert err.strip() == "mitbadak: stopped by SIGTERM"
    assert leftovers(cache / "mnist") == []
    assert not (tmp_path / "run").exists()


def test_a_full_data_folder_is_named_as_the_cause(server: Server, tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "8k") as disk:
        with pytest.raises(DataUnavailableError) as info:
            fetch(server.source("good"), disk / "dl", [X_TRAIN], progressbar=False, timeout=5)
        assert "No space left on device" in info.value.reason and "network" not in info.value.reason
        assert leftovers(disk / "dl") == []


@pytest.mark.parametrize(
    ("prefix", "reason"),
    [("tofile", "HTTP 302"), ("badchunk", "a mirror sent a broken answer")],
)
def test_redirects_to_local_files_and_broken_answers_are_failures(
    prefix: str, reason: str, server: Server, tmp_path: Path
) -> None:
    with pytest.raises(DataUnavailableError) as info:
        fetch(server.source(prefix), tmp_path / "dl", [T_TEST], progressbar=False, timeout=5)
    assert reason in info.value.reason
    assert leftovers(tmp_path / "dl") == []
