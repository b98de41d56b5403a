"""Speed of the reference workload: mitbadak against PyTorch and the BLAS floor (issue 5).

Four contenders run the same workload in this process, interleaved round-robin with a
rotating order, one BLAS thread each (see ``_common.py`` for the workload and for what
each contender does):

    mitbadak-trainer   mitbadak.train.Trainer, the public API (final_evaluation=False)
    mitbadak-loop      the book's loop on TwoLayerNet.loss_and_gradient + SGD.update
    pytorch            idiomatic PyTorch CPU (nn.Sequential, torch.optim.SGD), float32
    floor              only the GEMMs, batch gathers and parameter updates, float32 NumPy

Then one full numerical gradient of TwoLayerNet against backprop (float64, batch of
100), and the whole process: ``mitbadak train`` against ``benchmarks/torch_train.py``
as subprocesses, interleaved, with each child's peak RSS from ``os.wait4``. Both
processes evaluate once more after the last iteration, as ``mitbadak train`` does.

    .venv/bin/python benchmarks/bench_train.py                 # full, about 6-8 minutes
    .venv/bin/python benchmarks/bench_train.py --quick         # about a minute
    .venv/bin/python benchmarks/bench_train.py --iters 1000 --repeats 9 --json out.json

Compare ratios measured here side by side, never seconds across runs or machines.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from _common import (
    BATCH,
    CONTENDERS,
    RESULTS_DIR,
    SIZES,
    Data,
    describe_machine,
    interleaved,
    limit_threads,
    load_data,
    machine_info,
    median,
    write_json,
)

HERE = Path(__file__).resolve().parent
OURS = ("mitbadak-trainer", "mitbadak-loop")
TARGET_VS_TORCH = 0.5
TARGET_VS_FLOOR = 1.2
TARGET_PROCESS = 0.3
TARGET_RSS_MB = 300


# --------------------------------------------------------------------------- in-process loops


def bench_loops(data: Data, iters: int, repeats: int, seed: int) -> dict[str, Any]:
    runs = interleaved(
        {name: (lambda f=f: f(data, iters, seed)) for name, f in CONTENDERS.items()},
        repeats,
        label=f"{iters:>5} iters  ",
    )
    seconds = {name: [r.seconds for r in rs] for name, rs in runs.items()}
    medians = {name: median(s) for name, s in seconds.items()}
    ratios: dict[str, dict[str, float]] = {}
    for ours in OURS:
        for ref in ("pytorch", "floor"):
            per_round = [a / b for a, b in zip(seconds[ours], seconds[ref], strict=True)]
            ratios[f"{ours}/{ref}"] = {
                "of_medians": medians[ours] / medians[ref],
                "median_per_round": median(per_round),
                "min_per_round": min(per_round),
                "max_per_round": max(per_round),
            }
    return {
        "iters": iters,
        "repeats": repeats,
        "seconds": seconds,
        "median_s": medians,
        "min_s": {name: min(s) for name, s in seconds.items()},
        "test_acc": {name: rs[-1].test_acc for name, rs in runs.items()},
        "ratios": ratios,
    }


def loop_table(result: dict[str, Any]) -> str:
    med, mins, acc = result["median_s"], result["min_s"], result["test_acc"]
    lines = [
        f"{result['iters']} iterations, {result['repeats']} interleaved rounds",
        f"{'contender':<18} {'median s':>9} {'min s':>8} {'/pytorch':>9} {'/floor':>7}  test acc",
    ]
    for name in med:
        lines.append(
            f"{name:<18} {med[name]:9.3f} {mins[name]:8.3f} "
            f"{med[name] / med['pytorch']:9.2f} {med[name] / med['floor']:7.2f}  "
            f"{'' if acc[name] is None else f'{acc[name]:.4f}'}"
        )
    lines.append("ratios as median of per-round ratios (target: /pytorch <= 0.5, /floor <= 1.2):")
    for ours in OURS:
        vt = result["ratios"][f"{ours}/pytorch"]["median_per_round"]
        vf = result["ratios"][f"{ours}/floor"]["median_per_round"]
        ok_t = "ok" if vt <= TARGET_VS_TORCH else "MISSED"
        ok_f = "ok" if vf <= TARGET_VS_FLOOR else "MISSED"
        lines.append(f"  {ours:<18} /pytorch {vt:5.2f} ({ok_t})   /floor {vf:5.2f} ({ok_f})")
    return "\n".join(lines)


# --------------------------------------------------------------------------- gradients


def bench_gradients(data: Data, quick: bool, seed: int) -> dict[str, Any]:
    """One full numerical gradient of the book's net vs one backprop gradient (float64)."""
    from mitbadak import gradcheck
    from mitbadak.models import TwoLayerNet

    net = TwoLayerNet(*SIZES, 0.01, rng=np.random.default_rng(seed), dtype=np.float64)
    x = data.x_train[:BATCH].astype(np.float64)
    t = data.t_train[:BATCH]
    n_params = sum(p.size for p in net.params.values())

    backprop = []
    for _ in range(20):
        net.gradient(x, t)  # warm-up
    for _ in range(300):
        start = time.perf_counter()
        analytic = net.gradient(x, t)
        backprop.append(time.perf_counter() - start)
    analytic = {k: v.copy() for k, v in analytic.items()}

    if quick:
        # Every entry costs two forward passes of the same size, so the time of the
        # smaller parameters' gradients extrapolates to the whole net.
        subset = ("b1", "W2", "b2")
        start = time.perf_counter()
        for name in subset:
            gradcheck.numerical_gradient(lambda _: net.loss(x, t), net.params[name], 1e-4)
        measured = time.perf_counter() - start
        entries = sum(net.params[name].size for name in subset)
        numerical = measured * n_params / entries
        how = f"extrapolated from {entries} of {n_params} entries ({measured:.2f} s measured)"
        agreement = None
    else:
        start = time.perf_counter()
        num = net.numerical_gradient(x, t)
        numerical = time.perf_counter() - start
        how = f"measured once, all {n_params} entries"
        # The book's measure, the mean absolute difference, per parameter. The largest
        # relative error says little here: where a sample's pre-activation of a hidden
        # unit lies within h of 0 (seed 0: unit 20 at 9e-7), the central difference
        # straddles the ReLU kink and that unit's W1 column and b1 entry are off.
        agreement = {}
        for name in analytic:
            result = gradcheck.compare(analytic[name], num[name])
            agreement[name] = {
                "mean_abs_diff": result.mean_abs_diff,
                "max_abs_diff": result.max_abs_diff,
                "max_abs_grad": float(np.abs(analytic[name]).max()),
            }
    return {
        "dtype": "float64",
        "batch": BATCH,
        "parameters": n_params,
        "numerical_s": numerical,
        "numerical_how": how,
        "backprop_median_s": median(backprop),
        "backprop_min_s": min(backprop),
        "backprop_calls": len(backprop),
        "speedup": numerical / median(backprop),
        "agreement": agreement,
    }


