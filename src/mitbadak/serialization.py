"""Saving and loading models as one ``.npz`` file: arrays plus a JSON architecture.

The file holds every parameter under ``param/<name>``, every buffer (BatchNorm's
running statistics) under ``buffer/<layer>/<key>``, and a JSON description under
``architecture``. Loading treats the file as hostile: it never runs code from it
(nothing is unpickled), and it reads the architecture first, then each array's header,
and allocates nothing the architecture does not imply (see :mod:`mitbadak._npz`).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from mitbadak._architecture import (
    FORMAT,
    FORMAT_VERSION,
    MAX_JSON_CHARS,
    check_metadata,
    parse_architecture,
)
from mitbadak._files import atomic_target
from mitbadak._memory import check_fits
from mitbadak._npz import ArrayHeader, NpzArchive
from mitbadak.layers import Layer, LossLayer

# The networks' modules import every layer module, so all of mitbadak's layer
# classes exist once this import is done.
from mitbadak.models import MODELS, Network, Sequential

__all__ = ["FORMAT", "load", "save"]

#: More entries than this is not a model file (the book's networks have at most 30).
MAX_ENTRIES = 10_000
#: Deflate never inflates more than 1032 bytes from one: the output limit of its format.
DEFLATE_MAX_RATIO = 1032
#: Trained weights hardly compress; a file whose weights inflate more than this many
#: times (beyond :data:`SMALL_MODEL_BYTES`) was not written from a trained model.
MAX_WEIGHT_RATIO = 64
SMALL_MODEL_BYTES = 64 << 20

_T = TypeVar("_T")


def _layer_classes() -> dict[str, type]:
    """mitbadak's own layer classes by name, found by walking the class tree."""
    classes: dict[str, type] = {}
    todo: list[type] = [Layer, LossLayer]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        # Only the package's classes: a user's subclass must not shadow them. A class
        # is met before its subclasses, so mitbadak.book's same-named adapters do not
        # shadow the layers they adapt.
        if cls.__module__.startswith("mitbadak."):
            classes.setdefault(cls.__name__, cls)
    return classes


def _architecture(model: Sequential) -> dict[str, Any]:
    layer_specs = [
        {"name": name, "type": type(layer).__name__, "config": layer.config()}
        for name, layer in model.layers.items()
    ]
    arch: dict[str, Any] = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "class": type(model).__name__,
        "dtype": model.dtype.name,
        "layers": layer_specs,
        "loss": type(model.last_layer).__name__,
        "param_names": {name: list(model.param_location(name)) for name in model.params},
        "params": {name: list(model.params[name].shape) for name in model.params},
    }
    if isinstance(model, Network):
        arch["config"] = model.config()
    return arch


def save(
    model: Sequential,
    path: str | os.PathLike[str],
    *,
    overwrite: bool = False,
    metadata: dict[str, Any] | None = None,
) -> Path:
    """Write ``model`` to ``path`` (an ``.npz`` file) atomically and return the path.

    ``metadata`` (JSON-serialisable, e.g. the dataset and class names) is stored
    with the architecture and comes back as ``model.metadata`` from :func:`load`;
    by default the model's own ``metadata`` is saved.

    An existing file is only replaced with ``overwrite=True``. The file is first
    written under a temporary name in the same folder and renamed once complete,
    so a crash never leaves half a model behind.
    """
    if not isinstance(model, Sequential):
        raise TypeError(f"save expects a mitbadak model, received {type(model).__name__}")
    target = Path(path)
    if (target.exists() or target.is_symlink()) and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    arch = _architecture(model)
    arch["metadata"] = dict(model.metadata if metadata is None else metadata)
    # The same checks load() makes: a file save() writes must load again.
    check_metadata(arch["metadata"], str(target), _output_size(model))
    arrays: dict[str, np.ndarray] = {"architecture": np.array(json.dumps(arch))}
    for name in model.params:
        arrays[f"param/{name}"] = model.params[name]
    for lname, layer in model.layers.items():
        for key, value in layer.buffers.items():
            arrays[f"buffer/{lname}/{key}"] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_target(target, overwrite=overwrite) as tmp, tmp.open("wb") as f:
            # A file object, not a name: savez would append ".npz" to a name.
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    except FileExistsError:
        # Created by someone else while this one was being written.
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it") from None
    return target


