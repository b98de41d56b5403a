"""DeepConvNet training steps: mitbadak against PyTorch CPU on the same network.

The book's chapter-8 network: six 3x3 convolutions (16-16-32-32-64-64, padding 1, the
fourth padding 2) with ReLU, a 2x2 max pooling after every second one, Affine 50 ->
ReLU -> dropout 0.5 -> Affine 10 -> dropout 0.5 -> softmax cross-entropy, on a batch of
100 1x28x28 images, one Adam step (lr 0.001, the book's train_deepnet.py) per call, one
thread for both. PyTorch starts from the same weights. Steps are timed interleaved, the
order rotating every round (``_common.interleaved``), so that all see the same load; the table
gives medians and the median of the per-pair ratios.

A third contender, the floor, is what any im2col convolution cannot skip: the matrix
products of the step (forward ``W @ col``; backward ``col @ doutᵀ`` and ``Wᵀ @ dout``,
the first layer's input gradient left out; the two Affine layers), on column matrices
built once outside the timed region, in NumPy's BLAS. No unfolding, folding back,
ReLU, pooling, softmax or update: mitbadak/floor says how much of the step is overhead,
pytorch/floor how far PyTorch's own convolution kernels go past NumPy's GEMMs.

Run: .venv/bin/python benchmarks/bench_deepconv.py [--steps 30] [--json PATH]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
LR = 0.001


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30, help="timed steps per contender")
    parser.add_argument("--json", type=Path, default=RESULTS_DIR / "deepconv.json")
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from mitbadak.models import DeepConvNet
    from mitbadak.optimizers import Adam

    rng = np.random.default_rng(0)
    x = rng.random((BATCH, 1, 28, 28), dtype=np.float32)
    t = rng.integers(0, 10, BATCH)
    with limit_threads(1):
        torch.set_num_threads(1)
        net = DeepConvNet(rng=np.random.default_rng(1))
        optimizer = Adam(lr=LR)
        convs = [(f"W{i}", f"b{i}", net.cfg.conv_params[i - 1]["pad"]) for i in range(1, 7)]
        p = {name: torch.tensor(np.array(net.params[name])) for name in net.params}
        for tensor in p.values():
            tensor.requires_grad_(True)
        torch_optimizer = torch.optim.Adam(list(p.values()), lr=LR)
        tx, tt = torch.from_numpy(x), torch.from_numpy(t)

        def ours() -> float:
            start = time.perf_counter()
            _, grads = net.loss_and_gradient(x, t)
            optimizer.update(net.params, grads)
            return time.perf_counter() - start

        def theirs() -> float:
            start = time.perf_counter()
            h = tx
            for i, (w, b, pad) in enumerate(convs):
                h = F.relu(F.conv2d(h, p[w], p[b], padding=pad))
                if i % 2 == 1:
                    h = F.max_pool2d(h, 2, 2)
            h = F.dropout(F.relu(h.flatten(1) @ p["W7"] + p["b7"]), 0.5)
            h = F.dropout(h @ p["W8"] + p["b8"], 0.5)
            loss = F.cross_entropy(h, tt)
            torch_optimizer.zero_grad()
            loss.backward()
            torch_optimizer.step()
            return time.perf_counter() - start

        floor = _floor_step(net, x)

        contenders = {"mitbadak": ours, "pytorch": theirs, "floor": floor}
        interleaved(contenders, 3, verbose=False)  # warm up caches and allocators
        times = interleaved(contenders, args.steps, verbose=False)

    ours_ms, torch_ms, floor_ms = ([s * 1e3 for s in times[name]] for name in contenders)
    ratio = median([a / b for a, b in zip(ours_ms, torch_ms, strict=True)])
    vs_floor = median([a / c for a, c in zip(ours_ms, floor_ms, strict=True)])
    torch_vs_floor = median([b / c for b, c in zip(torch_ms, floor_ms, strict=True)])
    info = machine_info()
    table = (
        f"DeepConvNet step (batch {BATCH}, Adam), one thread, {args.steps} interleaved pairs\n"
        f"contender   median ms   min ms\n"
        f"mitbadak    {median(ours_ms):9.1f} {min(ours_ms):8.1f}\n"
        f"pytorch     {median(torch_ms):9.1f} {min(torch_ms):8.1f}\n"
        f"floor       {median(floor_ms):9.1f} {min(floor_ms):8.1f}\n"
        f"mitbadak/pytorch: {ratio:.2f} (median of per-step ratios; target <= 1.5)\n"
        f"mitbadak/floor: {vs_floor:.2f}   pytorch/floor: {torch_vs_floor:.2f}"
    )
    print(describe_machine(info))
    print(table)
    write_json(
        args.json,
        {
            "benchmark": "bench_deepconv",
            "machine": info,
            "steps": args.steps,
            "mitbadak_ms": ours_ms,
            "pytorch_ms": torch_ms,
            "floor_ms": floor_ms,
            "ratio_median": ratio,
            "mitbadak_vs_floor": vs_floor,
            "pytorch_vs_floor": torch_vs_floor,
            "table": table,
        },
    )
    return 0


def _floor_step(net: Any, x: np.ndarray) -> Callable[[], float]:
    """The GEMMs of one training step of ``net`` on ``x``, as a timed closure."""
    from mitbadak.im2col import im2col

    gemms: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = []
    h = x
    for i, layer in enumerate(net.layers.values()):
        name = type(layer).__name__
        if name == "Convolution":
            W = layer.W.reshape(layer.W.shape[0], -1)
            col = im2col(h, *layer.W.shape[2:], layer.stride, layer.pad)
            dout = np.ones((h.shape[0], W.shape[0], col.shape[2]), dtype=np.float32)
            gemms.append((W, col, None if i == 0 else dout))
        h = layer.forward(h, train=True)
    affines = [layer for layer in net.layers.values() if type(layer).__name__ == "Affine"]
    dense = [(a.W, np.ones((x.shape[0], a.W.shape[0]), np.float32)) for a in affines]

    def step() -> float:
        start = time.perf_counter()
        for W, col, dout in gemms:
            out = W @ col
            # dW as col @ doutᵀ, the faster of the two orders on these shapes.
            (col @ out.transpose(0, 2, 1)).sum(axis=0)
            if dout is not None:
                W.T @ dout  # dcol
        for W, a in dense:
            z = a @ W
            a.T @ z  # dW
            z @ W.T  # dx
        return time.perf_counter() - start

    return step


if __name__ == "__main__":
    sys.exit(main())
