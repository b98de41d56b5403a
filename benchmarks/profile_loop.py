"""Where mitbadak's time goes beyond the floor, piece by piece, and where its memory goes.

1. Pieces: the Trainer's loop (same work as ``Trainer.train``: draw, gather,
   ``loss_and_gradient``, the last-good snapshot, ``SGD.update``, the per-epoch accuracy)
   with a timer around every layer call, next to the floor's loop with a timer around
   every step. Microseconds per iteration, and milliseconds per evaluation. Both run
   interleaved, one BLAS thread.
2. cProfile of ``Trainer.train`` (1000 iterations): the Python functions with the most
   time of their own.
3. Memory: the stages of ``mitbadak train`` (imports, data, training, saving, plotting)
   in a fresh process, with the peak resident size (VmHWM) after each.

    .venv/bin/python benchmarks/profile_loop.py [--iters 1000] [--repeats 3] [--json PATH]
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import math
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    BATCH,
    EVAL_CHUNK,
    INIT_STD,
    LR,
    RESULTS_DIR,
    SIZES,
    Data,
    describe_machine,
    limit_threads,
    load_data,
    machine_info,
    median,
    write_json,
)

Timers = dict[str, float]


def _timed(fn: Callable[..., Any], key: Callable[[], str], timers: Timers) -> Callable[..., Any]:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            timers[key()] += time.perf_counter() - start

    return wrapper


def mitbadak_pieces(data: Data, iters: int, seed: int) -> tuple[Timers, int]:
    """The Trainer's loop, written out, with every layer call timed."""
    from mitbadak.models import TwoLayerNet
    from mitbadak.optimizers import SGD

    timers: Timers = defaultdict(float)
    phase = ["train"]
    net = TwoLayerNet(*SIZES, INIT_STD, rng=np.random.default_rng(seed))
    for name, layer in net.layers.items():
        layer.forward = _timed(layer.forward, lambda n=name: f"{phase[0]}: {n}.forward", timers)
        if name == "Affine1":
            # Its dx is never computed; Affine2.backward calls its own backward_params,
            # which stays inside the Affine2.backward timer.
            layer.backward_params = _timed(
                layer.backward_params, lambda: "train: Affine1.backward_params", timers
            )
        else:
            layer.backward = _timed(layer.backward, lambda n=name: f"train: {n}.backward", timers)
    loss_layer = net.last_layer
    loss_layer.forward = _timed(loss_layer.forward, lambda: "train: Softmax.forward", timers)
    loss_layer.backward = _timed(loss_layer.backward, lambda: "train: Softmax.backward", timers)

    x, t, x_test, t_test = data.x_train, data.t_train, data.x_test, data.t_test
    n, per_epoch = len(x), data.iter_per_epoch
    optimizer = SGD(lr=LR)
    params = net.params
    last_good = {name: params[name].copy() for name in params}
    rng = np.random.default_rng([seed, 1])
    pc = time.perf_counter
    evals = 0
    start = pc()
    for i in range(iters):
        t0 = pc()
        idx = rng.integers(0, n, size=BATCH)
        t1 = pc()
        xb, tb = x[idx], t[idx]
        t2 = pc()
        loss, grads = net.loss_and_gradient(xb, tb)
        t3 = pc()
        if not math.isfinite(loss):
            raise RuntimeError("diverged")
        for name in params:
            np.copyto(last_good[name], params[name])
        t4 = pc()
        optimizer.update(params, grads)
        t5 = pc()
        timers["draw indices"] += t1 - t0
        timers["gather x[idx], t[idx]"] += t2 - t1
        timers["loss_and_gradient (whole)"] += t3 - t2
        timers["Trainer last-good snapshot (4 copyto)"] += t4 - t3
        timers["SGD.update"] += t5 - t4
        if i % per_epoch == 0:
            phase[0] = "eval"
            e0 = pc()
            net.accuracy(x, t, batch_size=EVAL_CHUNK)
            net.accuracy(x_test, t_test, batch_size=EVAL_CHUNK)
            timers["evaluation (whole)"] += pc() - e0
            phase[0] = "train"
            evals += 1
    timers["total"] = pc() - start
    return timers, evals