def load(path: str | os.PathLike[str]) -> Sequential:
    """Read a model written by :func:`save`.

    Raises ``ValueError`` naming the file for anything that is not a complete, sound
    mitbadak model: another kind of file, a folder, FIFO or device, a truncated or
    damaged archive, an architecture that cannot be built, arrays whose shapes
    disagree with it, weights that are not finite, or a network that would need more
    memory than the file could hold or the machine has; ``OSError`` (naming the file)
    when it cannot be read at all, ``FileNotFoundError`` when it does not exist.
    """
    source = Path(path)
    try:
        with NpzArchive(source, max_members=MAX_ENTRIES) as archive:
            arch = _read_architecture(archive)
            return _build(archive, arch)
    except OSError as exc:
        if exc.filename is None and str(source) not in str(exc):
            raise OSError(exc.errno, f"{source}: {exc.strerror or exc}") from exc
        raise
    except ValueError as exc:
        if str(exc).startswith(str(source)):
            raise
        raise ValueError(f"{source}: {exc}") from exc
    except Exception as exc:
        # MemoryError, RecursionError, ...: whatever else a hostile file provokes still
        # ends as one error that names the file.
        raise ValueError(f"{source}: cannot be loaded ({type(exc).__name__}: {exc})") from exc


def _read_architecture(archive: NpzArchive) -> dict[str, Any]:
    where = str(archive.path)
    if "architecture" not in archive:
        raise ValueError(f"{where}: not a mitbadak model file (no architecture entry)")
    header = archive.header("architecture")
    limit = 4 * MAX_JSON_CHARS
    if header.dtype.kind != "U" or header.shape != () or header.nbytes > limit:
        raise ValueError(
            f"{where}: not a mitbadak model file (the architecture entry is "
            f"{header.dtype} of shape {header.shape}, expected one text of at most "
            f"{MAX_JSON_CHARS} characters)"
        )
    text = str(archive.read("architecture", max_bytes=limit)[()])
    return parse_architecture(text, where)


def _constructed(where: str, what: str, make: Callable[[], _T]) -> _T:
    """``make()``, with any error it raises turned into a ValueError naming the file."""
    try:
        return make()
    except ValueError as exc:
        raise ValueError(f"{where}: {what}: {exc}") from exc
    except Exception as exc:
        raise ValueError(f"{where}: {what}: {type(exc).__name__}: {exc}") from exc


def _expected_shapes(
    where: str, arch: dict[str, Any], network: type[Network] | None
) -> dict[str, tuple[int, ...]]:
    """Every parameter's shape, from the architecture alone, before anything is built."""
    if network is not None:
        config = arch["config"]
        cfg = _constructed(where, f"{network.__name__} config", lambda: network.Config(**config))
        return _constructed(where, f"{network.__name__} config", cfg.param_shapes)
    params, names = arch["params"], arch["param_names"]
    if set(params) != set(names):
        raise ValueError(
            f"{where}: the architecture lists parameters {sorted(params)} but names {sorted(names)}"
        )
    return {name: tuple(shape) for name, shape in params.items()}


def _param_headers(
    archive: NpzArchive, expected: dict[str, tuple[int, ...]]
) -> dict[str, ArrayHeader]:
    where = str(archive.path)
    stored = {key.removeprefix("param/") for key in archive.keys() if key.startswith("param/")}
    if stored != set(expected):
        raise ValueError(
            f"{where}: parameters {sorted(stored)} do not match the architecture's "
            f"{sorted(expected)}"
        )
    headers = {}
    for name, shape in expected.items():
        header = archive.header(f"param/{name}")
        if header.shape != shape or header.dtype.kind != "f":
            raise ValueError(
                f"{where}: parameter {name} has shape {header.shape} and dtype "
                f"{header.dtype}, the architecture needs shape {shape} (floating point)"
            )
        headers[name] = header
    return headers


def _check_budget(archive: NpzArchive, headers: dict[str, ArrayHeader], dtype: np.dtype) -> None:
    """Refuse, before allocating, weights the file cannot hold or the machine cannot fit."""
    where = str(archive.path)
    packed = {name: archive.compressed_size(f"param/{name}") for name in headers}
    for name, header in headers.items():
        if header.nbytes > DEFLATE_MAX_RATIO * packed[name] + 4096:
            raise ValueError(
                f"{where}: parameter {name} claims {header.nbytes} bytes, which its "
                f"{packed[name]} compressed bytes cannot hold"
            )
    total = sum(header.nbytes for header in headers.values())
    if total > max(SMALL_MODEL_BYTES, MAX_WEIGHT_RATIO * sum(packed.values())):
        raise ValueError(
            f"{where}: its {total} bytes of weights are packed into {sum(packed.values())}; "
            f"trained weights do not compress {total // max(sum(packed.values()), 1)} times"
        )
    count = sum(math.prod(header.shape) for header in headers.values())
    largest = max((header.nbytes for header in headers.values()), default=0)
    # The built model holds its weights and as much again for their gradients; one
    # array at a time is read beside them.
    check_fits(2 * count * dtype.itemsize + largest, f"loading {where}")


