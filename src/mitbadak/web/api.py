"""The JSON API's requests: reading and checking them, and turning any image into MNIST's.

``POST /api/predict`` takes one JSON object (see the README) with exactly one of
``image`` (a drawing's gray levels), ``file`` (an image file, base64) or ``pixels`` (a
digit already prepared as MNIST's). Drawings and files go through the preprocessing of
``mitbadak predict`` (:mod:`mitbadak.data.images`). Anything wrong is an
:class:`ApiError` carrying the HTTP status and one line for the user.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import tempfile
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
from numpy.typing import NDArray

__all__ = ["MAX_SIDE", "ApiError", "PredictRequest", "parse_json", "parse_predict"]

#: The largest drawing accepted, in pixels a side (the page's canvas is far smaller).
MAX_SIDE = 2048
_FIELDS = ("model", "image", "file", "pixels", "class", "explain")
_SOURCES = ("image", "file", "pixels")
_PIXELS = 28 * 28


class ApiError(Exception):
    """A request the API refuses: ``status`` (4xx) and a one-line ``message``."""

    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = " ".join(message.split())


def _bad(message: str) -> NoReturn:
    raise ApiError(HTTPStatus.BAD_REQUEST, message)


@dataclass(frozen=True)
class PredictRequest:
    """A checked ``POST /api/predict``: x is (1, 784) float32, prepared as MNIST's."""

    model: str | None
    x: NDArray[np.float32]
    label: int | None
    explain: bool
    source: str


def _no_constants(name: str) -> NoReturn:
    _bad(f"the body is not valid JSON: {name} is not a JSON number")


#: The longest JSON integer read, in digits (Python refuses over 4300 inside json).
_MAX_DIGITS = 100


def _int(text: str) -> int:
    digits = len(text.lstrip("-"))
    if digits > _MAX_DIGITS:
        _bad(f"the body holds an integer of {digits:,} digits; at most {_MAX_DIGITS}")
    return int(text)


def parse_json(body: bytes) -> dict[str, Any]:
    """The request's JSON object; ``ApiError`` 400 for anything else."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants, parse_int=_int)
    except UnicodeDecodeError:
        _bad("the body is not UTF-8 text")
    except json.JSONDecodeError as exc:
        _bad(f"the body is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}")
    except RecursionError:
        _bad("the body is not valid JSON: nested too deeply")
    if not isinstance(data, dict):
        _bad(f"the body must be a JSON object, received a JSON {type(data).__name__}")
    return data


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _base64(value: object, field: str) -> bytes:
    if not isinstance(value, str):
        _bad(f"{field} must be a base64 string, received {type(value).__name__}")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        _bad(f"{field} is not valid base64")


def _from_pixels(value: object) -> NDArray[np.float32]:
    """784 numbers in [0, 1] (flat or 28 rows of 28), used as they are."""
    if not isinstance(value, list):
        _bad(f"pixels must be a list of {_PIXELS} numbers, received {type(value).__name__}")
    rows = value if value and isinstance(value[0], list) else [value]
    for row in rows:
        if not isinstance(row, list) or not all(
            isinstance(v, int | float) and not isinstance(v, bool) for v in row
        ):
            _bad("pixels must hold only numbers (a flat list, or 28 lists of 28)")
    flat = [v for row in rows for v in row]
    if (len(rows) > 1 and any(len(row) != 28 for row in rows)) or len(flat) != _PIXELS:
        shape = f"{len(rows)} rows" if len(rows) > 1 else f"{len(flat)} values"
        _bad(f"pixels must be 28x28 = {_PIXELS} values, received {shape}")
    x = np.asarray(flat, dtype=np.float64)
    if not np.isfinite(x).all() or x.min() < 0 or x.max() > 1:
        _bad("pixels must be numbers from 0 to 1 (1 is the ink, as in MNIST)")
    return x.astype(np.float32).reshape(1, _PIXELS)


def _from_image(value: object) -> NDArray[np.float32]:
    """A drawing: ``{"width", "height", "gray"}``, gray levels 0-255 row by row."""
    from mitbadak.data.images import mnist_like

    if not isinstance(value, dict):
        _bad("image must be an object with width, height and gray")
    unknown = sorted(set(value) - {"width", "height", "gray"})
    if unknown:
        _bad(f"image has an unknown field {unknown[0]!r}; its fields are width, height, gray")
    width, height = value.get("width"), value.get("height")
    for side, size in (("width", width), ("height", height)):
        if not _is_int(size) or not 1 <= size <= MAX_SIDE:  # type: ignore[operator]
            _bad(f"image.{side} must be an integer from 1 to {MAX_SIDE}, received {size!r}")
    assert isinstance(width, int) and isinstance(height, int)
    gray = _base64(value.get("gray"), "image.gray")
    if len(gray) != width * height:
        _bad(f"image.gray must hold width x height = {width * height} bytes, received {len(gray)}")
    levels = np.frombuffer(gray, dtype=np.uint8).reshape(height, width)
    try:
        digit = mnist_like(levels / 255.0, name="the drawing")
    except ValueError as exc:
        _bad(str(exc))
    return digit.reshape(1, _PIXELS)


def _from_file(value: object, lock: AbstractContextManager[Any]) -> NDArray[np.float32]:
    """An image file (PNG, JPEG, BMP, GIF, WebP), read as ``mitbadak predict`` reads one,
    while holding ``lock``."""
    from mitbadak.data.images import read_digit

    data = _base64(value, "file")
    if not data:
        _bad("file is empty")
    # The reader takes a path: the upload goes into a private folder, deleted after.
    with lock, tempfile.TemporaryDirectory(prefix="mitbadak-upload-") as folder:
        path = Path(folder) / "upload"
        path.write_bytes(data)
        try:
            return read_digit(path)
        except (ValueError, OSError) as exc:
            _bad(str(exc).replace(str(path), "the uploaded file").replace(folder + os.sep, ""))


def parse_predict(
    data: dict[str, Any], *, file_lock: AbstractContextManager[Any] | None = None
) -> PredictRequest:
    """Check a ``POST /api/predict`` object and prepare its image; ``ApiError`` 400 if wrong.

    ``file_lock`` is held while an image file is decoded: a server passes one lock for all
    its requests, since a small file may hold a large image (up to half a gigabyte while
    decoding) and many at once must not exhaust the memory.
    """
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        _bad(f"unknown field {unknown[0][:40]!r}; the fields are {', '.join(_FIELDS)}")
    given = [s for s in _SOURCES if data.get(s) is not None]
    if len(given) != 1:
        _bad(f"give exactly one of image, file or pixels, received {len(given)}")
    model = data.get("model")
    if model is not None and not isinstance(model, str):
        _bad(f"model must be a model id (a string), received {type(model).__name__}")
    if model == "":
        _bad("model is an empty model name: give a model id, or leave model out for the default")
    label = data.get("class")
    if label is not None and (not _is_int(label) or label < 0):
        _bad(f"class must be a class index (an integer >= 0) or null, received {label!r}")
    explain = data.get("explain", True)
    if not isinstance(explain, bool):
        _bad(f"explain must be true or false, received {explain!r}")
    source = given[0]
    if source == "file":
        x = _from_file(data[source], file_lock or nullcontext())
    else:
        x = {"image": _from_image, "pixels": _from_pixels}[source](data[source])
    described = {"image": "your drawing", "file": "your image", "pixels": "the given pixels"}
    return PredictRequest(model, x, label, explain, described[source])
