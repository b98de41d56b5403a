"""The command line under stress: signals at chosen moments, closed pipes, full and
read-only disks, races for one folder, hostile flags. Nothing trained is ever lost, and
every refusal is one line.

Signals are sent at moments made deterministic by a hook: the child replaces one function
(the final evaluation, the save, the data loading) with one that writes a marker file and
waits; the test sends the signal once the marker exists. Full and read-only disks are
small tmpfs mounts (the tests run as root, as CI does), always unmounted afterwards.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from child_signals import default_signals
from mitbadak import serialization
from mitbadak.cli import main
from mitbadak.models import TwoLayerNet
from mitbadak.runs import LOCK_FILE
from mounts import tmpfs

TRAIN = ["train", "--dataset", "mnist-sample", "--no-progress"]
RUN_FILES = ["curves.png", "history.json", "model.npz"]


def one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- signals at chosen moments ----------------------------------------------------------------

_HOOKED = """
import os, sys, time
from pathlib import Path

marker = Path(os.environ["MITBADAK_TEST_MARKER"])

def pause():
    # Until the test has sent its signal and removed the marker (or the signal ends this).
    marker.write_text("waiting")
    for _ in range(600):
        if not marker.exists():
            return
        time.sleep(0.05)

import mitbadak.cli.train, mitbadak.runs, mitbadak.train
moment = os.environ["MITBADAK_TEST_MOMENT"]
if moment == "training":
    original = mitbadak.train.Trainer.evaluate
    def evaluate(self, iteration, loss, elapsed):
        if iteration >= self.iter_per_epoch:
            pause()
        return original(self, iteration, loss, elapsed)
    mitbadak.train.Trainer.evaluate = evaluate
elif moment == "final evaluation":
    original = mitbadak.train.Trainer.evaluate
    def evaluate(self, iteration, loss, elapsed):
        if iteration == self.iters - 1:
            pause()
        return original(self, iteration, loss, elapsed)
    mitbadak.train.Trainer.evaluate = evaluate
elif moment == "saving":
    original_save = mitbadak.runs.save
    def save(*args, **kwargs):
        pause()
        return original_save(*args, **kwargs)
    mitbadak.runs.save = save
elif moment == "loading data":
    original_load = mitbadak.cli.train.load_dataset
    def load_dataset(*args, **kwargs):
        pause()
        return original_load(*args, **kwargs)
    mitbadak.cli.train.load_dataset = load_dataset

