"""Should mitbadak use 1 or 2 BLAS threads? The loop with each, on a quiet and a busy machine.

The mitbadak loop of the reference workload (``_common.run_mitbadak_loop``, 1000
iterations by default) runs with 1 and with 2 OpenBLAS threads, in three conditions:

    quiet          nothing else started by this script
    busy-python    a neighbour process spins a pure-Python loop on one core
    busy-numpy     a neighbour process runs single-threaded 256x256 float32 GEMMs

Each neighbour is a separate process (multiprocessing, spawn), started before the
condition's runs and stopped after them. Conditions and thread counts are interleaved
round-robin with a rotating order. About a minute with the defaults.

    .venv/bin/python benchmarks/bench_threads.py [--iters 1000] [--repeats 5] [--json PATH]
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    RESULTS_DIR,
    describe_machine,
    limit_threads,
    load_data,
    machine_info,
    median,
    run_mitbadak_loop,
    write_json,
)

CONDITIONS = ("quiet", "busy-python", "busy-numpy")
THREADS = (1, 2)


def _spin_python(stop: Any) -> None:
    while not stop.is_set():
        total = 0
        for i in range(100_000):
            total += i * i


def _spin_numpy(stop: Any) -> None:
    import numpy as np
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        a = np.random.default_rng(0).standard_normal((256, 256), dtype=np.float32)
        while not stop.is_set():
            for _ in range(50):
                a = a @ a
                a /= np.abs(a).max()


class Neighbour:
    """A busy process on one core, from ``start()`` to ``stop()``."""

    def __init__(self, kind: str) -> None:
        ctx = mp.get_context("spawn")
        self.stop_event = ctx.Event()
        target = _spin_python if kind == "busy-python" else _spin_numpy
        self.process = ctx.Process(target=target, args=(self.stop_event,), daemon=True)

    def start(self) -> None:
        self.process.start()
        time.sleep(0.5)  # let it import and reach its loop

    def stop(self) -> None:
        self.stop_event.set()
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "threads.json")
    args = parser.parse_args(argv)

    info = machine_info()
    print(describe_machine(info), flush=True)
    data = load_data()
    seconds: dict[str, dict[int, list[float]]] = {c: {n: [] for n in THREADS} for c in CONDITIONS}
    load: dict[str, list[float]] = {c: [] for c in CONDITIONS}
    with limit_threads(1):
        run_mitbadak_loop(data, 100, args.seed)  # warm-up
    for r in range(args.repeats):
        k = r % len(CONDITIONS)
        for condition in CONDITIONS[k:] + CONDITIONS[:k]:
            neighbour = None if condition == "quiet" else Neighbour(condition)
            if neighbour is not None:
                neighbour.start()
            try:
                threads = THREADS if r % 2 == 0 else THREADS[::-1]
                for n in threads:
                    with limit_threads(n):
                        secs = run_mitbadak_loop(data, args.iters, args.seed).seconds
                    seconds[condition][n].append(secs)
                    print(
                        f"  round {r + 1}/{args.repeats}  {condition:<12} {n} thread(s) "
                        f"{secs:7.3f} s",
                        flush=True,
                    )
                load[condition].append(os.getloadavg()[0])
            finally:
                if neighbour is not None:
                    neighbour.stop()

    summary: dict[str, Any] = {}
    lines = [
        f"mitbadak loop, {args.iters} iterations, median of {args.repeats} interleaved rounds "
        f"({os.cpu_count()} cores)",
        f"{'condition':<13} {'1 thread s':>10} {'2 threads s':>11} {'2/1 per round':>14}  "
        "1-min load",
    ]
    for condition in CONDITIONS:
        one, two = seconds[condition][1], seconds[condition][2]
        per_round = [b / a for a, b in zip(one, two, strict=True)]
        summary[condition] = {
            "seconds": {str(n): seconds[condition][n] for n in THREADS},
            "median_s": {str(n): median(seconds[condition][n]) for n in THREADS},
            "ratio_2_over_1_median_per_round": median(per_round),
            "load_average_1min": load[condition],
        }
        lines.append(
            f"{condition:<13} {median(one):10.3f} {median(two):11.3f} "
            f"{median(per_round):14.2f}  {median(load[condition]):.2f}"
        )
    lines.append("2/1 < 1 means two threads are faster.")
    table = "\n".join(lines)
    print("\n" + table)
    write_json(
        args.json,
        {
            "benchmark": "bench_threads",
            "argv": sys.argv[1:],
            "machine": info,
            "iters": args.iters,
            "repeats": args.repeats,
            "results": summary,
            "table": table,
        },
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
