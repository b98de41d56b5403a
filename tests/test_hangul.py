"""Hangul in figures: the language chosen, the font found and registered, no missing glyph."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from mitbadak import hangul, plot
from mitbadak.cli import main
from mitbadak.hangul import HangulFont, covers_hangul, hangul_font, hangul_rc, language
from mitbadak.train import EpochRecord, History


def require_hangul_font() -> HangulFont:
    font = hangul_font()
    if font is None:
        pytest.fail("no font with Hangul on this machine: run `apt-get install -y fonts-nanum`")
    return font


def a_history() -> History:
    loss = list(2.3 * np.exp(-np.arange(300) / 80) + 0.05)
    epochs = [EpochRecord(i / 100, i, loss[i], 0.1 + i / 400, 0.1 + i / 420, 0.0) for i in (0, 100)]
    return History(train_loss=loss, epochs=epochs)


def missing_glyphs(draw: object) -> list[str]:
    """Messages of matplotlib's "Glyph ... missing from font(s)" warnings while drawing."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig = draw() if callable(draw) else draw
        FigureCanvasAgg(fig).draw()  # type: ignore[arg-type]
    return [str(w.message) for w in caught if "missing from" in str(w.message)]


def test_the_language_follows_the_flag_then_the_locale(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    assert language() == "ko"
    assert language("en") == "en"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL outranks LANG
    assert language() == "en"
    monkeypatch.setenv("LC_MESSAGES", "ko_KR.eucKR")
    assert language() == "en"
    monkeypatch.delenv("LC_ALL")
    assert language() == "ko"
    with pytest.raises(ValueError, match="'jp'"):
        language("jp")


def test_a_korean_plot_has_every_glyph() -> None:
    font = require_hangul_font()
    assert covers_hangul(font.path)
    fig = plot.draw_history(a_history(), model="TwoLayerNet", dataset="mnist", lang="ko")
    ax_loss, ax_acc = fig.axes
    assert ax_loss.get_title() == "훈련 손실" and ax_acc.get_xlabel() == "에폭"
    assert "데이터셋" in fig.get_suptitle()
    # Drawn later, outside the function (as Jupyter does), still with every glyph.
    assert missing_glyphs(fig) == []
    # The check itself works: the same labels in matplotlib's default font lose glyphs.
    from matplotlib.figure import Figure

    def default_font() -> Figure:
        bare = Figure()
        bare.subplots().set_title("훈련 손실")
        return bare

    assert missing_glyphs(default_font)


def test_minus_signs_never_become_boxes() -> None:
    from matplotlib import rc_context
    from matplotlib.figure import Figure

    font = require_hangul_font()
    assert hangul_rc(font)["axes.unicode_minus"] is False

    def negative_ticks() -> Figure:
        with rc_context(cast(Any, hangul_rc(font))):
            fig = Figure()
            ax = fig.subplots()
            ax.plot([-3.0, 2.0], [-1.0, 1.0])
            ax.set_xlabel("가중치")
            fig.canvas.draw()  # tick labels are made while drawing
            labels = [t.get_text() for t in ax.get_xticklabels()]
            assert any(label.startswith("-") for label in labels), labels
            return fig

    assert missing_glyphs(negative_ticks) == []


def test_a_font_installed_after_matplotlib_started_is_registered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from matplotlib import font_manager

    require_hangul_font()
    manager = font_manager.fontManager
    # As if matplotlib had cached its font list before `apt-get install fonts-nanum`.
    without = [f for f in manager.ttflist if not covers_hangul(f.fname)]
    monkeypatch.setattr(manager, "ttflist", without)
    manager._findfont_cached.cache_clear()  # type: ignore[attr-defined]
    try:
        font = hangul_font()
        assert font is not None and font.name in {f.name for f in manager.ttflist}
        fig = plot.draw_history(a_history(), lang="ko")
        assert missing_glyphs(fig) == []
    finally:
        manager._findfont_cached.cache_clear()  # type: ignore[attr-defined]


def test_without_a_hangul_font_labels_fall_back_to_english(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plot, "hangul_font", lambda: None)
    fig = plot.draw_history(a_history(), lang="ko")
    assert fig.axes[0].get_title() == "training loss"
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "apt-get install fonts-nanum" in err
    monkeypatch.setattr(hangul, "hangul_font", lambda: None)
    assert hangul.use_hangul_font() is None
    assert "fonts-nanum" in capsys.readouterr().err


def test_train_writes_korean_curves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    require_hangul_font()
    titles: list[str] = []
    draw = plot._draw

    def spy(history: History, text: dict[str, str], *args: object) -> object:
        titles.append(text["loss_title"])
        return draw(history, text, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(plot, "_draw", spy)
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "ko_KR.UTF-8")
    base = ["train", "--dataset", "mnist-sample", "--iters", "3", "--no-progress"]
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    assert main([*base, "--out", str(tmp_path / "b"), "--lang", "en"]) == 0
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main([*base, "--out", str(tmp_path / "c"), "--lang", "ko"]) == 0
    assert titles == ["훈련 손실", "training loss", "훈련 손실"]
    assert "Hangul" not in capsys.readouterr().err
    assert (tmp_path / "c" / "curves.png").read_bytes()[:4] == b"\x89PNG"
