"""Saving and loading models as one ``.npz`` file: arrays plus a JSON architecture.

The file holds every parameter under ``param/<name>``, every buffer (BatchNorm's
running statistics) under ``buffer/<layer>/<key>``, and a JSON description under
``architecture``. It is read with ``allow_pickle=False``: loading a model never
runs code from the file.
"""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from mitbadak._files import atomic_target
from mitbadak.layers import Layer, LossLayer

# The networks' modules import every layer module, so all of mitbadak's layer
# classes exist once this import is done.
from mitbadak.models import MODELS, Network, Sequential

__all__ = ["FORMAT", "load", "save"]

FORMAT = "mitbadak-model"
FORMAT_VERSION = 1


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
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} exists; pass overwrite=True to replace it")
    arch = _architecture(model)
    arch["metadata"] = dict(model.metadata if metadata is None else metadata)
    arrays: dict[str, np.ndarray] = {"architecture": np.array(json.dumps(arch))}
    for name in model.params:
        arrays[f"param/{name}"] = model.params[name]
    for lname, layer in model.layers.items():
        for key, value in layer.buffers.items():
            arrays[f"buffer/{lname}/{key}"] = value
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_target(target) as tmp, tmp.open("wb") as f:
        # A file object, not a name: savez would append ".npz" to a name.
        np.savez_compressed(f, **arrays)  # type: ignore[arg-type]
    return target


def _read(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
    except FileNotFoundError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as exc:
        raise ValueError(
            f"{path}: not a readable mitbadak model file (.npz): {type(exc).__name__}: {exc}"
        ) from exc
    if "architecture" not in arrays:
        raise ValueError(f"{path}: not a mitbadak model file (no architecture entry)")
    try:
        arch = json.loads(str(arrays.pop("architecture")))
    except json.JSONDecodeError as exc:
        raise ValueError(f"{path}: the architecture entry is not valid JSON: {exc}") from exc
    if not isinstance(arch, dict) or arch.get("format") != FORMAT:
        raise ValueError(f"{path}: not a mitbadak model file (format is not {FORMAT!r})")
    if arch.get("version") != FORMAT_VERSION:
        raise ValueError(
            f"{path}: model format version {arch.get('version')!r} is not supported "
            f"(this mitbadak reads version {FORMAT_VERSION})"
        )
    return arch, arrays


def _build(path: Path, arch: dict[str, Any], arrays: dict[str, np.ndarray]) -> Sequential:
    dtype = np.dtype(arch["dtype"])
    model_cls = MODELS.get(arch["class"])
    if model_cls is not None and "config" in arch:
        # Rebuild through the constructor so the loaded object is the same class
        # with the same public parameter names; the drawn weights are overwritten.
        return model_cls.from_config(arch["config"], rng=np.random.default_rng(0), dtype=dtype)
    layer_classes = _layer_classes()
    built: dict[str, Layer] = {}
    for spec in arch["layers"]:
        cls = layer_classes.get(spec["type"])
        if cls is None:
            raise ValueError(f"{path}: unknown layer type {spec['type']!r}")
        owned = {
            key: arrays[f"param/{pname}"]
            for pname, (lname, key) in arch["param_names"].items()
            if lname == spec["name"] and f"param/{pname}" in arrays
        }
        built[spec["name"]] = cls(**owned, **spec["config"])
    loss_cls = layer_classes.get(arch["loss"])
    if loss_cls is None:
        raise ValueError(f"{path}: unknown loss layer {arch['loss']!r}")
    names = {pname: (lname, key) for pname, (lname, key) in arch["param_names"].items()}
    return Sequential(built, loss_cls(), param_names=names)


def load(path: str | os.PathLike[str]) -> Sequential:
    """Read a model written by :func:`save`.

    Raises ``ValueError`` naming the file for anything that is not a complete
    mitbadak model: another kind of file, a truncated one, or arrays whose shapes
    disagree with the architecture.
    """
    source = Path(path)
    arch, arrays = _read(source)
    try:
        model = _build(source, arch, arrays)
    except (KeyError, TypeError) as exc:
        raise ValueError(f"{source}: the architecture cannot be rebuilt: {exc}") from exc
    expected = set(model.params)
    stored = {key.removeprefix("param/") for key in arrays if key.startswith("param/")}
    if stored != expected:
        raise ValueError(
            f"{source}: parameters {sorted(stored)} do not match the architecture's "
            f"{sorted(expected)}"
        )
    for name in model.params:
        value = arrays[f"param/{name}"]
        if value.shape != model.params[name].shape or value.dtype.kind != "f":
            raise ValueError(
                f"{source}: parameter {name} has shape {value.shape} and dtype {value.dtype}, "
                f"the architecture needs shape {model.params[name].shape} (floating point)"
            )
        model.params[name] = value.astype(model.dtype, copy=False)
    for lname, layer in model.layers.items():
        for key, current in layer.buffers.items():
            stored_buffer = arrays.get(f"buffer/{lname}/{key}")
            if stored_buffer is None or stored_buffer.shape != current.shape:
                raise ValueError(
                    f"{source}: buffer {lname}/{key} is missing or has the wrong shape "
                    f"(expected {current.shape})"
                )
            layer.buffers[key] = stored_buffer.astype(current.dtype, copy=False)
    metadata = arch.get("metadata", {})
    model.metadata = metadata if isinstance(metadata, dict) else {}
    return model
