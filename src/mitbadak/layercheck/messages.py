"""The words of ``mitbadak check``'s report, in English or Korean.

:func:`language` picks the language (``--lang``, else the locale: ``LC_ALL``,
``LC_MESSAGES``, ``LANG``, in POSIX order of precedence); :func:`say` fills a message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from mitbadak.layercheck import messages_en, messages_ko

__all__ = ["LANGUAGES", "language", "say"]

LANGUAGES: dict[str, dict[str, str]] = {"en": messages_en.MESSAGES, "ko": messages_ko.MESSAGES}


def language(choice: str | None = None, env: Mapping[str, str] | None = None) -> str:
    """``choice`` if given; "ko" when the locale is Korean (``ko_KR.UTF-8``); else "en"."""
    if choice is not None:
        if choice not in LANGUAGES:
            raise ValueError(f"language must be one of {sorted(LANGUAGES)}, received {choice!r}")
        return choice
    env = os.environ if env is None else env
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


def _shown(key: str, value: Any) -> Any:
    """Index tuples as [0, 2]; shapes keep NumPy's (3, 4) form."""
    if key == "index" and isinstance(value, tuple):
        return "[" + ", ".join(str(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "(" + ", ".join(str(v) for v in value) + ("," if len(value) == 1 else "") + ")"
    return value


def say(key: str, lang: str, fields: Mapping[str, Any] | None = None) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in (English if missing)."""
    template = LANGUAGES[lang].get(key) or messages_en.MESSAGES[key]
    return template.format(**{k: _shown(k, v) for k, v in (fields or {}).items()})