def floor_pieces(data: Data, iters: int, seed: int) -> tuple[Timers, int]:
    """The floor's loop (see ``_common.run_floor``) with every step timed."""
    timers: Timers = defaultdict(float)
    x, t = data.x_train, data.t_train
    n, per_epoch, (d_in, d_hid, d_out) = len(x), data.iter_per_epoch, SIZES
    one_hot = np.eye(d_out, dtype=np.float32)[t]
    rng = np.random.default_rng([seed, 1])
    W1 = rng.standard_normal((d_in, d_hid), dtype=np.float32)
    W1 *= INIT_STD
    W2 = rng.standard_normal((d_hid, d_out), dtype=np.float32)
    W2 *= INIT_STD
    b1 = np.zeros(d_hid, np.float32)
    b2 = np.zeros(d_out, np.float32)
    h = np.empty((BATCH, d_hid), np.float32)
    dout = np.empty((BATCH, d_out), np.float32)
    dh = np.empty((BATCH, d_hid), np.float32)
    dW1 = np.empty_like(W1)
    dW2 = np.empty_like(W2)
    h_eval = np.empty((EVAL_CHUNK, d_hid), np.float32)
    s_eval = np.empty((EVAL_CHUNK, d_out), np.float32)
    step = np.float32(LR / BATCH)
    pc = time.perf_counter
    evals = 0
    start = pc()
    for i in range(iters):
        t0 = pc()
        idx = rng.integers(0, n, size=BATCH)
        t1 = pc()
        xb = x[idx]
        yb = one_hot[idx]
        t2 = pc()
        np.matmul(xb, W1, out=h)
        t3 = pc()
        np.matmul(h, W2, out=dout)
        dout -= yb
        t4 = pc()
        np.matmul(h.T, dout, out=dW2)
        np.matmul(dout, W2.T, out=dh)
        t5 = pc()
        np.matmul(xb.T, dh, out=dW1)
        t6 = pc()
        db1 = dh.sum(axis=0)
        db2 = dout.sum(axis=0)
        dW1 *= step
        W1 -= dW1
        dW2 *= step
        W2 -= dW2
        db1 *= step
        b1 -= db1
        db2 *= step
        b2 -= db2
        t7 = pc()
        timers["draw indices"] += t1 - t0
        timers["gather x[idx], t[idx]"] += t2 - t1
        timers["x@W1"] += t3 - t2
        timers["h@W2 (+ residual)"] += t4 - t3
        timers["h.T@dout, dout@W2.T"] += t5 - t4
        timers["x.T@dh"] += t6 - t5
        timers["bias sums + update"] += t7 - t6
        if i % per_epoch == 0:
            e0 = pc()
            for xs in (x, data.x_test):
                for s in range(0, len(xs), EVAL_CHUNK):
                    chunk = xs[s : s + EVAL_CHUNK]
                    np.matmul(chunk, W1, out=h_eval[: len(chunk)])
                    np.matmul(h_eval[: len(chunk)], W2, out=s_eval[: len(chunk)])
            timers["evaluation (whole)"] += pc() - e0
            evals += 1
    timers["total"] = pc() - start
    return timers, evals


# Rows of the side-by-side table: (label, mitbadak keys, floor keys).
ROWS = [
    ("draw indices", ["draw indices"], ["draw indices"]),
    ("gather batch", ["gather x[idx], t[idx]"], ["gather x[idx], t[idx]"]),
    ("forward layer 1: x@W1 (+b1)", ["train: Affine1.forward"], ["x@W1"]),
    ("forward ReLU", ["train: Relu1.forward"], []),
    ("forward layer 2: h@W2 (+b2)", ["train: Affine2.forward"], ["h@W2 (+ residual)"]),
    ("softmax + loss forward", ["train: Softmax.forward"], []),
    ("softmax + loss backward", ["train: Softmax.backward"], []),
    ("backward layer 2: dW2, db2, dh", ["train: Affine2.backward"], ["h.T@dout, dout@W2.T"]),
    ("backward ReLU", ["train: Relu1.backward"], []),
    ("backward layer 1: dW1, db1", ["train: Affine1.backward_params"], ["x.T@dh"]),
    ("loss_and_gradient glue", ["glue"], []),
    ("Trainer last-good snapshot", ["Trainer last-good snapshot (4 copyto)"], []),
    ("parameter update", ["SGD.update"], ["bias sums + update"]),
]
EVAL_ROWS = [
    ("eval layer 1 (x@W1 +b1)", ["eval: Affine1.forward"]),
    ("eval ReLU", ["eval: Relu1.forward"]),
    ("eval layer 2 (h@W2 +b2)", ["eval: Affine2.forward"]),
]


