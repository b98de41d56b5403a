"""Learning curves as a PNG (matplotlib's Agg backend: no display needed)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from mitbadak._files import atomic_target
from mitbadak.train import History

__all__ = ["plot_history"]


def plot_history(history: History, path: str | os.PathLike[str], *, title: str = "") -> Path:
    """Draw the loss per iteration and the train/test accuracy per epoch into ``path``."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    # Fixed margins instead of a layout engine: the constrained solver doubled the time.
    fig = Figure(figsize=(10, 4))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.86, wspace=0.22)
    ax_loss, ax_acc = fig.subplots(1, 2)

    loss = np.asarray(history.train_loss, dtype=np.float64)
    iterations = np.arange(len(loss))
    ax_loss.plot(iterations, loss, color="tab:blue", alpha=0.35, linewidth=0.8, label="batch loss")
    window = max(1, len(loss) // 50)
    if len(loss) >= window > 1:
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        ax_loss.plot(iterations[window - 1 :], smooth, color="tab:blue", label=f"mean of {window}")
    ax_loss.set_xlabel("iteration")
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("training loss")
    ax_loss.legend(loc="upper right")

    epochs = [r.epoch for r in history.epochs]
    ax_acc.plot(epochs, [r.train_acc for r in history.epochs], "o-", label="train")
    ax_acc.plot(epochs, [r.test_acc for r in history.epochs], "s--", label="test")
    ax_acc.set_xlabel("epoch")
    ax_acc.set_ylabel("accuracy")
    ax_acc.set_ylim(0, 1)
    ax_acc.set_title("accuracy")
    ax_acc.legend(loc="lower right")
    if title:
        fig.suptitle(title)

    target = Path(path)
    with atomic_target(target) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    return target
