"""Tests for mitbadak.data.idx: round trips, and every malformed file is a ValueError naming it."""

from __future__ import annotations

import gzip
import os
import struct
import threading
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import traced_peak
from data_helpers import TYPE_CODES, gz, idx_bytes
from mitbadak.data import read_idx
from mitbadak.data.idx import IDX_TYPES, idx_magic, parse_idx

LABELS = "t10k-labels-idx1-ubyte.gz"
IMAGES = "t10k-images-idx3-ubyte.gz"


def write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def labels(n: int = 10000) -> np.ndarray:
    return (np.arange(n) % 10).astype(np.uint8)


def read_error(path: Path) -> str:
    """Read ``path`` expecting a ValueError that names the file; return the message."""
    with pytest.raises(ValueError) as info:
        read_idx(path)
    message = str(info.value)
    assert path.name in message
    return message


# --- reading valid files ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", ["u1", "i1", ">i2", ">i4", ">f4", ">f8"])
@pytest.mark.parametrize("compressed", [True, False])
def test_round_trip_every_type(tmp_path: Path, dtype: str, compressed: bool) -> None:
    rng = np.random.default_rng(1)
    a = (rng.standard_normal((3, 4, 5)) * 100).astype(dtype)
    data = idx_bytes(a)
    name = "x-idx3.gz" if compressed else "x-idx3"
    out = read_idx(write(tmp_path, name, gz(data) if compressed else data))
    np.testing.assert_array_equal(out, a)
    assert out.dtype == np.dtype(dtype).newbyteorder("=")
    assert out.dtype.isnative
    assert out.flags.c_contiguous and out.flags.writeable


def test_gzip_detected_by_magic_bytes_not_suffix(tmp_path: Path) -> None:
    a = labels(7)
    out = read_idx(write(tmp_path, "labels-without-suffix", gz(idx_bytes(a))))
    np.testing.assert_array_equal(out, a)


def test_big_endian_values_come_out_right(tmp_path: Path) -> None:
    # 258 as big-endian int16 is 01 02; reading it little-endian would give 513.
    data = b"\x00\x00\x0b\x01" + struct.pack(">I", 2) + b"\x01\x02\xff\xfe"
    out = read_idx(write(tmp_path, "short-idx1", data))
    np.testing.assert_array_equal(out, np.array([258, -2], dtype=np.int16))