def profile_pieces(data: Data, iters: int, repeats: int, seed: int) -> dict[str, Any]:
    runs: dict[str, list[tuple[Timers, int]]] = {"mitbadak": [], "floor": []}
    for r in range(repeats):
        order = ["mitbadak", "floor"] if r % 2 == 0 else ["floor", "mitbadak"]
        for name in order:
            f = mitbadak_pieces if name == "mitbadak" else floor_pieces
            runs[name].append(f(data, iters, seed))
    for timers, _ in runs["mitbadak"]:
        inner = [k for k in timers if k.startswith("train: ")]
        timers["glue"] = timers["loss_and_gradient (whole)"] - sum(timers[k] for k in inner)

    def per_iter_us(name: str, keys: list[str]) -> float:
        return median([sum(t[k] for k in keys) / iters * 1e6 for t, _ in runs[name]])

    def per_eval_ms(name: str, keys: list[str]) -> float:
        return median([sum(t[k] for k in keys) / ev * 1e3 for t, ev in runs[name]])

    rows = []
    for label, ours, floor in ROWS:
        rows.append(
            {
                "piece": label,
                "mitbadak_us": per_iter_us("mitbadak", ours),
                "floor_us": per_iter_us("floor", floor) if floor else 0.0,
            }
        )
    step_keys_m = [k for _, keys, _ in ROWS for k in keys]
    step_keys_f = [k for _, _, keys in ROWS for k in keys]
    evals = runs["mitbadak"][0][1]
    result = {
        "iters": iters,
        "repeats": repeats,
        "evals_per_run": evals,
        "rows": rows,
        "step_sum_us": {
            "mitbadak": per_iter_us("mitbadak", step_keys_m),
            "floor": per_iter_us("floor", step_keys_f),
        },
        "eval_ms": {
            "mitbadak": per_eval_ms("mitbadak", ["evaluation (whole)"]),
            "floor": per_eval_ms("floor", ["evaluation (whole)"]),
        },
        "eval_rows_ms": [
            {"piece": label, "mitbadak_ms": per_eval_ms("mitbadak", keys)}
            for label, keys in EVAL_ROWS
        ],
        "total_s": {name: median([t["total"] for t, _ in rs]) for name, rs in runs.items()},
    }
    return result


def pieces_table(p: dict[str, Any]) -> str:
    lines = [
        f"per-iteration pieces, {p['iters']} iterations, median of {p['repeats']} interleaved "
        "runs (timers add about 0.1 us per call)",
        f"{'piece':<34} {'mitbadak us':>11} {'floor us':>9} {'extra us':>9}",
    ]
    for row in p["rows"]:
        extra = row["mitbadak_us"] - row["floor_us"]
        lines.append(
            f"{row['piece']:<34} {row['mitbadak_us']:11.1f} {row['floor_us']:9.1f} {extra:9.1f}"
        )
    m, f = p["step_sum_us"]["mitbadak"], p["step_sum_us"]["floor"]
    lines.append(f"{'sum of the steps':<34} {m:11.1f} {f:9.1f} {m - f:9.1f}")
    em, ef = p["eval_ms"]["mitbadak"], p["eval_ms"]["floor"]
    lines.append(
        f"{'one evaluation (70k samples), ms':<34} {em:11.1f} {ef:9.1f} {em - ef:9.1f}   "
        f"({p['evals_per_run']} per run here)"
    )
    for row in p["eval_rows_ms"]:
        lines.append(f"  {row['piece']:<32} {row['mitbadak_ms']:11.1f}")
    tm, tf = p["total_s"]["mitbadak"], p["total_s"]["floor"]
    lines.append(f"{'whole run, s':<34} {tm:11.3f} {tf:9.3f}   ratio {tm / tf:.2f}")
    return "\n".join(lines)