def gradient_table(g: dict[str, Any]) -> str:
    rel = ""
    if g["agreement"] is not None:
        diffs = ", ".join(f"{k} {v['mean_abs_diff']:.1e}" for k, v in g["agreement"].items())
        rel = f"\n  mean |backprop - numerical|: {diffs}"
    return (
        f"numerical vs backprop gradient (TwoLayerNet 784-50-10, {g['parameters']} parameters, "
        f"batch {g['batch']}, {g['dtype']})\n"
        f"  numerical  {g['numerical_s']:10.2f} s    ({g['numerical_how']})\n"
        f"  backprop   {g['backprop_median_s'] * 1e3:10.3f} ms   (median of "
        f"{g['backprop_calls']} calls)\n"
        f"  backprop is {g['speedup']:,.0f}x faster (one numerical gradient = "
        f"{2 * g['parameters']:,} forward passes){rel}"
    )


# --------------------------------------------------------------------------- whole process


def _mitbadak_command() -> list[str]:
    script = Path(sys.executable).with_name("mitbadak")
    return [str(script)] if script.exists() else [sys.executable, "-m", "mitbadak"]


def run_child(cmd: list[str], out_dir: Path) -> dict[str, Any]:
    """Run ``cmd`` to exit through ``_launch.py``: wall seconds and peak RSS (os.wait4).

    The launcher, a bare interpreter, spawns the child so that the child's ``ru_maxrss``
    is its own and not this process's (see ``_launch.py``). Wall time is measured by the
    launcher around spawn and wait, so it covers interpreter start, imports and exit.
    """
    log_path = out_dir.parent / (out_dir.name + ".log")
    launched = subprocess.run(
        [sys.executable, str(HERE / "_launch.py"), str(log_path), *cmd],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(launched.stdout.strip().splitlines()[-1])
    result["output"] = log_path.read_text(errors="replace")
    if result["returncode"] != 0:
        raise RuntimeError(f"{cmd} exited with {result['returncode']}:\n{result['output'][-2000:]}")
    return result


def _last_test_acc(output: str) -> float | None:
    lines = [line for line in output.splitlines() if "test acc" in line]
    accs = [line.split("test acc")[1].split()[0] for line in lines]
    return float(accs[-1]) if accs else None


def bench_processes(iters: int, repeats: int) -> dict[str, Any]:
    tmp = Path(tempfile.mkdtemp(prefix="mitbadak-bench-"))
    counter = iter(range(10**6))

    def mitbadak_run() -> dict[str, Any]:
        out = tmp / f"mitbadak-{next(counter)}"
        cmd = _mitbadak_command() + [
            "train",
            "--dataset",
            "fashion-mnist",
            "--iters",
            str(iters),
            "--threads",
            "1",
            "--no-progress",
            "--out",
            str(out),
        ]
        result = run_child(cmd, out)
        timings = json.loads((out / "history.json").read_text()).get("timings", {})
        result["phases"] = timings
        result["test_acc"] = _last_test_acc(result.pop("output"))
        shutil.rmtree(out, ignore_errors=True)
        return result

    def torch_run() -> dict[str, Any]:
        out = tmp / f"torch-{next(counter)}"
        cmd = [sys.executable, str(HERE / "torch_train.py"), "--iters", str(iters)]
        cmd += ["--threads", "1", "--out", str(out)]
        result = run_child(cmd, out)
        output = result.pop("output")
        lines = [line for line in output.splitlines() if line.startswith("TIMINGS ")]
        result["phases"] = json.loads(lines[-1][len("TIMINGS ") :]) if lines else {}
        result["test_acc"] = _last_test_acc(output)
        shutil.rmtree(out, ignore_errors=True)
        return result

    class Timed(dict):  # interleaved() prints .seconds
        @property
        def seconds(self) -> float:
            return self["seconds"]

    try:
        runs = interleaved(
            {
                "mitbadak train": lambda: Timed(mitbadak_run()),
                "torch_train.py": lambda: Timed(torch_run()),
            },
            repeats,
            label=f"process {iters:>5} iters  ",
        )
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    summary: dict[str, Any] = {"iters": iters, "repeats": repeats, "runs": {}}
    for name, rs in runs.items():
        summary["runs"][name] = [dict(r) for r in rs]
        summary[name] = {
            "median_s": median([r["seconds"] for r in rs]),
            "min_s": min(r["seconds"] for r in rs),
            "max_rss_mib": max(r["max_rss_kib"] for r in rs) / 1024,
            "max_rss_mb": max(r["max_rss_kib"] for r in rs) * 1024 / 1e6,
            "test_acc": rs[-1]["test_acc"],
            "phases_median_s": {
                key: median([r["phases"][key] for r in rs]) for key in rs[0]["phases"]
            },
        }
    ours, ref = runs["mitbadak train"], runs["torch_train.py"]
    per_round = [a["seconds"] / b["seconds"] for a, b in zip(ours, ref, strict=True)]
    summary["ratio_of_medians"] = (
        summary["mitbadak train"]["median_s"] / summary["torch_train.py"]["median_s"]
    )
    summary["ratio_median_per_round"] = median(per_round)
    summary["rss_ratio"] = (
        summary["mitbadak train"]["max_rss_mib"] / summary["torch_train.py"]["max_rss_mib"]
    )
    return summary


def process_table(p: dict[str, Any]) -> str:
    lines = [
        f"whole process, {p['iters']} iterations, {p['repeats']} interleaved rounds "
        "(wall from spawn to exit; peak RSS from os.wait4)",
        f"{'command':<16} {'median s':>9} {'min s':>8} {'peak RSS':>10}  test acc  "
        "phases (median s)",
    ]
    for name in ("mitbadak train", "torch_train.py"):
        s = p[name]
        phases = ", ".join(f"{k} {v:.2f}" for k, v in s["phases_median_s"].items())
        lines.append(
            f"{name:<16} {s['median_s']:9.2f} {s['min_s']:8.2f} {s['max_rss_mib']:6.0f} MiB  "
            f"{s['test_acc'] if s['test_acc'] is not None else '':<8}  {phases}"
        )
    ok_t = "ok" if p["ratio_median_per_round"] <= TARGET_PROCESS else "MISSED"
    mb = p["mitbadak train"]["max_rss_mb"]
    ok_m = "ok" if mb <= TARGET_RSS_MB else "MISSED"
    lines.append(
        f"mitbadak/torch: time {p['ratio_median_per_round']:.2f} (median per round; target "
        f"<= {TARGET_PROCESS}: {ok_t}), peak RSS {p['rss_ratio']:.2f}; mitbadak peak "
        f"{mb:.0f} MB = {p['mitbadak train']['max_rss_mib']:.0f} MiB (target <= "
        f"{TARGET_RSS_MB} MB: {ok_m})"
    )
    return "\n".join(lines)


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, nargs="+", default=None, help="(default: 1000 10000)")
    parser.add_argument("--repeats", type=int, default=None, help="rounds per size (default: 5)")
    parser.add_argument("--quick", action="store_true", help="3 rounds, 1000 iterations only")
    parser.add_argument("--process-iters", type=int, nargs="*", default=None)
    parser.add_argument("--process-repeats", type=int, default=None)
    parser.add_argument("--skip-loops", action="store_true")
    parser.add_argument("--skip-gradients", action="store_true")
    parser.add_argument("--skip-process", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "latest.json")
    args = parser.parse_args(argv)
    iters = args.iters or ([1000] if args.quick else [1000, 10_000])
    repeats = args.repeats or (3 if args.quick else 5)
    process_iters = iters if args.process_iters is None else args.process_iters
    process_repeats = args.process_repeats or repeats

    info = machine_info()
    print(describe_machine(info), flush=True)
    payload: dict[str, Any] = {
        "benchmark": "bench_train",
        "argv": sys.argv[1:],
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": info,
        "workload": {
            "sizes": SIZES,
            "batch": BATCH,
            "lr": 0.1,
            "weight_init_std": 0.01,
            "eval": "full train and test accuracy at i % 600 == 0, chunks of 10,000",
            "dataset": "fashion-mnist",
            "blas_threads": 1,
        },
        "loops": [],
    }
    tables: list[str] = []
    data = load_data()
    with limit_threads(1):
        info_limited = machine_info()["threadpools"]
        payload["threadpools_during_run"] = info_limited
        if not args.skip_loops:
            print("warm-up (100 iterations each)", flush=True)
            for f in CONTENDERS.values():
                f(data, 100, args.seed)
            for n in iters:
                result = bench_loops(data, n, repeats, args.seed)
                payload["loops"].append(result)
                tables.append(loop_table(result))
                print("\n" + tables[-1] + "\n", flush=True)
        if not args.skip_gradients:
            print("numerical vs backprop gradient ...", flush=True)
            payload["gradients"] = bench_gradients(data, args.quick, args.seed)
            tables.append(gradient_table(payload["gradients"]))
            print("\n" + tables[-1] + "\n", flush=True)
    if not args.skip_process:
        payload["process"] = []
        for n in process_iters:
            summary = bench_processes(n, process_repeats)
            payload["process"].append(summary)
            tables.append(process_table(summary))
            print("\n" + tables[-1] + "\n", flush=True)
    payload["load_average_end"] = list(os.getloadavg())
    payload["tables"] = tables
    print("=" * 100)
    print(describe_machine(info))
    print(f"load average at end: {payload['load_average_end']}")
    for table in tables:
        print("\n" + table)
    write_json(args.json, payload)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
