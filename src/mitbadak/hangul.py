"""Korean in figures: which language a figure speaks, and a font that has Hangul.

matplotlib's default font (DejaVu Sans) has no Hangul, so Korean labels come out as
empty boxes, and many Korean fonts have no U+2212 minus sign, so negative tick labels
do too. :func:`hangul_font` finds a font with Hangul among those matplotlib knows, and
else among the font files on the system (one installed after matplotlib built its font
cache, as ``apt-get install fonts-nanum`` in a running Colab or Jupyter, is registered
on the spot: no restart). :func:`hangul_rc` gives the settings to draw with it.

>>> language("ko"), language("en")
('ko', 'en')
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from mitbadak.i18n import LANGUAGES, language

__all__ = [
    "INSTALL_HINT",
    "LANGUAGES",
    "HangulFont",
    "covers_hangul",
    "hangul_font",
    "hangul_rc",
    "language",
    "use_hangul_font",
]

#: Fonts with Hangul, most wanted first: Debian's and Colab's Nanum, Noto CJK, then the
#: ones Windows and macOS bring.
PREFERRED = (
    "NanumGothic",
    "NanumBarunGothic",
    "Noto Sans CJK KR",
    "Noto Sans KR",
    "Source Han Sans KR",
    "Malgun Gothic",
    "Apple SD Gothic Neo",
    "AppleGothic",
    "UnDotum",
    "Baekmuk Gulim",
)
#: Words in the file names of Korean fonts, to keep the search of font files short.
_FILE_HINTS = ("nanum", "cjk", "malgun", "gothic", "kr", "korean", "gulim", "dotum", "batang")
#: What to do when no font has Hangul.
INSTALL_HINT = "apt-get install fonts-nanum"


@dataclass(frozen=True)
class HangulFont:
    """A font with Hangul that matplotlib can use: its family name and file."""

    name: str
    path: Path


def covers_hangul(path: str | os.PathLike[str]) -> bool:
    """Whether the font file has glyphs for Hangul syllables (False if it cannot be read)."""
    from matplotlib.ft2font import FT2Font

    try:
        charmap = FT2Font(str(path)).get_charmap()
    except (OSError, RuntimeError, ValueError):
        return False
    return all(ord(c) in charmap for c in "한글가힣")


def hangul_font() -> HangulFont | None:
    """A font with Hangul, registered with matplotlib; ``None`` if the system has none."""
    from matplotlib import font_manager

    manager = font_manager.fontManager
    known = {entry.name for entry in manager.ttflist}
    for name in PREFERRED:
        if name in known:
            # The regular face of the family, not whichever was listed last (often bold).
            props = font_manager.FontProperties(family=name)
            regular = manager.findfont(props, fallback_to_default=False)
            if covers_hangul(regular):
                return HangulFont(name, Path(regular))
    # Fonts installed after matplotlib cached its list: look at the files themselves.
    paths = sorted(font_manager.findSystemFonts(), key=_preference)
    for path in paths:
        if any(hint in Path(path).name.lower() for hint in _FILE_HINTS) and covers_hangul(path):
            manager.addfont(path)
            return HangulFont(font_manager.FontProperties(fname=path).get_name(), Path(path))
    return None


def _preference(path: str) -> tuple[int, str]:
    squashed = Path(path).stem.lower().replace(" ", "").replace("-", "")
    for rank, name in enumerate(PREFERRED):
        if squashed.startswith(name.lower().replace(" ", "")):
            return rank, path
    return len(PREFERRED), path


def hangul_rc(font: HangulFont) -> dict[str, Any]:
    """matplotlib settings (for ``matplotlib.rc_context``) that draw Hangul with ``font``.

    The family is named outright, not through "sans-serif", so text made under these
    settings keeps its font when drawn later; DejaVu Sans stands behind it for any glyph
    it lacks. The hyphen-minus replaces U+2212 in tick labels, which many Korean fonts
    lack.
    """
    return {"font.family": [font.name, "DejaVu Sans"], "axes.unicode_minus": False}


def use_hangul_font() -> HangulFont | None:
    """Make every later matplotlib figure draw Hangul (for notebooks and scripts).

    Changes ``matplotlib.rcParams``, as ``plt.rc`` would. Without a Hangul font it says
    in one line what to install and returns ``None``.
    """
    import matplotlib

    font = hangul_font()
    if font is None:
        print(no_font_notice(), file=sys.stderr)
        return None
    matplotlib.rcParams.update(cast(Any, hangul_rc(font)))
    return font


def no_font_notice() -> str:
    """The one line said when Korean was asked for but no font has Hangul."""
    return (
        "mitbadak: no font with Hangul found, so figures are labelled in English; "
        f"install one with `{INSTALL_HINT}` (Debian, Ubuntu, Colab)"
    )
