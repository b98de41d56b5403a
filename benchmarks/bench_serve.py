"""Latency of `mitbadak serve`'s predict-and-explain request for the book's network.

The book's 784-50-10 TwoLayerNet, trained as `mitbadak train --dataset mnist-sample` trains
it, is served by `mitbadak serve` in its own process (as a user starts it); this process is
the client. Each request is what the page sends while you draw: the canvas (280x280 gray
levels, a test digit drawn large, dark on white) to be prepared as MNIST's digits, the
prediction, the hidden layer and the whole traced backward pass with its sampled central
differences. Timed from opening the connection to the last byte of the answer. A second
series sends already prepared 28x28 pixels (no preprocessing). Requests alternate between
the two series, one at a time; the first ones warm up and are not counted.

    .venv/bin/python benchmarks/bench_serve.py [--requests 300] [--warmup 20]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS_DIR, describe_machine, machine_info, write_json  # noqa: E402

CANVAS = 280


def drawings(count: int) -> tuple[list[bytes], list[bytes], np.ndarray]:
    """``count`` test digits as the page's canvas sends them, and as prepared pixels."""
    from mitbadak.data import load_mnist

    _, (x, t) = load_mnist(dataset="mnist-sample")
    image_bodies, pixel_bodies = [], []
    for i in range(count):
        digit = Image.fromarray(np.round(255 * x[i].reshape(28, 28)).astype(np.uint8))
        big = digit.resize((200, 200), Image.Resampling.BICUBIC)
        sheet = Image.new("L", (CANVAS, CANVAS), 0)
        sheet.paste(big, (40, 40))
        gray = 255 - np.asarray(sheet)  # dark ink on white, as on the page
        encoded = base64.b64encode(gray.tobytes()).decode()
        image = {"width": CANVAS, "height": CANVAS, "gray": encoded}
        image_bodies.append(json.dumps({"image": image}).encode())
        pixel_bodies.append(json.dumps({"pixels": x[i].tolist()}).encode())
    return image_bodies, pixel_bodies, t[:count]


def post(host: str, port: int, body: bytes) -> tuple[float, dict[str, Any], int]:
    """One request: its wall time in ms, the answer, and the answer's size in bytes."""
    start = time.perf_counter()
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("POST", "/api/predict", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read()
    elapsed = 1000 * (time.perf_counter() - start)
    conn.close()
    if response.status != 200:
        raise SystemExit(f"request failed: {response.status} {raw[:200]!r}")
    return elapsed, json.loads(raw), len(raw)


def summary(ms: list[float]) -> dict[str, float]:
    q = np.percentile(ms, [50, 95, 99])
    return {
        "median_ms": round(float(q[0]), 2),
        "p95_ms": round(float(q[1]), 2),
        "p99_ms": round(float(q[2]), 2),
        "mean_ms": round(statistics.fmean(ms), 2),
        "max_ms": round(max(ms), 2),
        "requests": len(ms),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=300, help="timed requests per series")
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "serve.json")
    args = parser.parse_args()

    info = machine_info()
    print(describe_machine(info))
    mitbadak = [sys.executable, "-m", "mitbadak"]
    with tempfile.TemporaryDirectory(prefix="bench-serve-") as folder:
        runs = Path(folder) / "runs"
        subprocess.run(
            [*mitbadak, "train", "--dataset", "mnist-sample", "--no-progress"],
            cwd=folder,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        model = runs / "001" / "model.npz"
        server = subprocess.Popen(
            [*mitbadak, "serve", str(model), "--port", "0", "--runs", str(runs)],
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert server.stdout is not None
            server.stdout.readline()
            url = server.stdout.readline().split()[3]
            host, port = url.removeprefix("http://").rstrip("/").rsplit(":", 1)
            count = args.requests + args.warmup
            images, pixels, labels = drawings(count)
            timings: dict[str, list[float]] = {"drawing": [], "pixels": []}
            server_ms: dict[str, list[float]] = {"drawing": [], "pixels": []}
            sizes, right = [], 0
            load_before = os.getloadavg()
            for i in range(count):
                for series, body in (("drawing", images[i]), ("pixels", pixels[i])):
                    ms, answer, size = post(host, int(port), body)
                    if i >= args.warmup:
                        timings[series].append(ms)
                        server_ms[series].append(answer["milliseconds"])
                        if series == "drawing":
                            sizes.append(size)
                            right += int(answer["predicted"] == labels[i])
            load_after = os.getloadavg()
        finally:
            server.terminate()
            server.wait(timeout=30)

    results = {
        series: {**summary(ms), "server_median_ms": statistics.median(server_ms[series])}
        for series, ms in timings.items()
    }
    print(
        f"\npredict-and-explain of the book's network, {args.requests} requests per series "
        f"after {args.warmup} warm-up, one at a time"
    )
    print(f"{'series':<10}{'median':>9}{'p95':>9}{'p99':>9}{'max':>9}{'in server':>11}  (ms)")
    for series, r in results.items():
        print(
            f"{series:<10}{r['median_ms']:>9.1f}{r['p95_ms']:>9.1f}{r['p99_ms']:>9.1f}"
            f"{r['max_ms']:>9.1f}{r['server_median_ms']:>11.1f}"
        )
    print(
        f"answer size {statistics.median(sizes) / 1024:.0f} KiB (median); drawn digits "
        f"classified right: {right}/{args.requests}"
    )
    print(f"load average before {load_before}, after {load_after}")
    write_json(
        args.json,
        {
            "machine": info,
            "requests": args.requests,
            "warmup": args.warmup,
            "results": results,
            "answer_bytes_median": statistics.median(sizes),
            "drawn_right": right,
            "load_before": list(load_before),
            "load_after": list(load_after),
        },
    )


if __name__ == "__main__":
    main()
