"""SimpleConvNet training steps: mitbadak against PyTorch CPU on the same shapes.

The book's SimpleConvNet: conv 30 filters 5x5 (stride 1, no padding) -> ReLU -> max
pool 2x2 stride 2 -> affine 100 -> ReLU -> affine 10 -> softmax cross-entropy, on a
batch of 100 1x28x28 images, one SGD step (lr 0.1) per call, one thread for both.
Steps are timed interleaved, the order rotating every round, so that both see the
same machine load; the table gives medians and the ratio per pair.

Run: .venv/bin/python benchmarks/bench_conv.py [--steps 40] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (
    RESULTS_DIR,
    describe_machine,
    interleaved,
    limit_threads,
    machine_info,
    median,
    write_json,
)

BATCH = 100
LR = 0.1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=40, help="timed steps per contender")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "conv.json")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from mitbadak.models import SimpleConvNet
    from mitbadak.optimizers import SGD

    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, BATCH)
    with limit_threads(1):
        net = SimpleConvNet(rng=np.random.default_rng(1))
        optimizer = SGD(lr=LR)
        # The same initial weights in torch; our Affine W is (in, out), torch's (out, in).
        p = {name: torch.tensor(np.array(net.params[name])) for name in net.params}
        for tensor in p.values():
            tensor.requires_grad_(True)
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)

        def ours() -> float:
            start = time.perf_counter()
            _, grads = net.loss_and_gradient(x, t)
            optimizer.update(net.params, grads)
            return time.perf_counter() - start

        def theirs() -> float:
            start = time.perf_counter()
            h = F.relu(F.conv2d(tx, p["W1"], p["b1"]))
            h = F.max_pool2d(h, 2, 2).flatten(1)
            h = F.relu(h @ p["W2"] + p["b2"])
            loss = F.cross_entropy(h @ p["W3"] + p["b3"], tt)
            loss.backward()
            with torch.no_grad():
                for tensor in p.values():
                    assert tensor.grad is not None
                    tensor -= LR * tensor.grad
                    tensor.grad = None
            return time.perf_counter() - start

        contenders = {"mitbadak": ours, "pytorch": theirs}
        interleaved(contenders, 3, verbose=False)  # warm up caches and allocators
        times = interleaved(contenders, args.steps, verbose=False)

    ours_ms = [a * 1e3 for a in times["mitbadak"]]
    torch_ms = [b * 1e3 for b in times["pytorch"]]
    ratio = median([a / b for a, b in zip(ours_ms, torch_ms, strict=True)])
    info = machine_info()
    table = (
        f"SimpleConvNet step (batch {BATCH}, 30 filters 5x5, hidden 100), one thread, "
        f"{args.steps} interleaved pairs\n"
        f"contender   median ms   min ms\n"
        f"mitbadak    {median(ours_ms):9.1f} {min(ours_ms):8.1f}\n"
        f"pytorch     {median(torch_ms):9.1f} {min(torch_ms):8.1f}\n"
        f"mitbadak/pytorch: {ratio:.2f} (median of per-pair ratios; target <= 3)"
    )
    print(describe_machine(info))
    print(table)
    write_json(
        args.json,
        {
            "benchmark": "bench_conv",
            "machine": info,
            "steps": args.steps,
            "mitbadak_ms": ours_ms,
            "pytorch_ms": torch_ms,
            "ratio_median": ratio,
            "table": table,
        },
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
