"""The words of ``mitbadak check``'s report, in English or Korean.

The messages live in :mod:`mitbadak.i18n` (its area "check"). :func:`language`
picks the language (``--lang``, else the locale: ``LC_ALL``,
``LC_MESSAGES``, ``LANG``, in POSIX order of precedence); :func:`say` fills a message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mitbadak.i18n import check_en, check_ko, language

__all__ = ["LANGUAGES", "language", "say"]

#: This area's messages per language (also part of :data:`mitbadak.i18n.CATALOGUES`).
LANGUAGES: dict[str, Mapping[str, str]] = {"en": check_en.MESSAGES, "ko": check_ko.MESSAGES}


def _shown(key: str, value: Any) -> Any:
    """Index tuples as [0, 2]; shapes keep NumPy's (3, 4) form."""
    if key == "index" and isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return value


def say(key: str, lang: str, fields: Mapping[str, Any] | None = None) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in (English if missing)."""
    template = LANGUAGES[lang].get(key) or check_en.MESSAGES[key]
    return template.format(**{k: _shown(k, v) for k, v in (fields or {}).items()})
