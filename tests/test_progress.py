"""Progress on any console: cp949 and ASCII terminals, pipes, Jupyter; `mitbadak doctor`."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from mitbadak.cli import main
from mitbadak.cli.doctor import checks
from mitbadak.progress import BLOCKS, Progress, can_show, in_jupyter, training_progress


def run_on_terminal(cmd: list[str], env: dict[str, str]) -> tuple[int, bytes, bytes]:
    """Run ``cmd`` with stderr on a 100-column pseudo-terminal; (exit code, stdout, terminal)."""
    import fcntl
    import pty
    import struct
    import termios

    primary, secondary = pty.openpty()
    fcntl.ioctl(secondary, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    chunks: list[bytes] = []

    def drain() -> None:
        # Read while the child runs: a pty buffer that nobody empties blocks the writer.
        while True:
            try:
                chunk = os.read(primary, 65536)
            except OSError:
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=secondary, env=env, timeout=120)
    os.close(secondary)
    reader.join(timeout=10)
    os.close(primary)
    return proc.returncode, proc.stdout, b"".join(chunks)


def train_cmd(out: Path) -> list[str]:
    cmd = [sys.executable, "-m", "mitbadak", "train", "--dataset", "mnist-sample"]
    return cmd + ["--iters", "200", "--out", str(out)]


@pytest.mark.parametrize("encoding", ["cp949", "ascii", "utf-8"])
def test_the_bar_fits_the_console_encoding(encoding: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONIOENCODING": encoding, "MITBADAK_DATA": str(tmp_path / "c")}
    env.pop("TERM", None)
    code, stdout, shown = run_on_terminal(train_cmd(tmp_path / "run"), env)
    assert code == 0, shown[-800:]
    assert b"Traceback" not in shown and b"Error" not in shown, shown[-800:]
    assert b"it/s" in shown or b"s/it" in shown, shown[-500:]
    assert stdout.count(b"epoch") >= 2
    if encoding == "utf-8":
        assert "█".encode() in shown  # block characters where the console has them
    else:
        assert all(byte < 0x80 for byte in shown), "a non-ASCII byte reached the console"
        assert b"#" in shown


def test_korean_text_on_an_ascii_console_is_escaped_not_fatal(tmp_path: Path) -> None:
    from PIL import Image

    model = tmp_path / "run"
    assert main(["train", "--dataset", "mnist-sample", "--iters", "5", "--out", str(model)]) == 0
    image = tmp_path / "숫자.png"
    digit = Image.new("L", (60, 80), 255)
    digit.paste(0, (25, 10, 35, 70))
    digit.save(image)
    env = {**os.environ, "PYTHONIOENCODING": "ascii", "MITBADAK_DATA": str(tmp_path / "c")}
    cmd = [sys.executable, "-m", "mitbadak", "predict", str(model / "model.npz"), str(image)]
    proc = subprocess.run(cmd, capture_output=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert b"\\uc22b\\uc790.png: " in proc.stdout


def test_no_bar_where_nobody_sees_one(monkeypatch: pytest.MonkeyPatch) -> None:
    pipe = io.StringIO()
    assert training_progress(100, stream=pipe).bar is None
    assert not in_jupyter()

    class Terminal(io.StringIO):
        encoding = "cp949"

        def isatty(self) -> bool:
            return True

    assert training_progress(10, enabled=False, stream=Terminal()).bar is None
    monkeypatch.setenv("TERM", "dumb")
    assert training_progress(10, stream=Terminal()).bar is None
    monkeypatch.setenv("TERM", "xterm")
    progress = training_progress(10, stream=Terminal())
    assert progress.bar is not None and progress.bar.ascii
    progress.close()
    assert not can_show(BLOCKS, Terminal()) and can_show("abc", Terminal())


def test_a_console_that_fails_costs_the_bar_not_the_run(
    capsys: pytest.CaptureFixture[str],
) -> None:
    class Broken:
        n = 0

        def update(self, _: int) -> None:
            raise OSError(5, "Input/output error")

        def write(self, text: str, file: object = None) -> None:
            raise UnicodeEncodeError("cp949", "▉", 0, 1, "illegal multibyte sequence")

        def close(self) -> None:
            raise OSError(5, "Input/output error")

    progress = Progress(Broken())
    progress.line("epoch 1")
    assert progress.bar is None
    progress.iteration(0, 1.0)
    progress.line("epoch 2")
    progress.close()
    assert capsys.readouterr().out == "epoch 1\nepoch 2\n"


def test_doctor_reports_every_topic(capsys: pytest.CaptureFixture[str]) -> None:
    topics = [check.topic for check in checks()]
    for topic in ("python", "numpy", "blas", "data cache", "mnist-sample", "mnist"):
        assert topic in topics
    for topic in ("fashion-mnist", "hangul font", "console", "jupyter"):
        assert topic in topics
    assert main(["doctor"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(topics)
    assert all(line[:3].strip() in ("ok", "--") for line in lines)
    # The private cache of the tests holds no MNIST: doctor says how to get it.
    mnist = next(line for line in lines if line.split()[1] == "mnist:")
    assert mnist.startswith("--") and "mitbadak train --dataset mnist" in mnist


def test_doctor_says_what_to_do(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from mitbadak.cli import doctor

    monkeypatch.setattr("mitbadak.hangul.hangul_font", lambda: None)
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setenv("MITBADAK_DATA", str(blocked))
    found = {check.topic: check for check in doctor.checks()}
    assert found["hangul font"].status == "--"
    assert "apt-get install fonts-nanum" in found["hangul font"].detail
    assert found["data cache"].status == "!!" and "MITBADAK_DATA" in found["data cache"].detail
    assert main(["doctor"]) == 1
