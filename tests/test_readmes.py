"""README.md and its Korean twin README.ko.md stay in step.

Every command in one is in the other, the Python examples are the same code (their comments
may be translated), each links to the other at its top, and every file or image they link to
exists. A command is a line of a shell block without its ``#`` comment, or an inline code
span that starts as something a reader types: ``mitbadak ...``, ``scripts/...``,
``.venv/bin/...``, ``apt-get ...``, an import line, ``NAME=value``. HTML comments are
skipped: README.ko.md keeps one where a section still to be translated goes.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
ENGLISH, KOREAN = "README.md", "README.ko.md"

SHELL = {"sh", "bash", "shell", "console"}
PROGRAMS = {"mitbadak", "python", "python3", "pip", "apt-get", "ruff", "mypy", "pytest", "git"}
PATHS = ("scripts/", ".venv/bin/", "examples/", ".ci/")
IMPORT = re.compile(r"(from \S+ )?import \S")
SETTING = re.compile(r"[A-Z][A-Z0-9_]*=\S")

FENCE = re.compile(r"^\s*```\s*(\S*)")
SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
HTML_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
LINK = re.compile(r"(!?)\[[^\]]*\]\(\s*<?([^)\s>]+)>?[^)]*\)")
SHELL_COMMENT = re.compile(r"(?:^|\s)#")


@dataclass
class Markdown:
    """A README split into prose paragraphs and fenced blocks, each with its first line."""

    paragraphs: list[tuple[int, str]]
    blocks: list[tuple[int, str, list[str]]]


def parse(text: str) -> Markdown:
    # A comment becomes as many newlines as it held, so line numbers stay true.
    text = HTML_COMMENT.sub(lambda m: "\n" * m.group().count("\n"), text)
    paragraphs: list[tuple[int, str]] = []
    blocks: list[tuple[int, str, list[str]]] = []
    block: tuple[int, str, list[str]] | None = None
    paragraph: list[str] = []
    start = 0
    for number, line in enumerate(text.splitlines(), 1):
        fence = FENCE.match(line)
        if block is not None:
            if fence and not fence.group(1):
                blocks.append(block)
                block = None
            else:
                block[2].append(line)
            continue
        if fence or not line.strip():
            if paragraph:
                paragraphs.append((start, "\n".join(paragraph)))
                paragraph = []
            if fence:
                block = (number + 1, fence.group(1).lower(), [])
            continue
        if not paragraph:
            start = number
        paragraph.append(line)
    if paragraph:
        paragraphs.append((start, "\n".join(paragraph)))
    assert block is None, f"a code block opened at line {block[0] - 1} is never closed"
    return Markdown(paragraphs, blocks)


def is_command(span: str) -> bool:
    first = span.split()[0]
    return (
        first in PROGRAMS
        or span.startswith(PATHS)
        or bool(IMPORT.match(span))
        or bool(SETTING.match(span))
    )


def commands(text: str) -> dict[str, int]:
    """Each command (whitespace collapsed) and the line where it first appears."""
    found: dict[str, int] = {}
    doc = parse(text)
    for first, language, lines in doc.blocks:
        if language not in SHELL:
            continue
        pending = ""
        for number, line in enumerate(lines, first):
            line = SHELL_COMMENT.split(line, maxsplit=1)[0].strip().removeprefix("$ ")
            if line.endswith("\\"):
                pending += line[:-1] + " "
                continue
            command = " ".join((pending + line).split())
            pending = ""
            if command:
                found.setdefault(command, number)
    for start, paragraph in doc.paragraphs:
        for match in SPAN.finditer(paragraph):
            span = " ".join(match.group(2).split())
            if span and is_command(span):
                found.setdefault(span, start + paragraph[: match.start()].count("\n"))
    return found


def python_blocks(text: str) -> list[tuple[int, list[str]]]:
    """Each Python block's code lines, comments and blank lines left out."""
    result = []
    for first, language, lines in parse(text).blocks:
        if language != "python":
            continue
        source = "\n".join(lines) + "\n"
        cut = {
            token.start[0]: token.start[1]
            for token in tokenize.generate_tokens(io.StringIO(source).readline)
            if token.type == tokenize.COMMENT
        }
        code = [line[: cut.get(n, len(line))].rstrip() for n, line in enumerate(lines, 1)]
        result.append((first, [line for line in code if line]))
    return result


