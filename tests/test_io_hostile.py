"""Loading hostile model files: one ValueError naming the file, in bounded memory, never a hang.

Every file here is refused; the memory tests measure the peak with tracemalloc, which
sees NumPy's array buffers as well as Python's bytes.
"""

from __future__ import annotations

import os
import pickle
import signal
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from child_signals import default_signals
from conftest import traced_peak
from mitbadak import _memory, serialization
from mitbadak._files import atomic_target
from mitbadak.models import MultiLayerNet, Sequential, SimpleConvNet, TwoLayerNet
from model_files import (
    architecture_of,
    npy_bytes,
    npy_header,
    patch_every_entry,
    saved_members,
    small_net_members,
    with_architecture,
    write_npz,
    zip_bomb_member,
)

MiB = 1 << 20


def _refused(path: Path, needle: str = "") -> str:
    with pytest.raises(ValueError) as info:
        serialization.load(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert needle in message, message
    assert "allow_pickle" not in message
    return message


def _edited(
    members: dict[str, bytes], edit: Callable[[dict[str, Any]], object]
) -> dict[str, bytes]:
    arch = architecture_of(members)
    edit(arch)
    return with_architecture(members, arch)


def _set_config(key: str, value: object) -> Callable[[dict[str, Any]], object]:
    return lambda arch: arch["config"].__setitem__(key, value)


# name -> (what to write, a phrase the message must hold)
CASES: dict[str, tuple[Callable[[dict[str, bytes]], dict[str, bytes]], str]] = {
    "hidden_size 10**9": (lambda m: _edited(m, _set_config("hidden_size", 10**9)), "W1"),
    "hidden_size a string": (
        lambda m: _edited(m, _set_config("hidden_size", "50")),
        "hidden_size must be a positive integer",
    ),
    "unknown config key": (lambda m: _edited(m, _set_config("depth", 3)), "TwoLayerNet config"),
    "config a list": (lambda m: _edited(m, lambda a: a.__setitem__("config", [1])), "'config'"),
    "param_names a list": (
        lambda m: _edited(m, lambda a: a.__setitem__("param_names", list(a["param_names"]))),
        "'param_names'",
    ),
    "layers not a list": (lambda m: _edited(m, lambda a: a.__setitem__("layers", 5)), "'layers'"),
    "dtype int8": (lambda m: _edited(m, lambda a: a.__setitem__("dtype", "int8")), "'dtype'"),
    "nested 100,000 deep": (
        lambda m: with_architecture(m, "[" * 100_000 + "]" * 100_000),
        "nested 100000 levels",
    ),
    "a 5000-digit number": (lambda m: with_architecture(m, "1" * 5000), "not valid JSON"),
    "JSON list": (lambda m: with_architecture(m, "[1, 2]"), "not a mitbadak model"),
    "architecture of numbers": (
        lambda m: {**m, "architecture": npy_bytes(np.zeros(3))},
        "architecture entry",
    ),
    "header claiming 10**18 floats": (
        lambda m: {**m, "param/W1": npy_header((10**9, 10**9))},
        "promises",
    ),
    "NaN weight": (
        lambda m: {**m, "param/W1": npy_bytes(np.full((12, 7), np.nan, np.float32))},
        "NaN or infinite",
    ),
    "integer weight": (
        lambda m: {**m, "param/b2": npy_bytes(np.zeros(4, np.int32))},
        "floating point",
    ),
    "structured dtype": (
        lambda m: {**m, "param/b2": npy_bytes(np.zeros(4, dtype=[("a", "<f4")]))},
        "param/b2",
    ),
    "extra entry": (lambda m: {**m, "junk": npy_bytes(np.zeros(3))}, "unexpected entries"),
    "missing entry": (lambda m: {k: v for k, v in m.items() if k != "param/b2"}, "do not match"),
    "control characters in a class name": (
        lambda m: _edited(
            m, lambda a: a.__setitem__("metadata", {"class_names": ["\x1b[2J", "b", "c", "d"]})
        ),
        "class name 0",
    ),
    "bidi override in the dataset name": (
        lambda m: _edited(m, lambda a: a.__setitem__("metadata", {"dataset": "mnist\u202e"})),
        "dataset name",
    ),
    "class names for other outputs": (
        lambda m: _edited(m, lambda a: a.__setitem__("metadata", {"class_names": ["a", "b"]})),
        "2 class names for a network with 4 outputs",
    ),
    "class names not a list": (
        lambda m: _edited(m, lambda a: a.__setitem__("metadata", {"class_names": "abcd"})),
        "class_names",
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_hostile_file_is_one_value_error_naming_it(case: str, tmp_path: Path) -> None:
    make, needle = CASES[case]
    path = write_npz(tmp_path / "hostile.npz", make(small_net_members(tmp_path)))
    _refused(path, needle)


class _WritesAFile:
    """Unpickling this would create a file: proof that something ran."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (self.marker,))


def test_object_arrays_are_never_unpickled(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    payload = pickle.dumps(np.array([_WritesAFile(marker)] * 7, dtype=object))
    members = {**small_net_members(tmp_path), "param/b1": npy_header((7,), "|O") + payload}
    message = _refused(write_npz(tmp_path / "pickled.npz", members), "never unpickles")
    assert not marker.exists()
    assert "allow_pickle" not in message


def test_plain_npy_files_are_refused_unread(tmp_path: Path) -> None:
    small = tmp_path / "array.npz"
    small.write_bytes(npy_bytes(np.ones(3, np.float32)))
    _refused(small, "single NumPy array")
    huge = tmp_path / "huge.npz"
    huge.write_bytes(npy_header((10**6, 10**6)) + bytes(64))
    assert traced_peak(lambda: _refused(huge, "single NumPy array")) < MiB


@pytest.mark.parametrize(
    ("flag_bits", "method", "needle"), [(1, None, "encrypted"), (None, 99, "method 99")]
)
def test_encrypted_or_unknown_compression_is_refused(
    flag_bits: int | None, method: int | None, needle: str, tmp_path: Path
) -> None:
    path = write_npz(tmp_path / "patched.npz", small_net_members(tmp_path))
    patch_every_entry(path, flag_bits=flag_bits, method=method)
    _refused(path, needle)


def test_bzip2_members_are_refused(tmp_path: Path) -> None:
    # bzip2 and lzma inflate a whole chunk at once, without an output bound.
    path = write_npz(tmp_path / "bz.npz", small_net_members(tmp_path), zipfile.ZIP_BZIP2)
    _refused(path, "compression method 12")


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Zip bombs of 256 MiB of zeros (about 250 KB each) in three disguises."""
    folder = tmp_path_factory.mktemp("bombs")
    members = small_net_members(folder)
    paths = {}
    for name, bomb, shape in [
        ("extra", "junk", (64 * MiB,)),
        ("wrong shape", "param/W1", (12, 64 * MiB // 12)),
    ]:
        paths[name] = folder / f"{name}.npz"
        with zipfile.ZipFile(paths[name], "w", zipfile.ZIP_DEFLATED) as z:
            for key, data in members.items():
                if key != bomb:
                    z.writestr(f"{key}.npy", data)
            zip_bomb_member(z, bomb, shape)
    # The architecture asks for exactly what the bomb holds: a legal-looking model whose
    # weights are 1000 times smaller on disk than in memory.
    hidden = 64 * MiB // 12
    arch = architecture_of(members)
    arch["config"]["hidden_size"] = hidden
    paths["consistent"] = folder / "consistent.npz"
    with zipfile.ZipFile(paths["consistent"], "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("architecture.npy", with_architecture(members, arch)["architecture"])
        zip_bomb_member(z, "param/W1", (12, hidden))
        z.writestr("param/b1.npy", npy_bytes(np.zeros(hidden, np.float32)))
        zip_bomb_member(z, "param/W2", (hidden, 4))
        z.writestr("param/b2.npy", npy_bytes(np.zeros(4, np.float32)))
    return paths


@pytest.mark.parametrize(
    ("bomb", "needle"),
    [("extra", "unexpected entries"), ("wrong shape", "W1"), ("consistent", "do not compress")],
)
def test_zip_bomb_is_refused_before_inflating(
    bomb: str, needle: str, bombs: dict[str, Path]
) -> None:
    path = bombs[bomb]
    assert path.stat().st_size < MiB
    peak = traced_peak(lambda: _refused(path, needle))
    assert peak < 8 * MiB, f"{peak / MiB:.0f} MiB to refuse a {path.stat().st_size} byte file"


def test_a_network_too_large_for_memory_is_refused_before_building(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    net = TwoLayerNet(1000, 3000, 10, rng=np.random.default_rng(0))
    path = serialization.save(net, tmp_path / "model.npz")
    monkeypatch.setattr(_memory, "available_memory", lambda: 4 * MiB)
    message = _refused(path, "needs about")
    assert "only 4.0 MiB is available" in message


@pytest.mark.parametrize(
    "make",
    [
        lambda: TwoLayerNet(6, 5, 3, rng=np.random.default_rng(0)),
        lambda: MultiLayerNet(6, [5], 3, use_batchnorm=True, rng=np.random.default_rng(0)),
        lambda: SimpleConvNet(
            (1, 6, 6), {"filter_num": 2, "filter_size": 3}, 4, 3, rng=np.random.default_rng(0)
        ),
    ],
    ids=["two-layer", "mlp", "convnet"],
)
@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_weights_are_refused_for_every_model(
    make: Callable[[], Sequential], bad: float, tmp_path: Path
) -> None:
    net = make()
    name = list(net.params)[-1]
    net.params[name][...] = bad
    members = saved_members(net, tmp_path)
    _refused(write_npz(tmp_path / "bad.npz", members), f"param/{name}")
    if any(layer.buffers for layer in net.layers.values()):
        net.params[name][...] = 0
        members = saved_members(net, tmp_path)
        key = next(k for k in members if k.startswith("buffer/"))
        values = np.full(5, bad, dtype=np.float32)
        _refused(write_npz(tmp_path / "buf.npz", {**members, key: npy_bytes(values)}), key)


def test_folder_and_device_are_refused_unread(tmp_path: Path) -> None:
    _refused(tmp_path, "is a folder")
    _refused(Path("/dev/zero"), "is a device")


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "model.npz"
    os.mkfifo(path)
    yield path
    # Should a reader be stuck on the FIFO after all, release it.
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
    except OSError:
        pass


def test_fifo_is_refused_without_waiting_for_a_writer(fifo: Path) -> None:
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            serialization.load(fifo)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=10)
    assert not reader.is_alive(), "load() blocked on a FIFO"
    assert isinstance(outcome[0], ValueError) and "named pipe" in str(outcome[0])


def test_missing_or_unreadable_file_is_an_os_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        serialization.load(tmp_path / "nope.npz")
    with pytest.raises(OSError, match="in-a-file"):
        serialization.load(tmp_path / "model.npz" / "in-a-file")


@pytest.fixture(scope="module")
def valid_file(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    folder = tmp_path_factory.mktemp("valid")
    net = MultiLayerNet(5, [4], 3, use_batchnorm=True, rng=np.random.default_rng(0))
    return serialization.save(net, folder / "m.npz").read_bytes()


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), max_size=4),
    cut=st.integers(0, 10**6),
)
def test_damaged_files_only_raise_value_error(
    edits: list[tuple[int, int]], cut: int, valid_file: bytes, tmp_path: Path
) -> None:
    data = bytearray(valid_file)
    for at, value in edits:
        data[at % len(data)] = value
    path = tmp_path / "damaged.npz"
    path.write_bytes(bytes(data[: max(cut, len(data) // 2)]))
    try:
        serialization.load(path)
    except ValueError as exc:
        assert str(exc).startswith(str(path))


def test_save_without_overwrite_never_replaces_a_file_created_meanwhile(tmp_path: Path) -> None:
    target = tmp_path / "model.npz"
    with pytest.raises(FileExistsError):
        with atomic_target(target, overwrite=False) as tmp:
            tmp.write_bytes(b"mine")
            target.write_bytes(b"theirs")  # another process, between check and rename
    assert target.read_bytes() == b"theirs"
    assert [p.name for p in tmp_path.iterdir()] == ["model.npz"]


def test_class_names_must_match_a_general_networks_outputs(tmp_path: Path) -> None:
    from mitbadak.layers import Affine, Relu

    rng = np.random.default_rng(0)
    net = Sequential([Affine(rng.standard_normal((6, 3)), np.zeros(3)), Relu()])
    members = saved_members(net, tmp_path)
    arch = architecture_of(members)
    arch["metadata"] = {"class_names": ["a", "b"]}
    path = write_npz(tmp_path / "names.npz", with_architecture(members, arch))
    _refused(path, "2 class names for a network with 3 outputs")


def test_save_refuses_metadata_that_load_would_refuse(tmp_path: Path) -> None:
    net = TwoLayerNet(4, 3, 2, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="class name 1"):
        serialization.save(net, tmp_path / "m.npz", metadata={"class_names": ["ok", "\x07"]})
    assert not (tmp_path / "m.npz").exists()


_SAVE_SCRIPT = """
import sys, time
from pathlib import Path
import numpy as np
from mitbadak import serialization
from mitbadak.models import TwoLayerNet

marker = Path(sys.argv[2])
real = np.savez_compressed

def slow(*args, **kwargs):
    real(*args, **kwargs)
    marker.write_text("written, not yet renamed")
    time.sleep(60)

np.savez_compressed = slow
serialization.save(TwoLayerNet(4, 3, 2), Path(sys.argv[1]))
"""


def test_sigterm_during_save_leaves_no_temporary_file(tmp_path: Path) -> None:
    folder = tmp_path / "models"
    folder.mkdir()
    marker = tmp_path / "marker"
    proc = subprocess.Popen(
        [sys.executable, "-c", _SAVE_SCRIPT, str(folder / "m.npz"), str(marker)],
        preexec_fn=default_signals,
    )
    try:
        for _ in range(600):
            if marker.exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert marker.exists() and len(list(folder.iterdir())) == 1  # the temporary file
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM  # still ended by SIGTERM
    finally:
        proc.kill()
        proc.wait()
    assert list(folder.iterdir()) == []