from mitbadak.cli import main
sys.exit(main(sys.argv[1:]))
"""


def _signal_at(
    moment: str, signum: int, out: Path, tmp_path: Path
) -> subprocess.CompletedProcess[str]:
    marker = tmp_path / "marker"
    env = {
        **os.environ,
        "MITBADAK_TEST_MARKER": str(marker),
        "MITBADAK_TEST_MOMENT": moment,
        "MITBADAK_DATA": str(tmp_path / "cache"),
    }
    cmd = [sys.executable, "-c", _HOOKED, *TRAIN, "--iters", "170", "--out", str(out)]
    proc = subprocess.Popen(
        cmd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=default_signals,  # the test's parent may ignore SIGINT (nohup, `&`)
    )
    try:
        for _ in range(1200):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists(), proc.communicate(timeout=5)
        proc.send_signal(signum)
        marker.unlink()
        stdout, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    return subprocess.CompletedProcess(cmd, proc.returncode, stdout, stderr)


@pytest.mark.parametrize(
    ("moment", "signum", "iterations"),
    [
        ("training", signal.SIGTERM, 81),
        ("training", signal.SIGHUP, 81),
        ("final evaluation", signal.SIGINT, 170),
        ("final evaluation", signal.SIGTERM, 170),
    ],
)
def test_a_stopped_run_is_saved(moment: str, signum: int, iterations: int, tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _signal_at(moment, signum, out, tmp_path)
    assert proc.returncode == 128 + signum, proc.stderr
    line = one_line(proc.stderr)
    name = "interrupted" if signum == signal.SIGINT else f"stopped by {signal.Signals(signum).name}"
    assert f"{name} after {iterations} iterations; saved what was trained to {out}" in line
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES  # no lock, no temporary file
    history = json.loads((out / "history.json").read_text())
    assert history["stopped"] == "interrupted" and len(history["train_loss"]) == iterations
    assert isinstance(serialization.load(out / "model.npz"), TwoLayerNet)


def test_a_signal_while_saving_does_not_cut_the_save_short(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = _signal_at("saving", signal.SIGINT, out, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "saved model, history and curves" in proc.stdout
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES
    assert len(json.loads((out / "history.json").read_text())["train_loss"]) == 170


def test_a_stop_before_training_leaves_no_folder(tmp_path: Path) -> None:
    out = tmp_path / "new" / "run"
    proc = _signal_at("loading data", signal.SIGTERM, out, tmp_path)
    assert proc.returncode == 143
    assert one_line(proc.stderr) == "mitbadak: stopped by SIGTERM"
    assert not (tmp_path / "new").exists()


def test_ctrl_c_in_the_final_evaluation_in_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak import train

    original = train.Trainer.evaluate

    def evaluate(self: train.Trainer, iteration: int, loss: float, elapsed: float) -> Any:
        if iteration == self.iters - 1:
            raise KeyboardInterrupt
        return original(self, iteration, loss, elapsed)

    monkeypatch.setattr(train.Trainer, "evaluate", evaluate)
    out = tmp_path / "run"
    assert main([*TRAIN, "--iters", "30", "--out", str(out)]) == 130
    assert "interrupted after 30 iterations; saved" in one_line(capsys.readouterr().err)
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES


# --- a closed standard output ---------------------------------------------------------------


def test_closed_stdout_never_stops_a_run(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "MITBADAK_DATA": str(tmp_path / "cache")}
    cmd = [sys.executable, "-m", "mitbadak", *TRAIN, "--iters", "400", "--out", str(out)]
    # `mitbadak train | head -1`: read one line, then close the pipe.
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"training")
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, err
    assert err == ""
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES


# --- disks that are full or read-only ---------------------------------------------------------


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Any]:
    """Mounts small tmpfs file systems under tmp_path; unmounts them all afterwards."""
    with ExitStack() as stack:
        yield lambda name, size, *options: stack.enter_context(
            tmpfs(tmp_path / name, size, *options)
        )


def test_a_folder_too_small_is_refused_before_training(
    mount_tmpfs: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = mount_tmpfs("small", "256k")
    out = disk / "run"
    # 784 x 300 float32 weights alone are 940 KB.
    assert main([*TRAIN, "--hidden", "300", "--iters", "5", "--out", str(out)]) == 1
    captured = capsys.readouterr()
    assert "free, the run needs about" in one_line(captured.err)
    assert "epoch" not in captured.out  # refused before any training
    assert list(disk.iterdir()) == []  # and the claimed folder is gone again


def test_a_full_disk_at_save_time_keeps_the_weights_elsewhere(
    mount_tmpfs: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    import tempfile

    from mitbadak import train

    disk = mount_tmpfs("disk", "4m")
    rescue_base = tmp_path / "tmp"
    rescue_base.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(rescue_base))
    original = train.Trainer.evaluate

    def fill_the_disk(self: train.Trainer, iteration: int, loss: float, elapsed: float) -> Any:
        if iteration == self.iters - 1:  # training is over; something else takes the space
            try:
                with open(disk / "filler", "wb", buffering=0) as f:
                    while True:
                        f.write(bytes(1 << 16))
            except OSError:
                pass
        return original(self, iteration, loss, elapsed)

    monkeypatch.setattr(train.Trainer, "evaluate", fill_the_disk)
    out = disk / "run"
    assert main([*TRAIN, "--iters", "20", "--out", str(out)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "No space left on device" in line and "saved them to" in line
    rescue = Path(line.split("saved them to ")[1].split(" instead")[0])
    assert rescue.parent == rescue_base
    assert sorted(p.name for p in rescue.iterdir()) == ["history.json", "model.npz"]
    assert isinstance(serialization.load(rescue / "model.npz"), TwoLayerNet)
    assert not out.exists()  # nothing partial left: the empty run folder is removed too


def test_read_only_out_or_runs_is_one_line_before_training(
    mount_tmpfs: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    disk = mount_tmpfs("ro", "64k", "ro")
    assert main([*TRAIN, "--iters", "5", "--out", str(disk / "run")]) == 1
    line = one_line(capsys.readouterr().err)
    assert "Read-only file system" in line and str(disk / "run") in line
    monkeypatch.chdir(disk)
    assert main([*TRAIN, "--iters", "5"]) == 1
    assert "Read-only file system" in one_line(capsys.readouterr().err)


def test_out_below_a_file_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    assert main([*TRAIN, "--iters", "5", "--out", str(blocker / "run")]) == 1
    assert "Not a directory" in one_line(capsys.readouterr().err)
    assert blocker.read_text() == "not a folder"


# --- one folder, two runs ----------------------------------------------------------------


def test_two_runs_never_share_a_new_folder(tmp_path: Path) -> None:
    out = tmp_path / "run"
    env = {**os.environ, "MITBADAK_DATA": str(tmp_path / "cache")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "mitbadak", *TRAIN, "--iters", "200", "--seed", str(seed)]
            + ["--out", str(out)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    results = [(proc.wait(timeout=120), proc.communicate()[1]) for proc in procs]
    codes = sorted(code for code, _ in results)
    assert codes[0] == 0 and codes[1] in (1, 2), results
    refused = next(err for code, err in results if code != 0)
    assert str(out) in one_line(refused)
    winner = next(seed for seed, (code, _) in zip((1, 2), results, strict=True) if code == 0)
    history = json.loads((out / "history.json").read_text())
    assert history["config"]["seed"] == winner
    assert sorted(p.name for p in out.iterdir()) == RUN_FILES


def test_force_cannot_write_into_a_folder_another_run_holds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak.runs import claim_run_dir

    out = tmp_path / "run"
    with claim_run_dir(out) as folder:
        assert (folder.path / LOCK_FILE).read_text().strip() == str(os.getpid())
        assert main([*TRAIN, "--iters", "5", "--out", str(out), "--force"]) == 2
        line = one_line(capsys.readouterr().err)
        assert f"is being written by another run (process {os.getpid()})" in line
    assert not out.exists()  # released and, never written, removed


# --- permissions --------------------------------------------------------------------------------


@pytest.mark.parametrize(("umask", "mode"), [(0o002, 0o664), (0o077, 0o600)])
def test_run_files_honour_the_umask(umask: int, mode: int, tmp_path: Path) -> None:
    out = tmp_path / "run"
    old = os.umask(umask)
    try:
        assert main([*TRAIN, "--iters", "5", "--out", str(out)]) == 0
    finally:
        os.umask(old)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask
    for name in RUN_FILES:
        assert (out / name).stat().st_mode & 0o777 == mode, name


# --- flags ----------------------------------------------------------------------------------------


def test_negative_seed_is_a_flag_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([*TRAIN, "--seed", "-1"])
    assert exc.value.code == 2
    assert "expected an integer >= 0, received '-1'" in one_line(capsys.readouterr().err)


def test_hidden_too_large_says_how_much_memory_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main([*TRAIN, "--hidden", "1000000000", "--iters", "5"]) == 1
    line = one_line(capsys.readouterr().err)
    assert line.startswith("mitbadak train: error: --hidden 1000000000: TwoLayerNet with")
    assert "needs about 2.9 TiB of memory" in line
    assert list(tmp_path.iterdir()) == []  # no runs/ folder, no runs/001


def test_divergence_from_the_initial_weights_blames_them(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main([*TRAIN, "--iters", "20", "--weight-init-std", "1e30", "--out", str(out)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "--weight-init-std" in line and "--lr" not in line
    assert "last" not in line and "untrained" in line
    assert json.loads((out / "history.json").read_text())["stopped"] == "diverged"


def test_divergence_from_the_learning_rate_blames_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    assert main([*TRAIN, "--iters", "100", "--lr", "1e30", "--out", str(out)]) == 1
    line = one_line(capsys.readouterr().err)
    assert "try a smaller --lr" in line and "the last with a finite loss" in line


# --- the offline fallback says why -------------------------------------------------------------


def test_fallback_notice_names_an_html_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak.data import download, transfer

    def captive_portal(url: str, dest: str, **kwargs: Any) -> int:
        raise transfer.DownloadError(
            "sent an HTML page, not gzip data",
            reason="a mirror sent an HTML page instead of the data (a proxy or login page?)",
        )

    monkeypatch.setattr(download, "download", captive_portal)
    assert main(["train", "--iters", "5", "--no-progress", "--out", str(tmp_path / "r")]) == 0
    notice = one_line(capsys.readouterr().err)
    assert "HTML page instead of the data" in notice and "no network" not in notice


def test_fallback_notice_names_an_unusable_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("MITBADAK_DATA", str(blocker / "data"))
    assert main(["train", "--iters", "5", "--no-progress", "--out", str(tmp_path / "r")]) == 0
    notice = one_line(capsys.readouterr().err)
    assert f"MITBADAK_DATA='{blocker / 'data'}'" in notice and "not a writable folder" in notice


# --- evaluate and model files -----------------------------------------------------------------


def test_evaluate_a_model_with_fewer_outputs_than_classes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    model = serialization.save(
        TwoLayerNet(784, 5, 4, rng=np.random.default_rng(0)), tmp_path / "m.npz"
    )
    assert main(["evaluate", str(model), "--dataset", "mnist-sample"]) == 1
    assert "gives 4 scores per image, but mnist-sample has 10 classes" in one_line(
        capsys.readouterr().err
    )


def test_evaluate_with_more_outputs_than_classes_keeps_the_matrix_small(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    net = TwoLayerNet(784, 5, 5000, rng=np.random.default_rng(0))
    model = serialization.save(net, tmp_path / "m.npz")
    assert main(["evaluate", str(model), "--dataset", "mnist-sample"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[2].split()[-1] == "other" and len(lines) == 13


@pytest.mark.parametrize("command", ["evaluate", "predict"])
def test_a_folder_given_as_model_is_named_as_one(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "model.npz"
    folder.mkdir()
    extra = [str(tmp_path / "x.png")] if command == "predict" else ["--dataset", "mnist-sample"]
    assert main([command, str(folder), *extra]) == 1
    line = one_line(capsys.readouterr().err)
    assert "is a folder" in line and "does not exist" not in line


def test_control_characters_never_reach_the_terminal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "evil\x1b[2J.npz"
    path.write_bytes(b"junk")
    assert main(["evaluate", str(path), "--dataset", "mnist-sample"]) == 1
    err = capsys.readouterr().err
    assert "\x1b" not in err and "evil\\x1b[2J.npz" in one_line(err)


def test_an_internal_error_is_still_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak.cli import gradcheck

    def broken(args: Any) -> int:
        raise RuntimeError("a bug")

    monkeypatch.setattr(gradcheck, "run", broken)
    monkeypatch.delenv("MITBADAK_DEBUG", raising=False)
    assert main(["gradcheck"]) == 1
    assert "internal error: RuntimeError: a bug" in one_line(capsys.readouterr().err)


def test_evaluate_scores_in_chunks_its_memory_budget_allows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mitbadak.cli import evaluate

    net = TwoLayerNet(784, 20, 10, rng=np.random.default_rng(0))
    model = serialization.save(net, tmp_path / "m.npz")
    x = np.zeros((5, 784), np.float32)
    assert evaluate._chunk_size(net, x) == 1000  # a small model: the usual chunks
    assert main(["evaluate", str(model), "--dataset", "mnist-sample"]) == 0
    usual = capsys.readouterr().out
    monkeypatch.setattr(evaluate, "_SCORING_BUDGET", 1)
    assert evaluate._chunk_size(net, x) == 1
    assert main(["evaluate", str(model), "--dataset", "mnist-sample"]) == 0
    assert capsys.readouterr().out == usual


def test_a_fifo_in_place_of_the_lock_does_not_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    out.mkdir()
    os.mkfifo(out / LOCK_FILE)
    assert main([*TRAIN, "--iters", "5", "--out", str(out), "--force"]) == 2
    assert "is being written by another run" in one_line(capsys.readouterr().err)


def test_a_folder_where_a_run_file_goes_is_refused_before_training(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    (out / "model.npz").mkdir(parents=True)
    assert main([*TRAIN, "--iters", "5", "--out", str(out), "--force"]) == 1
    captured = capsys.readouterr()
    assert "model.npz is a folder" in one_line(captured.err) and "epoch" not in captured.out
    assert sorted(p.name for p in out.iterdir()) == ["model.npz"]


def test_output_a_console_cannot_encode_is_escaped_not_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import io

    from mitbadak.cli.common import say

    raw = io.BytesIO()
    console = io.TextIOWrapper(raw, encoding="ascii")
    monkeypatch.setattr(sys, "stdout", console)
    say("saved to 실험")
    say("next line")
    assert raw.getvalue() == b"saved to \\uc2e4\\ud5d8\nnext line\n"
