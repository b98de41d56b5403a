"""`mitbadak serve` as a user starts it, and the catalogue of runs it offers."""

from __future__ import annotations

import io
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from child_signals import default_signals
from mitbadak.cli import main
from mitbadak.web import ModelCatalog, make_server
from mitbadak.web.catalog import GIVEN_ID, UnknownModelError
from mitbadak.web.server import PageServer


def copy_run(source: Path, target: Path, *, accuracy: float | None = None) -> Path:
    shutil.copytree(source, target)
    if accuracy is not None:
        history = json.loads((target / "history.json").read_text())
        history["epochs"][-1]["test_acc"] = accuracy
        (target / "history.json").write_text(json.dumps(history))
    return target / "model.npz"


def test_the_catalogue_lists_runs_and_leaves_out_what_lies_outside(
    book_runs: Path, tmp_path: Path
) -> None:
    runs = tmp_path / "runs"
    copy_run(book_runs / "001", runs / "001", accuracy=0.5)
    newest = copy_run(book_runs / "001", runs / "002", accuracy=0.75)
    copy_run(book_runs / "001", runs / "adam")
    (runs / "adam" / "history.json").write_text("{not json")
    (runs / "empty").mkdir()
    outside = copy_run(book_runs / "001", tmp_path / "elsewhere")
    (runs / "linked").symlink_to(outside.parent)  # a link that leads out: not offered
    (runs / "003").mkdir()
    (runs / "003" / "model.npz").symlink_to(outside)
    os.utime(runs / "001" / "model.npz", (1, 1))
    os.utime(runs / "adam" / "model.npz", (2, 2))
    catalog = ModelCatalog(runs)
    entries = {e.id: e for e in catalog.entries()}
    assert sorted(entries) == ["001", "002", "adam"]
    assert entries["001"].test_accuracy == 0.5 and entries["002"].test_accuracy == 0.75
    assert entries["adam"].test_accuracy is None  # an unreadable history: no accuracy
    assert entries["002"].to_dict()["path"] == str(runs / "002" / "model.npz")
    assert catalog.default_id() == "002" == newest.parent.name
    with pytest.raises(UnknownModelError, match="unknown model 'linked'; the models are 001"):
        catalog.find("linked")
    # A model given by path outside the runs folder is offered first, and is the default.
    given = ModelCatalog(runs, outside)
    assert [e.id for e in given.entries()] == [GIVEN_ID, "001", "002", "adam"]
    assert given.default_id() == GIVEN_ID
    assert ModelCatalog(runs, runs / "001" / "model.npz").default_id() == "001"
    assert ModelCatalog(tmp_path / "nowhere").entries() == []


def test_loaded_models_are_kept_until_their_file_changes(book_runs: Path, tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    model = copy_run(book_runs / "001", runs / "001")
    catalog = ModelCatalog(runs)
    first = catalog.load("001")
    assert catalog.load("001") is first
    os.utime(model, (5, 5))
    assert catalog.load("001") is not first
    model.write_bytes(b"not a model")
    with pytest.raises(ValueError, match="model.npz: not an .npz archive"):
        catalog.load("001")


def test_a_broken_model_file_is_a_one_line_500(book_runs: Path, tmp_path: Path) -> None:
    from test_serve_api import request

    runs = tmp_path / "runs"
    (runs / "001").mkdir(parents=True)
    (runs / "001" / "model.npz").write_bytes(b"PK but no zip")
    log = io.StringIO()
    server = make_server(ModelCatalog(runs), log=log)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        body = json.dumps({"pixels": [0.0] * 784}).encode()
        status, _, data = request(server, "POST", "/api/predict", body)
        assert status == 500
        assert data["error"].startswith("model '001' cannot be loaded: ")
        assert "\n" not in data["error"]
    finally:
        server.shutdown()
        server.server_close()
    assert (
        "Traceback" not in log.getvalue() and "500 model '001' cannot be loaded" in log.getvalue()
    )


def test_serve_prints_the_address_answers_and_stops_on_ctrl_c(
    book_runs: Path, tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    cmd = [sys.executable, "-m", "mitbadak", "serve", str(book_runs / "001" / "model.npz")]
    proc = subprocess.Popen(
        [*cmd, "--port", "0", "--runs", str(book_runs)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
        preexec_fn=default_signals,  # the test sends SIGINT; the parent may ignore it
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first == f"mitbadak serve: model {book_runs / '001' / 'model.npz'} (1 model found)\n"
        line = proc.stdout.readline()
        assert line.startswith("mitbadak serve: open http://127.0.0.1:")
        url = line.split()[3]
        with urllib.request.urlopen(url + "api/models", timeout=30) as answer:
            assert json.load(answer)["default"] == "001"
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert b"Draw a digit" in answer.read()
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert out.strip().endswith("mitbadak serve: stopped") and "Traceback" not in err


def test_serve_without_a_model_trains_the_books_network_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak.cli import serve

    # The same command, shortened: the real one trains 1000 iterations.
    monkeypatch.setattr(serve, "TRAIN_ARGS", [*serve.TRAIN_ARGS, "--iters", "20", "--no-progress"])
    served: list[Any] = []

    def serve_once(self: PageServer) -> None:
        served.append(self)
        raise KeyboardInterrupt

    monkeypatch.setattr(PageServer, "serve_forever", serve_once)
    runs = tmp_path / "runs"
    assert main(["serve", "--runs", str(runs), "--port", "0"]) == 0
    out = capsys.readouterr().out
    assert f"no model given and none under {runs}/: training the book's network" in out
    assert (runs / "001" / "model.npz").is_file() and (runs / "001" / "history.json").is_file()
    assert f"model {runs / '001' / 'model.npz'} (1 model found)" in out
    assert served and served[0].default_model == "001"
    assert served[0].server_address[0] == "127.0.0.1"
    # Started again, it serves that run instead of training another.
    assert main(["serve", "--runs", str(runs), "--port", "0"]) == 0
    assert "training" not in capsys.readouterr().out and not (runs / "002").exists()


def test_serve_errors_are_one_line(
    book_runs: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = str(book_runs / "001" / "model.npz")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert main(["serve", model, "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"mitbadak serve: error: port {port} on 127.0.0.1 is in use; pick another with "
        "--port (--port 0 picks a free one)\n"
    )
    assert main(["serve", str(tmp_path / "none.npz"), "--port", "0"]) == 1
    assert capsys.readouterr().err.endswith("none.npz does not exist\n")
    with pytest.raises(SystemExit) as stop:
        main(["serve", model, "--port", "70000"])
    assert stop.value.code == 2
    assert "expected a port number up to 65535" in capsys.readouterr().err