def links(text: str) -> list[tuple[int, bool, str]]:
    """(line, is an image, target) of every link outside code."""
    found = []
    for start, paragraph in parse(text).paragraphs:
        for match in LINK.finditer(SPAN.sub(lambda m: " " * len(m.group()), paragraph)):
            line = start + paragraph[: match.start()].count("\n")
            found.append((line, match.group(1) == "!", match.group(2)))
    return found


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


def test_the_extraction_finds_commands_and_only_commands() -> None:
    text = "\n".join(
        [
            "Run `mitbadak doctor` or `LANG=ko_KR.UTF-8 mitbadak train`, not `mitbadak.load`;",
            "write `from mitbadak.book.layers import *` and `apt-get install",
            "fonts-nanum`; `--lang ko` is a flag.",
            "<!-- `mitbadak serve` goes here",
            "later -->",
            "```sh",
            "mitbadak train   --lang ko          # a comment",
            "                                    # its second line",
            "$ scripts/install-and-test.sh",
            "mitbadak explain runs/001/model.npz \\",
            "    --index 3",
            "```",
            "```python",
            "import numpy as np  # not a command: Python is compared as code",
            "```",
            "See `scripts/make_mnist_sample.py`.",
        ]
    )
    assert commands(text) == {
        "mitbadak train --lang ko": 7,
        "scripts/install-and-test.sh": 9,
        "mitbadak explain runs/001/model.npz --index 3": 11,
        "mitbadak doctor": 1,
        "LANG=ko_KR.UTF-8 mitbadak train": 1,
        "from mitbadak.book.layers import *": 2,
        "apt-get install fonts-nanum": 2,
        "scripts/make_mnist_sample.py": 16,
    }
    assert python_blocks(text) == [(14, ["import numpy as np"])]


def test_the_readmes_commands_are_found() -> None:
    found = commands(read(ENGLISH))
    for command in (
        "scripts/install-and-train.sh",
        "scripts/install-and-test.sh",
        "mitbadak doctor",
        "mitbadak check my_layers.py:Affine --lang ko",
        "apt-get install fonts-nanum",
        "from common.layers import *",
        "MITBADAK_DEBUG=1",
    ):
        assert command in found
    assert len(found) > 40
    assert len(python_blocks(read(ENGLISH))) >= 3


@pytest.mark.parametrize(("source", "other"), [(ENGLISH, KOREAN), (KOREAN, ENGLISH)])
def test_every_command_of_one_readme_is_in_the_other(source: str, other: str) -> None:
    theirs = commands(read(other))
    missing = [(line, cmd) for cmd, line in commands(read(source)).items() if cmd not in theirs]
    listed = "\n".join(f"  {source}:{line}: {cmd}" for line, cmd in sorted(missing))
    assert not missing, f"{other} lacks {len(missing)} command(s) of {source}:\n{listed}"


def test_the_python_examples_are_the_same_code() -> None:
    english, korean = python_blocks(read(ENGLISH)), python_blocks(read(KOREAN))
    for (line_en, code_en), (line_ko, code_ko) in zip(english, korean, strict=False):
        assert code_en == code_ko, (
            f"the Python block at {ENGLISH}:{line_en} differs from {KOREAN}:{line_ko}"
            f" (comments aside): {sorted(set(code_en) ^ set(code_ko))}"
        )
    assert len(english) == len(korean), (
        f"{ENGLISH} has {len(english)} Python blocks, {KOREAN} {len(korean)}"
    )


@pytest.mark.parametrize(("source", "other"), [(ENGLISH, KOREAN), (KOREAN, ENGLISH)])
def test_each_readme_links_to_the_other_at_its_top(source: str, other: str) -> None:
    top = read(source).split("\n## ", 1)[0]
    assert other in {target for _, _, target in links(top)}, (
        f"{source} has no link to {other} before its first section"
    )


@pytest.mark.parametrize("name", [ENGLISH, KOREAN])
def test_every_linked_file_and_image_exists(name: str) -> None:
    local = [
        (line, image, target.split("#", 1)[0])
        for line, image, target in links(read(name))
        if not re.match(r"[a-z][a-z0-9+.-]*:|#", target)
    ]
    assert any(image for _, image, _ in local)
    for line, image, target in local:
        path = ROOT / target
        assert path.is_file() if image else path.exists(), f"{name}:{line}: {target} is not there"


def test_the_same_images_in_both() -> None:
    english = {target for _, image, target in links(read(ENGLISH)) if image}
    korean = {target for _, image, target in links(read(KOREAN)) if image}
    assert english - korean == set(), f"{KOREAN} lacks the image(s) {sorted(english - korean)}"
    assert korean - english == set(), f"{ENGLISH} lacks the image(s) {sorted(korean - english)}"
