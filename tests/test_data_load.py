"""Tests for load_mnist: real Fashion-MNIST, the bundled sample, bad files, and the array cache.

Every test points $MITBADAK_DATA at a temporary folder, so nothing reads or writes the
user's real cache.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import mitbadak.data as data
import mitbadak.data.sources as sources
from data_helpers import gz, idx_bytes, make_arrays, tiny_source, write_mnist_files
from mitbadak.data import (
    DATASETS,
    ENV_VAR,
    FASHION_MNIST,
    MNIST_FILES,
    SAMPLE_FILE,
    DataSource,
    DataUnavailableError,
    array_cache_path,
    load_mnist,
)

X_TRAIN, T_TRAIN, X_TEST, T_TEST = MNIST_FILES.values()


def no_network(*args: Any, **kwargs: Any) -> None:
    raise AssertionError(f"tried to download: {args} {kwargs}")


# --- real Fashion-MNIST from Debian ---------------------------------------------------------


@pytest.fixture(scope="module")
def fashion(tmp_path_factory: pytest.TempPathFactory, fashion_dir: Path) -> tuple[Path, Any]:
    """Fashion-MNIST parsed once from the Debian files; yields (cache folder, first result).

    Later loads in the module reuse the cache written here, so the gzip files are parsed
    only once in this module.
    """
    folder = tmp_path_factory.mktemp("fashion-cache")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv(ENV_VAR, str(folder))
        mp.setattr(sources.pooch, "retrieve", no_network)
        result = load_mnist(dataset="fashion-mnist", download=False)
    return folder, result


@pytest.fixture
def fashion_cache(fashion: tuple[Path, Any], monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv(ENV_VAR, str(fashion[0]))
    monkeypatch.setattr(sources.pooch, "retrieve", no_network)
    return fashion[0]


def test_fashion_mnist_default(fashion: tuple[Path, Any]) -> None:
    (x_train, t_train), (x_test, t_test) = fashion[1]
    assert x_train.shape == (60000, 784) and x_test.shape == (10000, 784)
    assert x_train.dtype == np.float32 and x_test.dtype == np.float32
    assert x_train.min() == 0.0 and x_train.max() == 1.0
    assert x_test.min() == 0.0 and x_test.max() == 1.0
    assert t_train.shape == (60000,) and t_test.shape == (10000,)
    assert t_train.dtype == np.int64 and t_test.dtype == np.int64
    np.testing.assert_array_equal(np.bincount(t_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(t_test, minlength=10), [1000] * 10)


def test_fashion_mnist_cache_written_in_cache_dir(
    fashion: tuple[Path, Any], fashion_dir: Path
) -> None:
    folder = fashion[0]
    assert [p.name for p in folder.iterdir()] == [array_cache_path(FASHION_MNIST).name]
    # The Debian folder is a source only: nothing of ours is written there.
    assert sorted(p.name for p in fashion_dir.iterdir()) == sorted(MNIST_FILES.values())


def test_fashion_mnist_options_from_cache(fashion: tuple[Path, Any], fashion_cache: Path) -> None:
    (x_ref, t_ref), _ = fashion[1]
    (x, t), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, one_hot_label=True, dataset="fashion-mnist"
    )
    assert x.shape == (60000, 1, 28, 28) and x_test.shape == (10000, 1, 28, 28)
    assert x.dtype == np.uint8 and x.min() == 0 and x.max() == 255
    assert t.shape == (60000, 10) and t.dtype == np.float32
    np.testing.assert_array_equal(t.sum(axis=1), np.ones(60000, np.float32))
    np.testing.assert_array_equal(t.argmax(axis=1), t_ref)
    assert t_test.shape == (10000, 10)
    # Same pixels as the normalised load, in the other layout.
    assert np.array_equal(x.reshape(60000, 784).astype(np.float32) / 255, x_ref)


def test_fashion_mnist_flatten_false_normalized(fashion_cache: Path) -> None:
    (x, _), (x_test, _) = load_mnist(flatten=False, dataset="fashion-mnist")
    assert x.shape == (60000, 1, 28, 28) and x.dtype == np.float32
    assert x_test.shape == (10000, 1, 28, 28)


def test_debian_copies_are_zalandos_files(fashion_dir: Path) -> None:
    """Debian stripped the gzip name and time; putting them back gives Zalando's files.

    This is where FASHION_MNIST.files (the mirrors' hashes) comes from, and why the Debian
    hashes in also_accept are the same data.
    """
    mtimes = {"train": 1504176606, "t10k": 1504176627}  # 2017-08-31, from the MD5 match
    for fname, known in FASHION_MNIST.files.items():
        debian = (fashion_dir / fname).read_bytes()
        header = b"\x1f\x8b\x08\x08" + struct.pack("<I", mtimes[fname[:5].rstrip("-")])
        rebuilt = header + debian[8:10] + fname.removesuffix(".gz").encode() + b"\0" + debian[10:]
        assert "sha256:" + hashlib.sha256(rebuilt).hexdigest() == known, fname
        assert gzip.decompress(rebuilt) == gzip.decompress(debian)


# --- the bundled sample --------------------------------------------------------------------


def independent_sample() -> dict[str, np.ndarray]:
    """Read the bundled npz with zipfile and the .npy reader, not np.load."""
    path = Path(data.__file__).with_name(SAMPLE_FILE)
    out = {}
    with zipfile.ZipFile(path) as zf:
        for key in MNIST_FILES:
            with zf.open(f"{key}.npy") as f:
                out[key] = np.lib.format.read_array(f, allow_pickle=False)
    return out


def test_sample_loads() -> None:
    (x_train, t_train), (x_test, t_test) = load_mnist(dataset="mnist-sample")
    assert x_train.shape == (8000, 784) and x_test.shape == (2000, 784)
    assert x_train.dtype == np.float32 and 0.0 <= x_train.min() and x_train.max() <= 1.0
    assert t_train.dtype == np.int64 and t_test.shape == (2000,)


def test_sample_is_stratified() -> None:
    (_, t_train), (_, t_test) = load_mnist(dataset="mnist-sample")
    train_counts = np.bincount(t_train, minlength=10)
    test_counts = np.bincount(t_test, minlength=10)
    assert train_counts.sum() == 8000 and test_counts.sum() == 2000
    assert (test_counts > 0).all()
    # 80/20 per class, give or take the rounding of one class's test count.
    np.testing.assert_allclose(train_counts, 4 * test_counts, atol=4)


def test_sample_raw_pixels_and_digits_match_file() -> None:
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, dataset="mnist-sample"
    )
    assert x_train.dtype == np.uint8 and x_train.shape == (8000, 1, 28, 28)
    assert x_train.min() == 0 and x_train.max() == 255
    ref = independent_sample()
    for i in (0, 1, 1234, 7999):
        np.testing.assert_array_equal(x_train[i, 0], ref["x_train"][i])
        assert t_train[i] == ref["t_train"][i]
    for i in (0, 1999):
        np.testing.assert_array_equal(x_test[i, 0], ref["x_test"][i])
        assert t_test[i] == ref["t_test"][i]


def test_sample_one_hot() -> None:
    (_, t), _ = load_mnist(one_hot_label=True, dataset="mnist-sample")
    assert t.shape == (8000, 10) and t.dtype == np.float32
    np.testing.assert_array_equal(t.sum(axis=1), 1.0)


def test_sample_goes_through_validation(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    bad = make_arrays()
    bad["t_test"][4] = 10
    fake = tmp_path / "pkg" / SAMPLE_FILE
    fake.parent.mkdir()
    _write_npz(fake, **bad)
    monkeypatch.setattr(data.mnist, "_sample_resource", lambda: fake)
    with pytest.raises(ValueError, match=r"mnist_sample\.npz\[t_test\]: label 10 at index 4"):
        load_mnist(dataset="mnist-sample")


# --- bad files through load_mnist ----------------------------------------------------------


def _swap() -> dict[str, bytes]:
    a = make_arrays()
    return {X_TRAIN: gz(idx_bytes(a["t_train"])), T_TRAIN: gz(idx_bytes(a["x_train"]))}


def _labels_with(value: int, at: int) -> dict[str, bytes]:
    t = make_arrays()["t_test"]
    t[at] = value
    return {T_TEST: gz(idx_bytes(t))}


BAD_FILES: dict[str, tuple[str, dict[str, bytes], str]] = {
    # case: (file named in the message, replaced files, text the message must hold)
    "truncated gzip": (
        X_TRAIN,
        {X_TRAIN: gz(idx_bytes(make_arrays()["x_train"]))[:500]},
        "truncated",
    ),
    "html saved as gz": (
        T_TEST,
        {T_TEST: b"<html><body>Service Unavailable</body></html>"},
        "not gzip",
    ),
    "wrong magic": (
        T_TRAIN,
        {T_TRAIN: gz(b"\x12\x34" + idx_bytes(make_arrays()["t_train"])[2:])},
        "bad magic",
    ),
    "images and labels swapped": (X_TRAIN, _swap(), "expected an image file"),
    "little-endian header": (
        X_TEST,
        {X_TEST: gz(idx_bytes(make_arrays()["x_test"], header_order="<"))},
        "little-endian",
    ),
    "dims say more than payload": (
        X_TEST,
        {X_TEST: gz(idx_bytes(make_arrays()["x_test"], dims=(11, 28, 28)))},
        "too short",
    ),
    "dims say less than payload": (
        X_TEST,
        {X_TEST: gz(idx_bytes(make_arrays()["x_test"], dims=(9, 28, 28)))},
        "too long",
    ),
    "counts differ": (T_TEST, {T_TEST: gz(idx_bytes(np.zeros(9, np.uint8)))}, "9 labels"),
    "label of 10": (T_TEST, _labels_with(10, 7), "label 10 at index 7 is outside 0..9"),
    "unknown type code": (
        T_TRAIN,
        {T_TRAIN: gz(idx_bytes(make_arrays()["t_train"], type_code=0x07))},
        "type code 0x07",
    ),
    "labels as int16": (
        T_TRAIN,
        {T_TRAIN: gz(idx_bytes(np.zeros(20, ">i2")))},
        "expected a label file",
    ),
    "images 27 x 27": (
        X_TRAIN,
        {X_TRAIN: gz(idx_bytes(np.zeros((20, 27, 27), np.uint8)))},
        "28 x 28",
    ),
}


@pytest.mark.parametrize("case", BAD_FILES)
def test_bad_file_is_value_error_naming_it(case: str, tmp_path: Path) -> None:
    fname, replace, text = BAD_FILES[case]
    folder = tmp_path / "files"
    # The hashes are of the bad files: they get past the hash check and into the parser.
    source = tiny_source(write_mnist_files(folder, replace=replace))
    with pytest.raises(ValueError) as info:
        load_mnist(dataset=source, data_dir=folder, download=False)
    message = str(info.value)
    assert fname in message, message
    assert text in message, message


def test_swapped_files_message_names_dims(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    source = tiny_source(write_mnist_files(folder, replace=_swap()))
    with pytest.raises(ValueError, match=rf"{X_TRAIN}: expected an image file .* got 1 dim uint8"):
        load_mnist(dataset=source, data_dir=folder, download=False)


def test_counts_message_names_both_files(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    a = make_arrays()
    a["t_train"] = a["t_train"][:-1]
    source = tiny_source(write_mnist_files(folder, a))
    with pytest.raises(ValueError, match=f"{X_TRAIN} holds 20 images but {T_TRAIN} holds 19"):
        load_mnist(dataset=source, data_dir=folder, download=False)


def test_unknown_dataset_lists_names() -> None:
    with pytest.raises(ValueError, match="unknown dataset 'emnist'") as info:
        load_mnist(dataset="emnist")
    for name in DATASETS:
        assert name in str(info.value)


def test_source_must_have_mnist_file_names() -> None:
    source = DataSource(name="odd", files={"a.gz": "sha256:" + "0" * 64}, mirrors=())
    with pytest.raises(ValueError, match="files must be exactly"):
        load_mnist(dataset=source)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"name": "a/b"}, "plain folder name"),
        ({"files": {}}, "at least one file"),
        ({"files": {"x.gz": "sha256:abc"}}, "not a sha256 digest"),
        ({"files": {"x.gz": "crc32:" + "0" * 8}}, "unknown hash algorithm"),
        ({"also_accept": {"y.gz": ("sha256:" + "0" * 64,)}}, "not one of the files"),
    ],
)
def test_data_source_validates(kwargs: dict[str, Any], text: str) -> None:
    args: dict[str, Any] = {"name": "t", "files": {"x.gz": "sha256:" + "0" * 64}, "mirrors": ()}
    with pytest.raises(ValueError, match=text):
        DataSource(**{**args, **kwargs})


# --- local files: hashes, download=False ---------------------------------------------------


def test_loads_from_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.pooch, "retrieve", no_network)
    folder = tmp_path / "files"
    a = make_arrays()
    source = tiny_source(write_mnist_files(folder, a))
    (x, t), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, dataset=source, data_dir=folder
    )
    np.testing.assert_array_equal(x[:, 0], a["x_train"])
    np.testing.assert_array_equal(t, a["t_train"])
    np.testing.assert_array_equal(x_test[:, 0], a["x_test"])
    np.testing.assert_array_equal(t_test, a["t_test"])
    assert t.dtype == np.int64
    (xn, _), _ = load_mnist(dataset=source, data_dir=folder)
    np.testing.assert_allclose(xn, a["x_train"].reshape(20, 784) / 255, rtol=1e-6)


def test_corrupt_file_in_data_dir_is_error_naming_it(tmp_path: Path) -> None:
    folder = tmp_path / "files"
    source = tiny_source(write_mnist_files(folder))
    (folder / T_TEST).write_bytes(b"\x1f\x8b garbage")
    with pytest.raises(ValueError, match=f"{T_TEST}: hash sha256:[0-9a-f]+ is not the known"):
        load_mnist(dataset=source, data_dir=folder, download=False)
    assert (folder / T_TEST).exists()  # the user's file is reported, not deleted


def test_missing_without_download_never_touches_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources.pooch, "retrieve", no_network)
    folder = tmp_path / "files"
    hashes = write_mnist_files(folder)
    (folder / X_TEST).unlink()
    source = tiny_source(hashes, mirrors=("http://192.0.2.1/never/",))
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(dataset=source, data_dir=folder, download=False)
    message = str(info.value)
    assert X_TEST in message and "download=False" in message
    assert "data_dir" in message and "mnist-sample" in message


def test_data_unavailable_is_not_value_error() -> None:
    assert issubclass(DataUnavailableError, RuntimeError)
    assert not issubclass(DataUnavailableError, ValueError)


def test_system_dir_copy_with_wrong_hash_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sources.pooch, "retrieve", no_network)
    good, system = tmp_path / "good", tmp_path / "system"
    a = make_arrays()
    hashes = write_mnist_files(good, a)
    write_mnist_files(system, make_arrays(seed=5))  # same names, other data
    source = DataSource(name="sys", files=hashes, mirrors=(), system_dirs=(system,))
    with pytest.warns(UserWarning, match="ignoring .*system"), pytest.raises(DataUnavailableError):
        load_mnist(dataset=source, download=False)
    (x, _), _ = load_mnist(normalize=False, dataset=source, data_dir=good, download=False)
    np.testing.assert_array_equal(x.reshape(-1, 28, 28), a["x_train"])


def test_also_accept_hashes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sources.pooch, "retrieve", no_network)
    folder = tmp_path / "files"
    a = make_arrays()
    hashes = write_mnist_files(folder, a)
    # A "repack" with other mirror hashes but these files accepted as the same data.
    mirror_hashes = {f: "sha256:" + "ab" * 32 for f in hashes}
    source = DataSource(
        name="repack",
        files=mirror_hashes,
        mirrors=(),
        also_accept={f: (h,) for f, h in hashes.items()},
    )
    (_, t), _ = load_mnist(dataset=source, data_dir=folder, download=False)
    np.testing.assert_array_equal(t, a["t_train"])


# --- the cache of parsed arrays ------------------------------------------------------------


def _load_tiny(tmp_path: Path) -> tuple[DataSource, Path, dict[str, np.ndarray]]:
    folder = tmp_path / "files"
    a = make_arrays()
    source = tiny_source(write_mnist_files(folder, a))
    load_mnist(dataset=source, data_dir=folder, download=False)
    return source, folder, a


def _check_tiny(source: DataSource, folder: Path | None, a: dict[str, np.ndarray]) -> None:
    (x, t), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, dataset=source, data_dir=folder, download=False
    )
    np.testing.assert_array_equal(x[:, 0], a["x_train"])
    np.testing.assert_array_equal(t, a["t_train"])
    np.testing.assert_array_equal(x_test[:, 0], a["x_test"])
    np.testing.assert_array_equal(t_test, a["t_test"])


def test_second_load_uses_cache(tmp_path: Path, private_cache: Path) -> None:
    source, folder, a = _load_tiny(tmp_path)
    cache = array_cache_path(source)
    assert cache.parent == private_cache and cache.name.startswith("tiny-")
    assert [p.name for p in private_cache.iterdir()] == [cache.name]  # no temp files left
    with np.load(cache, allow_pickle=False) as npz:
        assert set(npz.files) == {*MNIST_FILES, "source_hashes"}
        assert tuple(npz["source_hashes"]) == source.cache_key()
    # With the source files gone, only the cache can answer.
    for f in folder.iterdir():
        f.unlink()
    _check_tiny(source, folder, a)


def _flip_middle(path: Path) -> None:
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    path.write_bytes(bytes(raw))


def _write_npz(path: Path, **arrays: Any) -> None:
    with path.open("wb") as f:
        np.savez(f, **arrays)


def _write_npy(path: Path, array: np.ndarray) -> None:
    with path.open("wb") as f:
        np.save(f, array)


def _members(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as npz:
        return dict(npz)


def _rewrite(path: Path, drop: str = "", **replace: np.ndarray) -> None:
    members = {k: v for k, v in _members(path).items() if k != drop}
    _write_npz(path, **{**members, **replace})


CORRUPTIONS = {
    "flipped byte": _flip_middle,
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "not a zip": lambda p: p.write_bytes(b"this is not a zip file"),
    "empty": lambda p: p.write_bytes(b""),
    "missing key": lambda p: _rewrite(p, drop="t_test"),
    "other hashes": lambda p: _rewrite(p, source_hashes=np.array(["x=sha256:00"])),
    "no hashes": lambda p: _rewrite(p, drop="source_hashes"),
    "wrong shapes": lambda p: _rewrite(p, x_test=np.zeros((10, 28, 27), np.uint8)),
    "wrong data type": lambda p: _rewrite(p, t_train=np.arange(20, dtype=np.int64) % 10),
    "label out of range": lambda p: _rewrite(p, t_train=np.full(20, 200, np.uint8)),
    "count mismatch": lambda p: _rewrite(p, t_test=np.zeros(3, np.uint8)),
    "scalar hashes": lambda p: _rewrite(p, source_hashes=np.array(7)),
    "npy instead of npz": lambda p: _write_npy(p, np.zeros(3)),
    # Compressed members could inflate past the file's size: the cache is never compressed.
    "compressed": lambda p: np.savez_compressed(p, **_members(p)),  # type: ignore[arg-type]
}


@pytest.mark.parametrize("corruption", CORRUPTIONS)
def test_bad_cache_is_rebuilt(corruption: str, tmp_path: Path) -> None:
    source, folder, a = _load_tiny(tmp_path)
    cache = array_cache_path(source)
    CORRUPTIONS[corruption](cache)
    _check_tiny(source, folder, a)  # correct data, no error
    # And the rebuilt cache is good again: it serves the data without the sources.
    with np.load(cache, allow_pickle=False) as npz:
        assert tuple(npz["source_hashes"]) == source.cache_key()
    for f in folder.iterdir():
        f.unlink()
    _check_tiny(source, folder, a)


def test_any_flipped_byte_in_cache_still_gives_right_data(tmp_path: Path) -> None:
    source, folder, a = _load_tiny(tmp_path)
    cache = array_cache_path(source)
    good = cache.read_bytes()
    size = len(good)
    # Spread over the whole file, and densely over the zip's central directory at the end.
    positions = sorted({*range(0, size, size // 40), *range(max(0, size - 400), size, 5)})
    for pos in positions:
        damaged = bytearray(good)
        damaged[pos] ^= 0xFF
        cache.write_bytes(bytes(damaged))
        _check_tiny(source, folder, a)


def test_cache_key_changes_with_hashes(tmp_path: Path) -> None:
    source, _, _ = _load_tiny(tmp_path)
    other = tiny_source({f: "sha256:" + "cd" * 32 for f in source.files})
    assert array_cache_path(other) != array_cache_path(source)


def test_unwritable_cache_dir_only_skips_caching(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A cache "folder" below a regular file can never be created, even by root.
    blocker = tmp_path / "a-file"
    blocker.write_bytes(b"")
    monkeypatch.setenv(ENV_VAR, str(blocker / "cache"))
    folder = tmp_path / "files"
    a = make_arrays()
    source = tiny_source(write_mnist_files(folder, a))
    _check_tiny(source, folder, a)
    _check_tiny(source, folder, a)
    assert not (blocker / "cache").exists()


def test_an_unusable_data_folder_only_costs_the_cache(
    fashion_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_VAR, "~no-such-user-here/data")
    monkeypatch.setattr(sources.pooch, "retrieve", no_network)
    (x, _), _ = load_mnist(dataset="fashion-mnist", normalize=False)  # Debian's copies
    assert x.shape == (60000, 784)
    with pytest.raises(DataUnavailableError) as info:
        load_mnist(dataset="mnist")
    assert info.value.reason.startswith(f"{ENV_VAR}='~no-such-user-here/data' is not a usable")
