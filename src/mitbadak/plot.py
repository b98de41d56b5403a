"""Learning curves as a PNG (matplotlib's Agg backend: no display needed), in English or Korean.

Korean labels need a font with Hangul (:mod:`mitbadak.hangul`); without one the figure
falls back to English and one line on stderr says what to install.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np

from mitbadak._files import atomic_target
from mitbadak.hangul import hangul_font, hangul_rc, language, no_font_notice
from mitbadak.train import History

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["TEXT", "draw_history", "plot_history"]

#: Every word a figure shows, per language.
TEXT: dict[str, dict[str, str]] = {
    "en": {
        "loss_title": "training loss",
        "iteration": "iteration",
        "loss": "loss",
        "batch_loss": "batch loss",
        "mean_of": "mean of {n}",
        "accuracy_title": "accuracy",
        "epoch": "epoch",
        "accuracy": "accuracy",
        "train": "train",
        "test": "test",
        "title": "{model} on {dataset}",
    },
    "ko": {
        "loss_title": "훈련 손실",
        "iteration": "반복 횟수",
        "loss": "손실",
        "batch_loss": "미니배치 손실",
        "mean_of": "{n}회 이동 평균",
        "accuracy_title": "정확도",
        "epoch": "에폭",
        "accuracy": "정확도",
        "train": "훈련 데이터",
        "test": "시험 데이터",
        "title": "{model} · 데이터셋 {dataset}",
    },
}


def draw_history(
    history: History,
    *,
    model: str | None = None,
    dataset: str | None = None,
    lang: str | None = None,
) -> Figure:
    """The loss per iteration and the train/test accuracy per epoch, as a matplotlib Figure.

    ``lang`` is ``"en"`` or ``"ko"``; by default Korean under a Korean locale (see
    :func:`mitbadak.hangul.language`). The title names ``model`` and ``dataset`` when
    given. The figure is not attached to pyplot: in Jupyter, display it with
    ``display(fig)`` or save it with ``fig.savefig(path)``.
    """
    import matplotlib

    chosen, rc = _language_and_rc(lang)
    with matplotlib.rc_context(cast(Any, rc)):
        return _draw(history, TEXT[chosen], model, dataset)


def _language_and_rc(lang: str | None) -> tuple[str, dict[str, object]]:
    chosen = language(lang)
    if chosen == "en":
        return chosen, {}
    font = hangul_font()
    if font is None:
        print(no_font_notice(), file=sys.stderr)
        return "en", {}
    return chosen, hangul_rc(font)


def _draw(history: History, text: dict[str, str], model: str | None, dataset: str | None) -> Figure:
    from matplotlib.figure import Figure

    # Fixed margins instead of a layout engine: the constrained solver doubled the time.
    fig = Figure(figsize=(10, 4))
    fig.subplots_adjust(left=0.07, right=0.98, bottom=0.13, top=0.86, wspace=0.22)
    ax_loss, ax_acc = fig.subplots(1, 2)

    loss = np.asarray(history.train_loss, dtype=np.float64)
    iterations = np.arange(len(loss))
    ax_loss.plot(
        iterations, loss, color="tab:blue", alpha=0.35, linewidth=0.8, label=text["batch_loss"]
    )
    window = max(1, len(loss) // 50)
    if len(loss) >= window > 1:
        smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
        label = text["mean_of"].format(n=window)
        ax_loss.plot(iterations[window - 1 :], smooth, color="tab:blue", label=label)
    ax_loss.set_xlabel(text["iteration"])
    ax_loss.set_ylabel(text["loss"])
    ax_loss.set_title(text["loss_title"])
    ax_loss.legend(loc="upper right")

    epochs = [r.epoch for r in history.epochs]
    ax_acc.plot(epochs, [r.train_acc for r in history.epochs], "o-", label=text["train"])
    ax_acc.plot(epochs, [r.test_acc for r in history.epochs], "s--", label=text["test"])
    ax_acc.set_xlabel(text["epoch"])
    ax_acc.set_ylabel(text["accuracy"])
    ax_acc.set_ylim(0, 1)
    ax_acc.set_title(text["accuracy_title"])
    ax_acc.legend(loc="lower right")
    if model is not None and dataset is not None:
        fig.suptitle(text["title"].format(model=model, dataset=dataset))
    elif model is not None or dataset is not None:
        fig.suptitle(str(model or dataset))
    return fig


def plot_history(
    history: History,
    path: str | os.PathLike[str],
    *,
    model: str | None = None,
    dataset: str | None = None,
    lang: str | None = None,
) -> Path:
    """Draw :func:`draw_history`'s figure into the PNG ``path``, atomically."""
    import matplotlib

    chosen, rc = _language_and_rc(lang)
    target = Path(path)
    # The settings must hold while drawing too: tick labels are made then.
    with matplotlib.rc_context(cast(Any, rc)):
        fig = _draw(history, TEXT[chosen], model, dataset)
        with atomic_target(target) as tmp:
            fig.savefig(tmp, dpi=100, format="png")
    return target