def test_result_is_writable_copy(tmp_path: Path) -> None:
    out = read_idx(write(tmp_path, "l.gz", gz(idx_bytes(labels(5)))))
    out[0] = 9  # must not raise "assignment destination is read-only"
    assert out[0] == 9


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(sorted(TYPE_CODES)),
    shape=st.lists(st.integers(0, 4), min_size=1, max_size=4).map(tuple),
    seed=st.integers(0, 2**32 - 1),
)
def test_round_trip_property(dtype: str, shape: tuple[int, ...], seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = rng.integers(-100, 100, size=shape).astype(np.dtype(dtype).newbyteorder(">"))
    out = parse_idx(idx_bytes(a), "prop")
    np.testing.assert_array_equal(out, a)
    assert out.shape == shape


def test_magic_numbers() -> None:
    assert idx_magic(np.dtype(np.uint8), 3) == 2051
    assert idx_magic(np.dtype(np.uint8), 1) == 2049
    assert idx_magic(np.dtype("<f4"), 2) == 0x0D02
    with pytest.raises(ValueError, match="no type code for dtype int64"):
        idx_magic(np.dtype(np.int64), 1)
    assert set(IDX_TYPES) == {0x08, 0x09, 0x0B, 0x0C, 0x0D, 0x0E}


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_idx(tmp_path / "nope.gz")


# --- malformed files ----------------------------------------------------------------------


def test_truncated_gzip(tmp_path: Path) -> None:
    data = gz(idx_bytes(labels()))
    message = read_error(write(tmp_path, LABELS, data[: len(data) // 2]))
    assert "corrupt or truncated" in message


def test_gzip_missing_only_its_trailer(tmp_path: Path) -> None:
    data = gz(idx_bytes(labels()))
    message = read_error(write(tmp_path, LABELS, data[:-4]))
    assert "corrupt or truncated" in message


def test_gzip_crc_error(tmp_path: Path) -> None:
    data = bytearray(gz(idx_bytes(labels())))
    data[-8] ^= 0xFF  # first byte of the CRC-32 in the trailer
    path = write(tmp_path, LABELS, bytes(data))
    with pytest.raises(ValueError, match=LABELS) as info:
        read_idx(path)
    assert isinstance(info.value.__cause__, OSError)  # gzip.BadGzipFile, chained


def test_gzip_corrupt_deflate_stream(tmp_path: Path) -> None:
    data = bytearray(gz(idx_bytes(labels())))
    data[12:40] = b"\xff" * 28
    path = write(tmp_path, LABELS, bytes(data))
    with pytest.raises(ValueError, match=LABELS) as info:
        read_idx(path)
    assert isinstance(info.value.__cause__, (zlib.error, OSError, EOFError))


def test_html_error_page_saved_as_gz(tmp_path: Path) -> None:
    page = b"<!DOCTYPE html><html><head><title>404 Not Found</title></head></html>\n"
    message = read_error(write(tmp_path, IMAGES, page))
    assert "not gzip" in message and "HTML" in message


def test_html_without_gz_suffix(tmp_path: Path) -> None:
    message = read_error(write(tmp_path, "t10k-images-idx3-ubyte", b"<html>oops</html>"))
    assert "bad magic" in message and "HTML" in message


def test_empty_gz_file(tmp_path: Path) -> None:
    read_error(write(tmp_path, IMAGES, b""))


def test_wrong_magic(tmp_path: Path) -> None:
    data = b"\x01\x02" + idx_bytes(labels(5))[2:]
    message = read_error(write(tmp_path, LABELS, gz(data)))
    assert "bad magic bytes 01 02 08 01" in message


def test_unknown_type_code(tmp_path: Path) -> None:
    data = idx_bytes(labels(5), type_code=0x0A)
    message = read_error(write(tmp_path, LABELS, gz(data)))
    assert "unknown IDX type code 0x0A" in message


def test_zero_dimensions(tmp_path: Path) -> None:
    message = read_error(write(tmp_path, LABELS, gz(b"\x00\x00\x08\x00")))
    assert "0 dimensions" in message


@pytest.mark.parametrize("data", [b"", b"\x00\x00", b"\x00\x00\x08\x03\x00\x00\x00\x05"])
def test_header_cut_short(tmp_path: Path, data: bytes) -> None:
    message = read_error(write(tmp_path, IMAGES, gz(data)))
    assert "too short" in message or "header bytes" in message


def test_payload_shorter_than_header_says(tmp_path: Path) -> None:
    data = idx_bytes(labels(9999), dims=(10000,))
    message = read_error(write(tmp_path, LABELS, gz(data)))
    assert f"{LABELS}: header says 10000 items (shape (10000,)), payload holds 9999" in message
    assert "too short" in message


def test_payload_longer_than_header_says(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros((5, 28, 28), np.uint8), dims=(4, 28, 28))
    message = read_error(write(tmp_path, IMAGES, gz(data)))
    assert "header says 3136 items" in message and "payload holds 3920" in message
    assert "too long" in message


def test_payload_with_stray_bytes(tmp_path: Path) -> None:
    data = idx_bytes(np.zeros(4, ">i4")) + b"\x00\x01"
    message = read_error(write(tmp_path, "ints-idx1.gz", gz(data)))
    assert "2 stray bytes" in message


def test_little_endian_header(tmp_path: Path) -> None:
    # The whole header in little-endian order, as numpy's native tofile() would write it.
    data = idx_bytes(labels(), header_order="<")
    message = read_error(write(tmp_path, LABELS, gz(data)))
    assert "little-endian" in message and "2049" in message


def test_little_endian_dims(tmp_path: Path) -> None:
    # Correct magic bytes but dims written little-endian: 10000 reads back as 270991360.
    good = idx_bytes(labels())
    data = good[:4] + struct.pack("<I", 10000) + good[8:]
    message = read_error(write(tmp_path, LABELS, gz(data)))
    assert "header says 270991360 items" in message
    assert "(10000,)" in message and "byte order" in message


def test_huge_dims_do_not_allocate(tmp_path: Path) -> None:
    data = b"\x00\x00\x0e\x04" + struct.pack(">4I", *(4_000_000_000,) * 4) + b"\x00" * 8
    message = read_error(write(tmp_path, "huge-idx4", data))
    assert "payload holds 1" in message


def test_gzip_of_gzip(tmp_path: Path) -> None:
    message = read_error(write(tmp_path, LABELS, gz(gz(idx_bytes(labels(3))))))
    assert "gzip data inside" in message


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=64))
def test_arbitrary_bytes_only_raise_value_error(data: bytes) -> None:
    try:
        parse_idx(data, "fuzz")
    except ValueError as exc:
        assert str(exc).startswith("fuzz: ")


@settings(max_examples=100, deadline=None)
@given(cut=st.integers(0, 10_000), flip=st.integers(0, 10_000))
def test_damaged_gzip_only_raises_value_error(
    tmp_path_factory: pytest.TempPathFactory, cut: int, flip: int
) -> None:
    good = gz(idx_bytes(np.arange(600, dtype=np.uint8).reshape(6, 10, 10)))
    data = bytearray(good[: cut % (len(good) + 1)])
    if data:
        data[flip % len(data)] ^= 0x5A
    path = tmp_path_factory.mktemp("fuzz") / "x-idx3-ubyte.gz"
    path.write_bytes(bytes(data))
    try:
        out = read_idx(path)
    except ValueError as exc:
        assert "x-idx3-ubyte.gz" in str(exc)
    else:
        # Only a flip in the gzip header's mtime/flags/OS bytes can leave the data intact.
        np.testing.assert_array_equal(out, np.arange(600, dtype=np.uint8).reshape(6, 10, 10))


def test_gzip_module_agrees_the_trailer_is_checked(tmp_path: Path) -> None:
    # Guards the assumption above: gzip.decompress itself rejects a bad CRC.
    data = bytearray(gz(b"hello"))
    data[-8] ^= 1
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(bytes(data))


# --- hostile files: bounded memory, no hang, the file named ---------------------------------


def _gzip_bomb(path: Path, header: bytes, zeros: int) -> Path:
    """``header`` followed by ``zeros`` zero bytes, gzipped in chunks (a few hundred KB)."""
    block = bytes(1 << 22)
    with gzip.GzipFile(path, "wb", mtime=0) as f:
        f.write(header)
        for start in range(0, zeros, len(block)):
            f.write(block[: min(len(block), zeros - start)])
    return path


def test_gzip_bomb_is_not_inflated_past_the_header_size(tmp_path: Path) -> None:
    # The header promises 10,000 labels; the stream inflates to 256 MiB.
    header = struct.pack(">4BI", 0, 0, 0x08, 1, 10_000)
    path = _gzip_bomb(tmp_path / LABELS, header, 256 << 20)
    assert path.stat().st_size < 1 << 20
    peak = traced_peak(lambda: read_error(path))
    assert peak < 100 << 20, f"{peak >> 20} MiB to refuse a {path.stat().st_size} byte file"
    assert "too long" in read_error(path)


def test_header_larger_than_memory_is_refused_before_allocating(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mitbadak._memory import available_memory
    from mitbadak.data import idx

    assert available_memory() is not None  # the check below must not be vacuous
    monkeypatch.setattr(idx, "available_memory", lambda: 1 << 20)
    header = struct.pack(">4B3I", 0, 0, 0x08, 3, 60_000, 28, 28)
    path = _gzip_bomb(tmp_path / IMAGES, header, 47_040_000)
    message = read_error(path)
    assert message.endswith("more than the 1.0 MiB of memory available")
    # A payload that disagrees is counted (not kept) for the message.
    path = _gzip_bomb(tmp_path / IMAGES, header, 47_040_000 - 784)
    assert "payload holds 47039216 (too short)" in read_error(path)


def test_more_than_64_dimensions_names_the_file(tmp_path: Path) -> None:
    data = bytes([0, 0, 0x08, 65]) + struct.pack(">65I", *([1] * 65)) + b"\x07"
    message = read_error(write(tmp_path, "many-idx65", data))
    assert "65 dimensions" in message and "at most 64" in message
    assert "many-idx65" in read_error(write(tmp_path, "many-idx65.gz", gz(data)))


def test_folder_fifo_and_device_are_refused_unread(tmp_path: Path) -> None:
    folder = tmp_path / IMAGES
    folder.mkdir()
    assert "is a folder" in read_error(folder)
    fifo = tmp_path / LABELS
    os.mkfifo(fifo)
    outcome: list[BaseException] = []

    def attempt() -> None:
        try:
            read_idx(fifo)
        except BaseException as exc:
            outcome.append(exc)

    reader = threading.Thread(target=attempt, daemon=True)
    reader.start()
    reader.join(timeout=10)
    if reader.is_alive():  # release the stuck reader before failing
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail("read_idx blocked on a FIFO")
    assert isinstance(outcome[0], ValueError) and "named pipe" in str(outcome[0])
    with pytest.raises(ValueError, match="/dev/zero: is a device"):
        read_idx("/dev/zero")
