"""One message catalogue per language for everything of mitbadak a person reads.

Each area of the program keeps its messages in a pair of modules (``catalog_en`` and
``catalog_ko`` for the command line, ``check_en``/``check_ko`` for ``mitbadak check``'s
report); :data:`AREAS` lists them, one line an area, and :data:`CATALOGUES` holds each
language's union of them. :func:`t` fills a message in the chosen language;
:func:`missing` and :func:`overlaps` find what keeps the catalogues from being one
complete catalogue per language, for the test that keeps them so.

:func:`language` is the one choice of language: ``--lang`` if given, else the locale
(``LC_ALL``, ``LC_MESSAGES``, ``LANG``, in POSIX order of precedence).
"""

from __future__ import annotations

import locale
import os
import string
from collections.abc import Mapping
from typing import Any, Literal, cast

from mitbadak.i18n import catalog_en, catalog_ko, check_en, check_ko

__all__ = ["AREAS", "CATALOGUES", "LANGUAGES", "Language", "language", "missing", "overlaps", "t"]

Language = Literal["en", "ko"]
LANGUAGES: tuple[Language, ...] = ("en", "ko")

#: Area -> language -> its messages. Adding an area is adding one line.
AREAS: dict[str, dict[str, Mapping[str, str]]] = {
    "cli": {"en": catalog_en.MESSAGES, "ko": catalog_ko.MESSAGES},
    "check": {"en": check_en.MESSAGES, "ko": check_ko.MESSAGES},
}

#: Language -> every area's messages in it.
CATALOGUES: dict[str, dict[str, str]] = {
    lang: {key: text for area in AREAS.values() for key, text in area[lang].items()}
    for lang in LANGUAGES
}


def language(choice: str | None = None, env: Mapping[str, str] | None = None) -> Language:
    """``choice`` if given; "ko" when the locale is Korean (``ko_KR.UTF-8``); else "en".

    Without ``env`` the process's environment is read, and where it names no locale
    (usual on Windows) the system's. ``ValueError`` for a language other than en and ko.
    """
    if choice is not None:
        if choice not in LANGUAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, received {choice!r}")
        return cast(Language, choice)
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = (os.environ if env is None else env).get(var, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    if env is not None:
        return "en"
    system = locale.getlocale()[0] or ""
    return "ko" if system.lower().startswith(("ko", "korean")) else "en"


def _fields(template: str) -> set[str]:
    """The placeholder names of a str.format template."""
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def missing(reference: Mapping[str, str], other: Mapping[str, str]) -> list[str]:
    """Problems of ``other`` against ``reference``: absent keys and unmatched placeholders."""
    problems = [f"missing key {k!r}" for k in reference if k not in other]
    problems += [
        f"placeholders differ in {k!r}: {sorted(_fields(v))} vs {sorted(_fields(other[k]))}"
        for k, v in reference.items()
        if k in other and _fields(v) != _fields(other[k])
    ]
    return problems


def overlaps(areas: Mapping[str, Mapping[str, Mapping[str, str]]] | None = None) -> list[str]:
    """Keys defined by more than one area (in any language), one line each naming them."""
    areas = AREAS if areas is None else areas
    owners: dict[str, list[str]] = {}
    for name, by_lang in areas.items():
        for key in {k for messages in by_lang.values() for k in messages}:
            owners.setdefault(key, []).append(name)
    return [
        f"key {key!r} is defined in areas {', '.join(names)}"
        for key, names in sorted(owners.items())
        if len(names) > 1
    ]


def t(key: str, lang: str = "en", **fmt: Any) -> str:
    """The message ``key`` in ``lang`` filled with ``fmt``."""
    if lang not in CATALOGUES:
        raise ValueError(f"lang must be one of {sorted(CATALOGUES)}, received {lang!r}")
    return CATALOGUES[lang][key].format(**fmt)
