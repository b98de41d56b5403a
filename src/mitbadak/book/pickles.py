"""Reading the book's pickles (``params.pkl``, ``deep_convnet_params.pkl``, ``mnist.pkl``)
without running code from them.

``pickle.load`` calls whatever functions a file names, so a pickle from anywhere can
run anything. The book's files hold only a dict of NumPy arrays, which takes three
names: ``numpy.core.multiarray._reconstruct`` (``numpy._core`` since NumPy 2),
``numpy.ndarray`` and ``numpy.dtype`` (and ``_codecs.encode`` for latin-1 bytes in
pickle protocol 2). :func:`load_arrays` allows those, in guarded forms that build
nothing but plain numeric arrays, and refuses every other name with a ``ValueError``
that names the file, before anything is called.
"""

from __future__ import annotations

import math
import os
import pickletools
import stat
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak._files import file_kind, open_regular

__all__ = ["MAX_PICKLE_BYTES", "load_arrays", "load_pickle"]

#: Largest pickle read, in bytes: the book's largest (the dataset's mnist.pkl, ~55 MB;
#: volume 2's ch06/Rnnlm.pkl is 4.2 MB) with room to spare.
MAX_PICKLE_BYTES = 256 << 20
#: Deepest nesting of containers read (the book's files nest 3 deep).
MAX_DEPTH = 32
#: Most objects (opcodes) read from one file.
MAX_OBJECTS = 5_000_000
_MESSAGE = 200
_DTYPES = {
    f"{k}{n}"
    for k, sizes in {"b": "1", "i": "1248", "u": "1248", "f": "248", "c": ("8", "16")}.items()
    for n in sizes
}
_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy._core.multiarray", "_reconstruct"): "reconstruct",
    ("numpy", "ndarray"): "ndarray",
    ("numpy", "dtype"): "dtype",
    ("_codecs", "encode"): "encode",
}


class _Refused(Exception):
    pass


class _Name:
    def __init__(self, what: str) -> None:
        self.what = what


class _DtypeSpec:
    """A ``numpy.dtype(code)`` in the stream; its byte order may be set once."""

    def __init__(self, code: str) -> None:
        self.code = code
        self.order: str | None = None
        self.used = False

    def dtype(self) -> np.dtype:
        self.used = True
        return np.dtype(self.code).newbyteorder(">" if self.order == ">" else "<")


class _Shell:
    """An array made by ``_reconstruct``, completed once by BUILD."""

    def __init__(self) -> None:
        self.array: np.ndarray | None = None


_SCALAR_OPS = {
    "BININT",
    "BININT1",
    "BININT2",
    "INT",
    "LONG",
    "LONG1",
    "LONG4",
    "BINFLOAT",
    "FLOAT",
    "BINUNICODE",
    "SHORT_BINUNICODE",
    "BINUNICODE8",
    "UNICODE",
    "SHORT_BINBYTES",
    "BINBYTES",
    "BINBYTES8",
    "SHORT_BINSTRING",
    "BINSTRING",
    "STRING",
}