def profile_trainer(data: Data, iters: int, seed: int, top: int = 25) -> str:
    from mitbadak.models import TwoLayerNet
    from mitbadak.optimizers import SGD
    from mitbadak.train import Trainer

    net = TwoLayerNet(*SIZES, INIT_STD, rng=np.random.default_rng(seed))
    trainer = Trainer(
        net,
        data.x_train,
        data.t_train,
        data.x_test,
        data.t_test,
        optimizer=SGD(lr=LR),
        iters=iters,
        rng=np.random.default_rng([seed, 1]),
        final_evaluation=False,
    )
    profiler = cProfile.Profile()
    profiler.enable()
    trainer.train()
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(top)
    text = out.getvalue()
    # Keep the table, drop pstats' preamble.
    return text[text.index("   ncalls") :].rstrip()


MEMORY_SCRIPT = r"""
# Runs the real `mitbadak train` (cli.main) with a checkpoint after each phase: the
# functions cli.main calls are wrapped, so the stages follow the CLI as it changes.
import json, sys, time
from pathlib import Path

stages = []
last = [time.perf_counter()]

def stage(name):
    now = time.perf_counter()
    seconds, last[0] = now - last[0], now
    status = Path("/proc/self/status").read_text().splitlines()
    kib = {l.split(":")[0]: int(l.split()[1]) for l in status if l.startswith(("VmHWM", "VmRSS"))}
    stages.append({"stage": name, "seconds": seconds, "rss_mib": kib["VmRSS"] / 1024,
                   "peak_mib": kib["VmHWM"] / 1024})

def checkpoint(owner, attr, name):
    fn = getattr(owner, attr)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        finally:
            stage(name)
    setattr(owner, attr, wrapper)

stage("interpreter start (not timed)")
import numpy
stage("import numpy")
from mitbadak import cli, plot, runs, train
import mitbadak.cli.train as cli_train
stage("import mitbadak.cli, runs, plot, train")
checkpoint(cli_train, "load_dataset", "load data (cli load_dataset)")
checkpoint(train.Trainer, "train", "build model + Trainer.train()")
checkpoint(runs, "save", "save model.npz")
checkpoint(plot, "plot_history", "history.json + plot_history (matplotlib)")
code = cli.main(["train", "--dataset", "fashion-mnist", "--iters", "ITERS", "--threads", "1",
                 "--no-progress", "--out", sys.argv[1] + "/run"])
stage("rest of cli.main")
assert code == 0, code
print(json.dumps(stages))
"""


def profile_memory(iters: int) -> list[dict[str, Any]]:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [sys.executable, "-c", MEMORY_SCRIPT.replace("ITERS", str(iters)), tmp],
            capture_output=True,
            text=True,
            check=True,
        )
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory_table(stages: list[dict[str, Any]]) -> str:
    lines = [
        "mitbadak train's stages in a fresh process: seconds, and memory after each (MiB)",
        f"{'stage':<44} {'seconds':>8} {'RSS':>7} {'peak':>7}",
    ]
    for s in stages:
        lines.append(
            f"{s['stage']:<44} {s['seconds']:8.3f} {s['rss_mib']:7.0f} {s['peak_mib']:7.0f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "profile.json")
    args = parser.parse_args(argv)

    info = machine_info()
    print(describe_machine(info), flush=True)
    data = load_data()
    with limit_threads(1):
        mitbadak_pieces(data, 100, args.seed)  # warm-up
        floor_pieces(data, 100, args.seed)
        pieces = profile_pieces(data, args.iters, args.repeats, args.seed)
        print("\n" + pieces_table(pieces), flush=True)
        cprofile = profile_trainer(data, args.iters, args.seed)
        print(f"\ncProfile of Trainer.train ({args.iters} iterations), by own time\n{cprofile}")
    stages = profile_memory(args.iters)
    print("\n" + memory_table(stages))
    write_json(
        args.json,
        {
            "benchmark": "profile_loop",
            "machine": info,
            "pieces": pieces,
            "cprofile": cprofile,
            "memory_stages": stages,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
