"""The reference workload as a standalone PyTorch script, for the whole-process benchmark.

Does what ``mitbadak train --dataset fashion-mnist`` does, the idiomatic PyTorch way:
reads the four IDX ``.gz`` files itself, trains the 784-50-10 net (batches of 100 drawn
with replacement, SGD lr 0.1, weights 0.01 * N(0, 1)), prints the full train and test
accuracy at every ``i % 600 == 0`` (chunks of 10,000) and, as ``mitbadak train`` does,
once more after the last iteration unless that was an epoch boundary
(``--no-final-eval`` for the book's schedule), and saves the model with ``torch.save``.
The last line is ``TIMINGS {json}`` with its own phase times.

    python benchmarks/torch_train.py --iters 1000 --threads 1 --out /tmp/torch-run
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

DATA_DIR = Path("/usr/share/datasets/fashion-mnist")


def read_idx(path: Path, offset: int) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), dtype=np.uint8, offset=offset)


def load(data_dir: Path) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    def images(name: str) -> torch.Tensor:
        raw = read_idx(data_dir / name, 16).reshape(-1, 784)
        return torch.from_numpy(raw.copy()).float().div_(255.0)

    def labels(name: str) -> torch.Tensor:
        return torch.from_numpy(read_idx(data_dir / name, 8).astype(np.int64))

    return (
        images("train-images-idx3-ubyte.gz"),
        labels("train-labels-idx1-ubyte.gz"),
        images("t10k-images-idx3-ubyte.gz"),
        labels("t10k-labels-idx1-ubyte.gz"),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iters", type=int, default=1000)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--data-dir", type=Path, default=DATA_DIR)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--no-final-eval", action="store_true", help="the book's schedule")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    x, t, x_test, t_test = load(args.data_dir)
    loaded = time.perf_counter()

    gen = torch.Generator().manual_seed(args.seed)
    model = nn.Sequential(nn.Linear(784, 50), nn.ReLU(), nn.Linear(50, 10))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.weight.normal_(0.0, 0.01, generator=gen)
            layer.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)

    def accuracy(xs: torch.Tensor, ts: torch.Tensor) -> float:
        correct = 0
        with torch.no_grad():
            for s in range(0, len(xs), 10_000):
                scores = model(xs[s : s + 10_000])
                correct += int((scores.argmax(dim=1) == ts[s : s + 10_000]).sum())
        return correct / len(xs)

    def report(i: int, loss: float) -> None:
        train_acc, test_acc = accuracy(x, t), accuracy(x_test, t_test)
        print(
            f"epoch {i / iter_per_epoch:6.2f}  iter {i:6d}  loss {loss:.4f}  "
            f"train acc {train_acc:.4f}  test acc {test_acc:.4f}  "
            f"{time.perf_counter() - loaded:7.2f}s",
            flush=True,
        )

    n = len(x)
    iter_per_epoch = max(n // args.batch_size, 1)
    losses: list[float] = []
    print(f"training on fashion-mnist: {n} train / {len(x_test)} test, batch {args.batch_size}")
    for i in range(args.iters):
        idx = torch.randint(0, n, (args.batch_size,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), t[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if i % iter_per_epoch == 0:
            report(i, losses[-1])
    last = args.iters - 1
    if not args.no_final_eval and last % iter_per_epoch != 0:
        report(last, losses[-1])
    trained = time.perf_counter()

    args.out.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), args.out / "model.pt")
    (args.out / "losses.json").write_text(json.dumps(losses))
    saved = time.perf_counter()
    timings = {"load": loaded - start, "train": trained - loaded, "save": saved - trained}
    print(f"saved model to {args.out}")
    print("TIMINGS " + json.dumps(timings))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
