"""One message catalogue per language for mitbadak's own output.

:func:`t` fills a message in the chosen language; :func:`missing` lists what one
catalogue lacks against another (keys and format placeholders), for the
completeness test. The language is picked as ``mitbadak check`` already picks it.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any

from mitbadak.i18n import catalog_en, catalog_ko
from mitbadak.layercheck.messages import language

__all__ = ["CATALOGUES", "language", "missing", "t"]

CATALOGUES: dict[str, dict[str, str]] = {"en": catalog_en.MESSAGES, "ko": catalog_ko.MESSAGES}


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


def t(key: str, lang: str = "en", **fmt: Any) -> str:
    """The message ``key`` in ``lang`` filled with ``fmt``."""
    if lang not in CATALOGUES:
        raise ValueError(f"lang must be one of {sorted(CATALOGUES)}, received {lang!r}")
    return CATALOGUES[lang][key].format(**fmt)