def _interpret(data: bytes) -> Any:
    """Run the pickle opcodes that make containers, scalars and numeric arrays; refuse the rest."""
    stack: list[Any] = []
    marks: list[int] = []
    memo: dict[int, Any] = {}
    items: Any
    arg: Any
    for count, (op, arg, _pos) in enumerate(pickletools.genops(data)):
        if count > MAX_OBJECTS:
            raise _Refused(f"more than {MAX_OBJECTS} objects")
        name = op.name
        if name in ("PROTO", "FRAME"):
            continue
        if name == "STOP":
            if len(stack) != 1:
                raise _Refused("a malformed stream")
            return stack[0]
        if name in _SCALAR_OPS:
            if isinstance(arg, int) and not isinstance(arg, bool) and arg.bit_length() > 64:
                raise _Refused("an integer of more than 64 bits")
            if isinstance(arg, bytes) and name.endswith("STRING"):
                arg = arg.decode("latin1")
            stack.append(arg)
        elif name == "NONE":
            stack.append(None)
        elif name in ("NEWTRUE", "NEWFALSE"):
            stack.append(name == "NEWTRUE")
        elif name == "MARK":
            marks.append(len(stack))
        elif name in ("EMPTY_DICT", "EMPTY_LIST", "EMPTY_TUPLE"):
            stack.append({"EMPTY_DICT": {}, "EMPTY_LIST": [], "EMPTY_TUPLE": ()}[name])
        elif name in ("TUPLE1", "TUPLE2", "TUPLE3"):
            n = int(name[-1])
            if len(stack) < n:
                raise _Refused("a malformed stream")
            items = tuple(stack[len(stack) - n :])
            del stack[len(stack) - n :]
            stack.append(items)
        elif name in ("TUPLE", "LIST", "DICT", "APPENDS", "SETITEMS"):
            if not marks:
                raise _Refused("a malformed stream")
            start = marks.pop()
            items = stack[start:]
            del stack[start:]
            if name == "TUPLE":
                stack.append(tuple(items))
            elif name == "LIST":
                stack.append(items)
            elif name == "APPENDS":
                _target(stack, list).extend(items)
            else:
                if len(items) % 2:
                    raise _Refused("a malformed stream")
                target = {} if name == "DICT" else _target(stack, dict)
                for key, value in zip(items[::2], items[1::2], strict=True):
                    _set_item(target, key, value)
                if name == "DICT":
                    stack.append(target)
        elif name in ("APPEND", "SETITEM"):
            n = 1 if name == "APPEND" else 2
            if len(stack) < n + 1:
                raise _Refused("a malformed stream")
            items = stack[len(stack) - n :]
            del stack[len(stack) - n :]
            if name == "APPEND":
                _target(stack, list).append(items[0])
            else:
                _set_item(_target(stack, dict), items[0], items[1])
        elif name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):
            if not stack:
                raise _Refused("a malformed stream")
            memo[len(memo) if name == "MEMOIZE" else int(arg)] = stack[-1]
        elif name in ("BINGET", "LONG_BINGET", "GET"):
            if int(arg) not in memo:
                raise _Refused("a malformed stream")
            stack.append(memo[int(arg)])
        elif name in ("GLOBAL", "STACK_GLOBAL"):
            if name == "GLOBAL":
                module, _, attr = str(arg).partition(" ")
            else:
                if len(stack) < 2:
                    raise _Refused("a malformed stream")
                module, attr = stack.pop(-2), stack.pop()
            what = _GLOBALS.get((module, attr)) if isinstance(module, str) else None
            if what is None:
                raise _Refused(f"{str(module)[:40]}.{str(attr)[:40]}: only NumPy arrays are read")
            stack.append(_Name(what))
        elif name == "REDUCE":
            if len(stack) < 2:
                raise _Refused("a malformed stream")
            args = stack.pop()
            stack.append(_call(stack.pop(), args))
        elif name == "BUILD":
            if len(stack) < 2:
                raise _Refused("a malformed stream")
            _build(stack[-2], stack.pop())
        elif name == "POP":
            if not stack:
                raise _Refused("a malformed stream")
            stack.pop()
        else:
            raise _Refused(f"the pickle operation {name}")
    raise _Refused("a stream without an end")


def _target(stack: list[Any], kind: type) -> Any:
    if not stack or type(stack[-1]) is not kind:
        raise _Refused("a malformed stream")
    return stack[-1]


def _set_item(target: dict[Any, Any], key: Any, value: Any) -> None:
    # Only scalars as keys: hashing a nested (or shared) tuple could take forever.
    if type(key) not in (str, int, float, bool, bytes) and key is not None:
        raise _Refused(f"a dict key of type {type(key).__name__}")
    target[key] = value


def _call(func: Any, args: Any) -> Any:
    if not isinstance(func, _Name) or type(args) is not tuple:
        raise _Refused("a call of something that is not a NumPy name")
    if func.what == "dtype":
        if len(args) == 3 and args[0] in _DTYPES and args[1:] in ((False, True), (0, 1)):
            return _DtypeSpec(args[0])
        raise _Refused("a dtype that is not bool, integer, float or complex")
    if func.what == "reconstruct":
        if len(args) == 3 and isinstance(args[0], _Name) and args[0].what == "ndarray":
            return _Shell()
        raise _Refused("_reconstruct of something that is not numpy.ndarray")
    if func.what == "encode":
        if len(args) == 2 and type(args[0]) is str and args[1] == "latin1":
            return args[0].encode("latin1")
        raise _Refused("_codecs.encode of anything but latin-1 text")
    raise _Refused("a call of numpy.ndarray")


