"""The JSON record of a model file's architecture, checked field by field before use.

A model file is data from anywhere, so its ``architecture`` entry is parsed with its size
and nesting capped (``json`` recurses once per level) and every field's type checked; what
comes out is safe to index without ``KeyError`` or ``TypeError``. Text that will be shown
to a user (class names, the dataset's name) must be printable: no terminal control
sequences or bidirectional overrides can ride in on a model file.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = [
    "FLOAT_DTYPES",
    "FORMAT",
    "FORMAT_VERSION",
    "MAX_JSON_CHARS",
    "check_metadata",
    "parse_architecture",
    "printable",
]

FORMAT = "mitbadak-model"
FORMAT_VERSION = 1

#: Longest architecture text read (the book's networks need about 2,000 characters).
MAX_JSON_CHARS = 1 << 20
#: Deepest nesting of lists and objects accepted (a saved architecture uses 4).
MAX_DEPTH = 32
#: Most dimensions a parameter may have (a convolution's filters have 4).
MAX_NDIM = 8
#: Parameter dtypes a model can be stored in.
FLOAT_DTYPES = ("float16", "float32", "float64")
MAX_CLASS_NAMES = 10_000
MAX_NAME_CHARS = 200

_STRUCTURE = re.compile(r'[\[\]{}"\\]')


def _nesting_depth(text: str) -> int:
    """Deepest nesting of ``[`` and ``{`` outside strings, looking only at special characters."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the index of the character a backslash escapes
    for match in _STRUCTURE.finditer(text):
        index, char = match.start(), match.group()
        if in_string:
            if index == escaped_at:
                continue
            if char == "\\":
                escaped_at = index + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def printable(text: str) -> bool:
    """True unless ``text`` holds control, format (bidi override), or unassigned characters."""
    return not any(unicodedata.category(c).startswith("C") for c in text)


def _fail(where: str, message: str) -> ValueError:
    return ValueError(f"{where}: the architecture entry {message}")


def parse_architecture(text: str, where: str) -> dict[str, Any]:
    """Parse and check an architecture record; ``ValueError`` starting with ``where``.

    Checks the types of ``format``, ``version``, ``class``, ``dtype``, ``layers``,
    ``loss``, ``param_names``, ``params``, ``config`` and ``metadata``; the values that
    depend on a network class are checked when it is built.
    """
    if len(text) > MAX_JSON_CHARS:
        raise _fail(where, f"is {len(text)} characters long, more than {MAX_JSON_CHARS}")
    depth = _nesting_depth(text)
    if depth > MAX_DEPTH:
        raise _fail(where, f"is nested {depth} levels deep, more than {MAX_DEPTH}")
    try:
        arch = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise _fail(where, f"is not valid JSON ({type(exc).__name__}: {exc})") from exc
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise ValueError(f"{where}: not a mitbadak model file (format is not {FORMAT!r})")
    if arch.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{where}: model format version {arch.get('version')!r:.40} is not supported "
            f"(this mitbadak reads version {FORMAT_VERSION})"
        )
    _check_fields(arch, where)
    return arch


def _expect(arch: dict[str, Any], key: str, kind: type | tuple[type, ...], where: str) -> Any:
    value = arch.get(key)
    if not isinstance(value, kind) or isinstance(value, bool):
        expected = (
            kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        )
        raise _fail(where, f"field {key!r} must be a {expected}, received {value!r:.80}")
    return value


def _check_fields(arch: dict[str, Any], where: str) -> None:
    _expect(arch, "class", str, where)
    if arch.get("dtype") not in FLOAT_DTYPES:
        raise _fail(
            where,
            f"field 'dtype' must be one of {FLOAT_DTYPES}, received {arch.get('dtype')!r:.80}",
        )
    for spec in _expect(arch, "layers", list, where):
        if not (
            isinstance(spec, dict)
            and isinstance(spec.get("name"), str)
            and isinstance(spec.get("type"), str)
            and isinstance(spec.get("config"), dict)
        ):
            raise _fail(where, f"has a layer {spec!r:.80} without a name, type and config")
    _expect(arch, "loss", str, where)
    for name, location in _expect(arch, "param_names", dict, where).items():
        if not (
            isinstance(location, list)
            and len(location) == 2
            and all(isinstance(part, str) for part in location)
        ):
            raise _fail(
                where, f"maps parameter {name!r} to {location!r:.80}, expected [layer, key]"
            )
    for name, shape in _expect(arch, "params", dict, where).items():
        if not (
            isinstance(shape, list)
            and len(shape) <= MAX_NDIM
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape)
        ):
            raise _fail(where, f"gives parameter {name!r} the shape {shape!r:.80}")
    if "config" in arch:
        _expect(arch, "config", dict, where)
    if "metadata" in arch:
        _expect(arch, "metadata", dict, where)


def check_metadata(metadata: dict[str, Any], where: str, n_outputs: int | None) -> dict[str, Any]:
    """Check the facts shown to users: ``dataset`` and ``class_names``.

    ``class_names`` must be None or one printable name per output (``n_outputs``,
    where the network's output size is known).
    """
    dataset = metadata.get("dataset")
    if dataset is not None and not (
        isinstance(dataset, str) and len(dataset) <= MAX_NAME_CHARS and printable(dataset)
    ):
        raise ValueError(f"{where}: the dataset name {dataset!r:.80} is not printable text")
    names = metadata.get("class_names")
    if names is None:
        return metadata
    if not isinstance(names, list) or len(names) > MAX_CLASS_NAMES:
        raise ValueError(f"{where}: class_names must be a list of names, received {names!r:.80}")
    for i, name in enumerate(names):
        if not (isinstance(name, str) and 0 < len(name) <= MAX_NAME_CHARS and printable(name)):
            raise ValueError(
                f"{where}: class name {i} ({name!r:.80}) is not a printable name of at most "
                f"{MAX_NAME_CHARS} characters"
            )
    if n_outputs is not None and len(names) != n_outputs:
        raise ValueError(
            f"{where}: {len(names)} class names for a network with {n_outputs} outputs"
        )
    return metadata
