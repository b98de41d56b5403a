"""The report of ``mitbadak check`` as text: 80 columns, Korean counted two columns wide."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

from mitbadak.layercheck.messages import say
from mitbadak.layercheck.runner import Finding

__all__ = ["WIDTH", "Report", "display_width", "wrap"]

WIDTH = 80
STATUS_COLUMN = 8


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: wide (Hangul, CJK) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def wrap(text: str, width: int, indent: int, first: str = "") -> list[str]:
    """``text`` in lines of at most ``width`` columns; ``first`` starts the first line
    (the status word), the others are indented by ``indent`` spaces."""
    lines: list[str] = []
    line = first.ljust(indent - (display_width(first) - len(first))) if first else " " * indent
    used = display_width(line)
    start = used
    for word in text.split():
        w = display_width(word)
        if used > start and used + 1 + w > width:
            lines.append(line.rstrip())
            line, used = " " * indent + word, indent + w
            start = indent
        else:
            line += ("" if used == start else " ") + word
            used += w + (0 if used == start else 1)
    lines.append(line.rstrip())
    return lines


@dataclass
class Report:
    """What ``mitbadak check`` found for one class."""

    target: str
    kind: str
    x_shape: tuple[int, ...]
    params: list[str]
    findings: list[Finding]
    #: Which ``inputs.*`` message describes the inputs (the kind, or "loss_index").
    inputs: str = ""

    @property
    def failures(self) -> list[Finding]:
        return [f for f in self.findings if f.status == "fail"]

    @property
    def passed(self) -> bool:
        return not self.failures

    @property
    def hints(self) -> set[str]:
        """Every likely cause named by the report (the ``hint.*`` keys, without ``hint.``)."""
        return {hint for f in self.findings for hint in f.hints}

    def render(self, lang: str = "en") -> str:
        out = [say("header", lang, {"target": self.target})]
        out += wrap(say(f"kind.{self.kind}", lang), WIDTH, 2)
        described = self.inputs or self.kind
        out += wrap(say(f"inputs.{described}", lang, {"x": self.x_shape}), WIDTH, 2)
        names = ", ".join(self.params)
        key = "params" if self.params else "params.none"
        out += wrap(say(key, lang, {"names": names}), WIDTH, 2)
        out.append("")
        for f in self.findings:
            title = self._title(f, lang)
            status = say(f"status.{f.status}", lang)
            out += wrap(title, WIDTH, STATUS_COLUMN, "  " + status)
            for key, fields in f.details:
                out += wrap(say(key, lang, fields), WIDTH, STATUS_COLUMN)
        counted = [f for f in self.findings if f.status in ("pass", "fail")]
        out.append("")
        verdict = "verdict.pass" if self.passed else "verdict.fail"
        out += wrap(
            say(verdict, lang, {"count": len(counted), "failed": len(self.failures)}), WIDTH, 0
        )
        return "\n".join(out) + "\n"

    @staticmethod
    def _title(f: Finding, lang: str) -> str:
        fields = dict(f.fields)
        fields.setdefault("names", "")
        specific = f"{f.check}.{f.status}"
        from mitbadak.layercheck.messages import LANGUAGES

        key = specific if specific in LANGUAGES["en"] else f"{f.check}.fail"
        if key not in LANGUAGES["en"]:
            key = f.check
        if f.check == "check.gradient" and f.status == "fail" and "error" in fields:
            return say(key, lang, fields) + f" ({fields['error']:.1e})"
        return say(key, lang, fields)
