"""Import a learner's ``FILE.py`` and find ``ClassName`` in it, failing in one line.

Importing the file runs its code: that is the point of ``mitbadak check``. It runs as
``python FILE.py`` would see it from the file's folder (that folder first on
``sys.path``, its parent after it, where the book's ``common`` package lives), but under
a private module name, so an ``if __name__ == "__main__":`` block does not run. Whatever
goes wrong (a missing file, a syntax error, an exception or ``sys.exit`` at import, a
missing class) becomes one :class:`LoadError` with a message key and its details, for
:mod:`mitbadak.layercheck.messages` to word in the report's language.
"""

from __future__ import annotations

import contextlib
import importlib.machinery
import importlib.util
import inspect
import linecache
import sys
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

__all__ = ["LoadError", "Target", "learner_location", "load_class", "parse_target"]


class LoadError(Exception):
    """The learner's class cannot be had. ``key`` names the message, ``args_`` its fields."""

    def __init__(self, key: str, **fields: Any) -> None:
        super().__init__(key, fields)
        self.key = key
        self.fields = fields


@dataclass(frozen=True)
class Target:
    path: Path
    class_name: str

    def __str__(self) -> str:
        return f"{self.path}:{self.class_name}"


def parse_target(text: str) -> Target:
    """``FILE.py:ClassName`` as a :class:`Target`; ``LoadError("bad_target")`` otherwise."""
    path, sep, name = text.rpartition(":")
    if not sep or not path or not name.isidentifier():
        raise LoadError("bad_target", target=text)
    return Target(Path(path), name)


def learner_location(exc: BaseException, path: Path) -> tuple[int, str] | None:
    """(line, source) of the innermost frame of ``exc``'s traceback in the learner's file."""
    found = None
    resolved = str(path.resolve())
    for frame in traceback.extract_tb(exc.__traceback__):
        if frame.filename == resolved or frame.filename == str(path):
            found = (frame.lineno or 0, (frame.line or "").strip())
    return found


@contextlib.contextmanager
def _import_path(folder: Path) -> Iterator[None]:
    saved = list(sys.path)
    sys.path.insert(0, str(folder))
    sys.path.append(str(folder.parent))
    try:
        yield
    finally:
        sys.path[:] = saved


class _SourceLoader(importlib.machinery.SourceFileLoader):
    """Compiles the file every time, never reading or writing ``__pycache__``: a layer
    fixed within the same second as the last check, at the same size (``axis=1`` made
    ``axis=0``), would otherwise be checked as the cached bytecode of the old one."""

    def get_code(self, fullname: str) -> CodeType:
        return compile(self.get_data(self.path), self.path, "exec", dont_inherit=True)


def _module(path: Path) -> ModuleType:
    if not path.is_file():
        raise LoadError("no_file", path=path)
    if path.suffix != ".py":
        raise LoadError("not_python", path=path)
    resolved = str(path.resolve())
    name = f"mitbadak_check_{abs(hash(resolved))}"
    # Tracebacks quote the file's lines as they are now (linecache, like the bytecode
    # cache, only notices an edit that changes the size or the second of modification).
    linecache.cache.pop(resolved, None)
    spec = importlib.util.spec_from_file_location(
        name, resolved, loader=_SourceLoader(name, resolved)
    )
    if spec is None or spec.loader is None:
        raise LoadError("not_python", path=path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look the module up by name
    try:
        with _import_path(path.resolve().parent), contextlib.redirect_stdout(sys.stderr):
            spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(name, None)
        raise LoadError(
            "syntax_error", path=path, line=exc.lineno or 0, message=exc.msg or str(exc)
        ) from None
    except SystemExit as exc:
        sys.modules.pop(name, None)
        raise LoadError("exit_at_import", path=path, code=exc.code) from None
    except Exception as exc:  # the learner's code may raise anything
        sys.modules.pop(name, None)
        where = learner_location(exc, path)
        raise LoadError(
            "import_failed",
            path=path,
            error=type(exc).__name__,
            message=str(exc),
            line=where[0] if where else 0,
        ) from None
    return module


def load_class(target: Target) -> type:
    """The class ``target.class_name`` defined (or imported) in ``target.path``."""
    module = _module(target.path)
    found = getattr(module, target.class_name, None)
    if found is None:
        classes = sorted(
            name
            for name, value in vars(module).items()
            if inspect.isclass(value) and getattr(value, "__module__", "") == module.__name__
        )
        raise LoadError(
            "no_class", path=target.path, name=target.class_name, classes=", ".join(classes)
        )
    if not inspect.isclass(found):
        raise LoadError(
            "not_a_class", path=target.path, name=target.class_name, kind=type(found).__name__
        )
    for method in ("forward", "backward"):
        if not callable(getattr(found, method, None)):
            raise LoadError("no_method", name=target.class_name, method=method)
    return found