def _read_param(archive: NpzArchive, key: str, header: ArrayHeader) -> np.ndarray:
    value = archive.read(key, max_bytes=header.nbytes)
    if not np.all(np.isfinite(value)):
        raise ValueError(f"{archive.path}: {key} holds NaN or infinite values")
    return value


def _build(archive: NpzArchive, arch: dict[str, Any]) -> Sequential:
    where = str(archive.path)
    unexpected = [
        key
        for key in archive.keys()
        if key != "architecture" and not key.startswith(("param/", "buffer/"))
    ]
    if unexpected:
        raise ValueError(f"{where}: unexpected entries {unexpected[:5]} in a model file")
    dtype = np.dtype(arch["dtype"])
    network = MODELS.get(arch["class"]) if "config" in arch else None
    expected = _expected_shapes(where, arch, network)
    headers = _param_headers(archive, expected)
    _check_budget(archive, headers, dtype)
    if network is not None:
        # Rebuild through the constructor so the loaded object is the same class
        # with the same public parameter names; the drawn weights are overwritten.
        config = arch["config"]
        model: Sequential = _constructed(
            where,
            f"cannot build {network.__name__}",
            lambda: network.from_config(config, rng=np.random.default_rng(0), dtype=dtype),
        )
        built = {name: model.params[name].shape for name in model.params}
        if built != expected:
            raise ValueError(
                f"{where}: {network.__name__} built parameters {built}, not {expected}"
            )
        for name, header in headers.items():
            value = _read_param(archive, f"param/{name}", header)
            model.params[name] = value.astype(model.dtype, copy=False)
    else:
        arrays = {
            name: _read_param(archive, f"param/{name}", header).astype(dtype, copy=False)
            for name, header in headers.items()
        }
        model = _constructed(
            where, "cannot build the layers", lambda: _build_sequential(where, arch, arrays)
        )
    _load_buffers(archive, model)
    metadata = arch.get("metadata", {})
    model.metadata = check_metadata(metadata, where, _output_size(model))
    return model


def _build_sequential(
    where: str, arch: dict[str, Any], arrays: dict[str, np.ndarray]
) -> Sequential:
    layer_classes = _layer_classes()
    names = {pname: (lname, key) for pname, (lname, key) in arch["param_names"].items()}
    built: dict[str, Layer] = {}
    for spec in arch["layers"]:
        cls = layer_classes.get(spec["type"])
        if cls is None:
            raise ValueError(f"unknown layer type {spec['type']!r:.80}")
        owned = {
            key: arrays[pname] for pname, (lname, key) in names.items() if lname == spec["name"]
        }
        built[spec["name"]] = cls(**owned, **spec["config"])
    loss_cls = layer_classes.get(arch["loss"])
    if loss_cls is None or not issubclass(loss_cls, LossLayer):
        raise ValueError(f"unknown loss layer {arch['loss']!r:.80}")
    return Sequential(built, loss_cls(), param_names=names)


def _load_buffers(archive: NpzArchive, model: Sequential) -> None:
    where = str(archive.path)
    wanted = {
        f"buffer/{lname}/{key}": (layer, key, current)
        for lname, layer in model.layers.items()
        for key, current in layer.buffers.items()
    }
    stored = {key for key in archive.keys() if key.startswith("buffer/")}
    if stored != set(wanted):
        raise ValueError(
            f"{where}: buffers {sorted(stored)} do not match the architecture's {sorted(wanted)}"
        )
    for name, (layer, key, current) in wanted.items():
        header = archive.header(name)
        if header.shape != current.shape or header.dtype.kind != "f":
            raise ValueError(
                f"{where}: {name} has shape {header.shape} and dtype {header.dtype}, "
                f"expected shape {current.shape} (floating point)"
            )
        layer.buffers[key] = _read_param(archive, name, header).astype(current.dtype, copy=False)


def _output_size(model: Sequential) -> int | None:
    """How many scores the model gives per sample, where its settings or last weights say."""
    size = getattr(getattr(model, "cfg", None), "output_size", None)
    if isinstance(size, int):
        return size
    for layer in reversed(list(model.layers.values())):
        weight = layer.params.get("W")
        if weight is not None and weight.ndim == 2:  # an Affine layer: (in, out)
            return int(weight.shape[1])
        if layer.params:
            return None
    return None