def _build(obj: Any, state: Any) -> None:
    if isinstance(obj, _DtypeSpec):
        fixed = (None, None, None, -1, -1, 0)
        ok = (
            type(state) is tuple
            and len(state) in (8, 9)
            and state[0] in (3, 4)
            and state[1] in ("<", ">", "|", "=")
            and state[2:8] == fixed
            and state[8:] in ((), (None,))
        )
        if not ok or obj.order is not None or obj.used:
            raise _Refused("dtype state that is not a plain byte order")
        obj.order = state[1]
        return
    if not isinstance(obj, _Shell) or obj.array is not None:
        raise _Refused("state set on something other than a new array")
    if not (type(state) is tuple and len(state) == 5 and state[0] == 1):
        raise _Refused("array state of an unknown form")
    _, shape, spec, fortran, raw = state
    if type(shape) is not tuple or not all(type(n) is int and 0 <= n < 1 << 40 for n in shape):
        raise _Refused("an array shape that is not a tuple of sizes")
    if len(shape) > 32 or not isinstance(spec, _DtypeSpec) or type(fortran) is not bool:
        raise _Refused("array state of an unknown form")
    if type(raw) is not bytes:
        raise _Refused("array data that is not bytes")
    dtype = spec.dtype()
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise _Refused(f"array data of {len(raw)} bytes for shape {shape} of {dtype}")
    flat = np.frombuffer(raw, dtype=dtype).copy()
    obj.array = flat.reshape(shape, order="F" if fortran else "C")


def _finish(obj: Any, done: dict[int, Any], depth: int = 0) -> Any:
    """Arrays in place of their shells; containers checked for depth and cycles."""
    if type(obj) in (str, int, float, bool, bytes) or obj is None:
        return obj
    if id(obj) in done:
        seen = done[id(obj)]
        if seen is _IN_PROGRESS:
            raise _Refused("a container inside itself")
        return seen
    if depth >= MAX_DEPTH:
        raise _Refused(f"containers nested more than {MAX_DEPTH} deep")
    if isinstance(obj, _Shell):
        if obj.array is None:
            raise _Refused("an array without data")
        return obj.array
    if isinstance(obj, (_Name, _DtypeSpec)):
        raise _Refused("a NumPy name or dtype on its own")
    done[id(obj)] = _IN_PROGRESS
    if type(obj) is dict:
        result: Any = {k: _finish(v, done, depth + 1) for k, v in obj.items()}
    elif type(obj) is list:
        result = [_finish(v, done, depth + 1) for v in obj]
    else:
        result = tuple(_finish(v, done, depth + 1) for v in obj)
    done[id(obj)] = result
    return result


_IN_PROGRESS = object()


def load_pickle(path: str | os.PathLike[str]) -> Any:
    """What ``path`` pickles, read without running its code: nested dict, list, tuple,
    str, bytes, int, float, bool, None and numeric NumPy arrays (bool, int, uint, float,
    complex), such as volume 2's ``Rnnlm.pkl`` (a list of arrays) or ``cbow_params.pkl``.

    Anything else, a file over ``MAX_PICKLE_BYTES``, or nesting deeper than ``MAX_DEPTH``
    is a ``ValueError`` of one short line naming the file.
    """
    source = Path(path)
    shown = str(source) if len(str(source)) <= 80 else "..." + str(source)[-77:]
    try:
        st = os.stat(source)
    except FileNotFoundError:
        raise
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{shown}: is {file_kind(st.st_mode)}, not a file")
    if st.st_size > MAX_PICKLE_BYTES:
        raise ValueError(
            f"{shown}: {st.st_size} bytes, more than the {MAX_PICKLE_BYTES} a pickle may be"
        )
    with open_regular(source) as f:
        data = f.read(MAX_PICKLE_BYTES + 1)
    if len(data) > MAX_PICKLE_BYTES:
        raise ValueError(f"{shown}: larger than the {MAX_PICKLE_BYTES} bytes a pickle here may be")
    try:
        return _finish(_interpret(data), {})
    except Exception as exc:  # a hostile or broken stream may raise anything
        reason = str(exc)[:100] if isinstance(exc, _Refused) else type(exc).__name__
        raise ValueError(
            f"{shown}: not read: refused {reason} (mitbadak reads only pickles of NumPy arrays"
            " and never runs code from a file)"[: _MESSAGE + len(shown)]
        ) from None


def load_arrays(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """The dict of NumPy arrays pickled in ``path``, read without running its code.

    Returns name -> array for a pickle that holds exactly a dict with string keys and
    numeric arrays (bool, integer, float) as values. Anything else, including a pickle
    that names any other function or class, is a ``ValueError`` naming the file.
    """
    source = Path(path)
    loaded = load_pickle(source)
    if not isinstance(loaded, dict):
        raise ValueError(
            f"{source}: expected a pickled dict of NumPy arrays, found {type(loaded).__name__}"
        )
    for key, value in loaded.items():
        if not isinstance(key, str):
            raise ValueError(f"{source}: expected names as keys, found {key!r}")
        if not isinstance(value, np.ndarray) or value.dtype.kind not in "biuf":
            found = value.dtype if isinstance(value, np.ndarray) else type(value).__name__
            raise ValueError(f"{source}: {key!r} is not a numeric NumPy array ({found})")
    return loaded
