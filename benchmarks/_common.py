"""Shared pieces of the benchmarks: the reference workload, its contenders, machine facts.

The reference workload (issue 5): the book's 784-50-10 TwoLayerNet on Fashion-MNIST,
batches of 100 drawn with replacement, SGD with lr 0.1, weights 0.01 * N(0, 1), and the
accuracy on the full training (60k) and test (10k) sets at every ``i % 600 == 0``,
evaluated in chunks of 10,000. One BLAS thread.

Every contender is a function ``run(data, iters, seed) -> Result`` that builds its model,
runs the loop (evaluations included) and returns the seconds that took. Data loading is
never timed here; the whole-process benchmark covers it.
"""

from __future__ import annotations

import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

BATCH = 100
LR = 0.1
INIT_STD = 0.01
EVAL_CHUNK = 10_000
SIZES = (784, 50, 10)
RESULTS_DIR = Path(__file__).resolve().parent / "results"


@dataclass
class Data:
    x_train: np.ndarray  # (60000, 784) float32 in [0, 1]
    t_train: np.ndarray  # (60000,) int64
    x_test: np.ndarray
    t_test: np.ndarray

    @property
    def iter_per_epoch(self) -> int:
        return max(len(self.x_train) // BATCH, 1)


@dataclass
class Result:
    seconds: float
    test_acc: float | None  # the last per-epoch evaluation (the floor: untimed, after)


Contender = Callable[[Data, int, int], Result]


def load_data() -> Data:
    from mitbadak.data import load_mnist

    (x_train, t_train), (x_test, t_test) = load_mnist(dataset="fashion-mnist", download=False)
    return Data(x_train, t_train, x_test, t_test)


# --------------------------------------------------------------------------- contenders


def run_mitbadak_trainer(data: Data, iters: int, seed: int) -> Result:
    """mitbadak's public API: ``Trainer(...).train()`` with the reference settings."""
    from mitbadak.models import TwoLayerNet
    from mitbadak.optimizers import SGD
    from mitbadak.train import Trainer

    start = time.perf_counter()
    net = TwoLayerNet(*SIZES, INIT_STD, rng=np.random.default_rng(seed))
    trainer = Trainer(
        net,
        data.x_train,
        data.t_train,
        data.x_test,
        data.t_test,
        optimizer=SGD(lr=LR),
        batch_size=BATCH,
        iters=iters,
        rng=np.random.default_rng([seed, 1]),
        eval_batch_size=EVAL_CHUNK,
        # The book's schedule, like the other contenders: no extra evaluation after
        # the last iteration (the CLI keeps it; it costs one evaluation, ~85 ms).
        final_evaluation=False,
    )
    history = trainer.train()
    seconds = time.perf_counter() - start
    return Result(seconds, history.epochs[-1].test_acc)


def run_mitbadak_loop(data: Data, iters: int, seed: int) -> Result:
    """The book's loop written on mitbadak's layers: loss_and_gradient + SGD.update."""
    from mitbadak.models import TwoLayerNet
    from mitbadak.optimizers import SGD

    x, t, x_test, t_test = data.x_train, data.t_train, data.x_test, data.t_test
    n, per_epoch = len(x), data.iter_per_epoch
    start = time.perf_counter()
    net = TwoLayerNet(*SIZES, INIT_STD, rng=np.random.default_rng(seed))
    optimizer = SGD(lr=LR)
    rng = np.random.default_rng([seed, 1])
    losses: list[float] = []
    test_acc = None
    for i in range(iters):
        idx = rng.integers(0, n, size=BATCH)
        loss, grads = net.loss_and_gradient(x[idx], t[idx])
        optimizer.update(net.params, grads)
        losses.append(loss)
        if i % per_epoch == 0:
            net.accuracy(x, t, batch_size=EVAL_CHUNK)
            test_acc = net.accuracy(x_test, t_test, batch_size=EVAL_CHUNK)
    return Result(time.perf_counter() - start, test_acc)


def run_pytorch(data: Data, iters: int, seed: int) -> Result:
    """Idiomatic PyTorch CPU: nn.Sequential, F.cross_entropy, torch.optim.SGD, float32."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    x, t = torch.from_numpy(data.x_train), torch.from_numpy(data.t_train)
    x_test, t_test = torch.from_numpy(data.x_test), torch.from_numpy(data.t_test)
    n, per_epoch = len(x), data.iter_per_epoch
    start = time.perf_counter()
    gen = torch.Generator().manual_seed(seed)
    model = nn.Sequential(nn.Linear(SIZES[0], SIZES[1]), nn.ReLU(), nn.Linear(SIZES[1], SIZES[2]))
    with torch.no_grad():
        for layer in (model[0], model[2]):
            layer.weight.normal_(0.0, INIT_STD, generator=gen)
            layer.bias.zero_()
    optimizer = torch.optim.SGD(model.parameters(), lr=LR)

    def accuracy(xs: torch.Tensor, ts: torch.Tensor) -> float:
        correct = 0
        with torch.no_grad():
            for s in range(0, len(xs), EVAL_CHUNK):
                scores = model(xs[s : s + EVAL_CHUNK])
                correct += int((scores.argmax(dim=1) == ts[s : s + EVAL_CHUNK]).sum())
        return correct / len(xs)

    losses: list[float] = []
    test_acc = None
    for i in range(iters):
        idx = torch.randint(0, n, (BATCH,), generator=gen)
        loss = F.cross_entropy(model(x[idx]), t[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if i % per_epoch == 0:
            accuracy(x, t)
            test_acc = accuracy(x_test, t_test)
    return Result(time.perf_counter() - start, test_acc)


def run_floor(data: Data, iters: int, seed: int) -> Result:
    """The work no implementation of this workload can skip, in float32 NumPy.

    Per iteration: draw 100 indices, gather the batch, the two forward GEMMs (x@W1,
    h@W2), the three backward GEMMs that feed parameters (h.T@dout, dout@W2.T,
    x.T@dh; never the input's dx), the bias sums and the in-place update of the four
    parameters. Per epoch: x@W1 and h@W2 over both full sets in chunks of 10,000.

    Not computed: bias adds, ReLU, softmax, the loss, argmax. To keep the weights
    finite for 10,000 iterations without those, ``dout`` is the least-squares residual
    ``(scores - one_hot) / N`` (one subtraction); the network is linear and learns by
    least squares, which its (untimed) final accuracy shows.
    """
    x, t = data.x_train, data.t_train
    n, per_epoch, (d_in, d_hid, d_out) = len(x), data.iter_per_epoch, SIZES
    one_hot = np.eye(d_out, dtype=np.float32)[t]
    start = time.perf_counter()
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
    step = np.float32(LR / BATCH)  # the 1/N of the mean folded into the step
    for i in range(iters):
        idx = rng.integers(0, n, size=BATCH)
        xb = x[idx]  # a fresh array beats np.take(out=...), which copies via a buffer
        yb = one_hot[idx]
        np.matmul(xb, W1, out=h)
        np.matmul(h, W2, out=dout)
        dout -= yb
        np.matmul(h.T, dout, out=dW2)
        np.matmul(dout, W2.T, out=dh)
        np.matmul(xb.T, dh, out=dW1)
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
        if i % per_epoch == 0:
            for xs in (x, data.x_test):
                for s in range(0, len(xs), EVAL_CHUNK):
                    chunk = xs[s : s + EVAL_CHUNK]
                    np.matmul(chunk, W1, out=h_eval[: len(chunk)])
                    np.matmul(h_eval[: len(chunk)], W2, out=s_eval[: len(chunk)])
    seconds = time.perf_counter() - start
    if not (np.isfinite(W1).all() and np.isfinite(W2).all()):
        raise RuntimeError("the floor's weights diverged; its timing would mean nothing")
    # Untimed sanity check: the linear net learned something (no biases, as timed).
    scores = (data.x_test @ W1) @ W2
    return Result(seconds, float(np.mean(scores.argmax(axis=1) == data.t_test)))


CONTENDERS: dict[str, Contender] = {
    "mitbadak-trainer": run_mitbadak_trainer,
    "mitbadak-loop": run_mitbadak_loop,
    "pytorch": run_pytorch,
    "floor": run_floor,
}


# --------------------------------------------------------------------------- running


def limit_threads(n: int) -> Any:
    """Limit every BLAS/OpenMP pool in this process (and torch's) to ``n`` threads."""
    from threadpoolctl import threadpool_limits

    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass
    return threadpool_limits(limits=n)


def interleaved(
    contenders: dict[str, Callable[[], Any]],
    repeats: int,
    *,
    label: str = "",
    verbose: bool = True,
) -> dict[str, list[Any]]:
    """Run each contender once per round, rotating the order every round.

    Round r starts with contender r mod k, so no contender always runs first (cold
    caches, just after a garbage collection) or always follows the same neighbour.
    Returns each contender's results in round order, so that results of one round
    can be compared with each other.
    """
    names = list(contenders)
    out: dict[str, list[Any]] = {name: [] for name in names}
    for r in range(repeats):
        k = r % len(names)
        order = names[k:] + names[:k]
        for name in order:
            result = contenders[name]()
            out[name].append(result)
            if verbose:
                secs = result.seconds if hasattr(result, "seconds") else result
                print(f"  {label}round {r + 1}/{repeats}  {name:<18} {secs:8.3f} s", flush=True)
    return out


def median(values: list[float]) -> float:
    return float(statistics.median(values))


# --------------------------------------------------------------------------- machine


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = line.split(":", 1)[1].split()
                return sorted(f for f in flags if f.startswith(("avx", "fma", "amx")))
    except OSError:
        pass
    return []


def _git_commit() -> str | None:
    import subprocess

    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def machine_info() -> dict[str, Any]:
    """Facts that make a timing interpretable: CPU, BLAS kernel, threads, versions, env."""
    from threadpoolctl import threadpool_info

    import mitbadak

    info: dict[str, Any] = {
        "cpu": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "logical_cpus": os.cpu_count(),
        "usable_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "numpy": np.__version__,
        "mitbadak": mitbadak.__version__,
        "git_commit": _git_commit(),
        "threadpools": [
            {
                key: pool.get(key)
                for key in (
                    "user_api",
                    "internal_api",
                    "prefix",
                    "version",
                    "architecture",
                    "num_threads",
                    "threading_layer",
                )
            }
            for pool in threadpool_info()
        ],
        "env": {
            key: os.environ.get(key)
            for key in (
                "OPENBLAS_CORETYPE",
                "OPENBLAS_L2_SIZE",
                "OPENBLAS_NUM_THREADS",
                "OMP_NUM_THREADS",
                "MKL_NUM_THREADS",
            )
            if key in os.environ
        },
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }
    try:
        import torch

        info["torch"] = torch.__version__
        info["torch_threads"] = torch.get_num_threads()
        info["torch_cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    except ImportError:
        info["torch"] = None
    return info


def describe_machine(info: dict[str, Any]) -> str:
    blas = [p for p in info["threadpools"] if p["user_api"] == "blas"]
    blas_text = ", ".join(
        f"{p['internal_api']} {p['version']} ({p['architecture']}, {p['num_threads']} threads)"
        for p in blas
    )
    env = ", ".join(f"{k}={v}" for k, v in info["env"].items()) or "none set"
    return (
        f"CPU: {info['cpu']} ({info['usable_cpus']} usable cores)\n"
        f"BLAS: {blas_text}\n"
        f"python {info['python']}, numpy {info['numpy']}, torch {info.get('torch')} "
        f"({info.get('torch_cpu_capability')}), mitbadak {info['mitbadak']} "
        f"(git {info['git_commit']})\n"
        f"BLAS env: {env}; load average at start: {info['load_average']}"
    )


def write_json(path: Path, payload: dict[str, Any]) -> None:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2) + "\n")
    print(f"wrote {path}")
