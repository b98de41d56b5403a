"""Your own handwriting as MNIST (mitbadak.data.images): the preparation and hostile files.

The honest test: MNIST test digits drawn large (200x200 sheets, dark on white, off centre,
with a margin, RGB) must be classified within 2 points of the same digits at 28x28 by
the book's network, trained here on the bundled sample.
"""

from __future__ import annotations

import os
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from threadpoolctl import threadpool_limits

from digit_rendering import SHEET, render, write_sheets
from mitbadak.data import load_mnist
from mitbadak.data.images import MAX_PIXELS, mnist_like, read_digit, read_gray
from mitbadak.models import TwoLayerNet
from mitbadak.optimizers import SGD

#: Test digits drawn large for the main comparison, and for each other style.
N_MAIN, N_STYLE = 1000, 200


@pytest.fixture(scope="module")
def book_net() -> TwoLayerNet:
    """The book's network after the reference's 1000 iterations on the bundled sample."""
    (x, t), _ = load_mnist(dataset="mnist-sample")
    net = TwoLayerNet(784, 50, 10, rng=np.random.default_rng(0))
    optimizer, rng = SGD(lr=0.1), np.random.default_rng(1)
    # One BLAS thread, as `mitbadak train` uses: more only fight on a busy machine.
    with threadpool_limits(limits=1, user_api="blas"):
        for _ in range(1000):
            batch = rng.integers(0, len(x), size=100)
            optimizer.update(net.params, net.gradient(x[batch], t[batch]))
    return net


@pytest.fixture(scope="module")
def test_digits() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The sample's test digits: uint8 (N, 28, 28), the network's rows (N, 784), labels."""
    _, (raw, t) = load_mnist(normalize=False, flatten=False, dataset="mnist-sample")
    _, (x, _) = load_mnist(dataset="mnist-sample")
    return raw[:, 0], x, t


def test_digits_drawn_large_are_read_as_well_as_the_originals(
    book_net: TwoLayerNet,
    test_digits: tuple[np.ndarray, np.ndarray, np.ndarray],
    tmp_path: Path,
) -> None:
    raw, x, t = (a[:N_MAIN] for a in test_digits)
    paths = write_sheets(raw, tmp_path, np.random.default_rng(7))
    with Image.open(paths[0]) as img:
        assert img.mode == "RGB" and img.size == (SHEET, SHEET)
    drawn = np.concatenate([read_digit(path) for path in paths])
    original = book_net.accuracy(x, t)
    enlarged = book_net.accuracy(drawn, t)
    assert original > 0.85  # the network learned; otherwise the comparison means nothing
    assert abs(original - enlarged) <= 0.02, (original, enlarged)


STYLES: dict[str, dict[str, object]] = {
    "light on dark": {"ink": (255, 255, 255), "paper": (0, 0, 0)},
    "blue ink on cream paper": {"ink": (20, 30, 140), "paper": (255, 248, 225)},
    "strokes on a transparent canvas": {"transparent": True},
    "white strokes on a transparent canvas": {"transparent": True, "ink": (255, 255, 255)},
}


@pytest.mark.parametrize("style", STYLES)
def test_any_colour_and_polarity(
    style: str, book_net: TwoLayerNet, test_digits: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    raw, x, t = (a[:N_STYLE] for a in test_digits)
    rng = np.random.default_rng(3)
    drawn = np.stack([_prepare(render(d, rng, **STYLES[style])) for d in raw])  # type: ignore[arg-type]
    assert abs(book_net.accuracy(x, t) - book_net.accuracy(drawn.reshape(-1, 784), t)) <= 0.02


def test_a_photo_with_uneven_light_and_noise(
    book_net: TwoLayerNet, test_digits: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> None:
    # Grey paper lit from one side (a +-30 gradient) and sensor noise of 4 grey levels.
    raw, x, t = (a[:N_STYLE] for a in test_digits)
    rng = np.random.default_rng(4)
    style = {"ink": (40, 40, 40), "paper": (200, 200, 190), "noise": 4.0}
    drawn = np.stack([_prepare(render(d, rng, **style)) for d in raw])  # type: ignore[arg-type]
    assert book_net.accuracy(x, t) - book_net.accuracy(drawn.reshape(-1, 784), t) <= 0.03


def _prepare(img: Image.Image) -> np.ndarray:
    """What read_digit does after decoding, on an in-memory image."""
    pixels = np.asarray(img.convert("RGBA"), dtype=np.float64) / 255
    lum = pixels[..., :3] @ np.array([0.299, 0.587, 0.114])
    if img.mode == "RGBA":
        alpha = pixels[..., 3]
        dark = (lum * alpha).sum() / alpha.sum() < 0.5
        lum = lum * alpha + (1.0 if dark else 0.0) * (1 - alpha)
    return mnist_like(lum)


def test_the_result_looks_like_mnist() -> None:
    # A dark, tall, lopsided "7" far from the centre of a wide light sheet.
    sheet = np.full((300, 500), 0.9)
    sheet[40:50, 300:420] = 0.1
    sheet[50:260, 400:420] = 0.1
    x = mnist_like(sheet)
    assert x.shape == (28, 28) and x.dtype == np.float32
    assert float(x.max()) == 1.0 and float(x.min()) == 0.0
    rows, cols = np.nonzero(x)
    assert rows.max() - rows.min() + 1 == 20  # the taller side fills the 20-pixel box
    assert cols.max() - cols.min() + 1 == round(20 * 120 / 220)  # aspect ratio kept
    mass = x.sum()
    cy = (x.sum(axis=1) * np.arange(28)).sum() / mass
    cx = (x.sum(axis=0) * np.arange(28)).sum() / mass
    assert abs(cy - 14) <= 0.5 and abs(cx - 14) <= 0.5
    # The same digit light on dark is the same digit.
    np.testing.assert_array_equal(mnist_like(1.0 - sheet), x)


def test_mnist_digits_are_left_as_they_are(
    test_digits: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    _, x, _ = test_digits
    once = np.stack([mnist_like(row.reshape(28, 28)) for row in x[:200]])
    twice = np.stack([mnist_like(d) for d in once])
    np.testing.assert_array_equal(twice, once)
    # MNIST's own digits barely move: only ink under 10% of the peak is dropped.
    assert np.abs(once.reshape(-1, 784) - x[:200]).mean() < 0.01


def test_sixteen_bit_and_jpeg_files(tmp_path: Path) -> None:
    x = np.zeros((80, 60))
    x[10:70, 25:35] = 1.0
    expected = mnist_like(x)
    deep = tmp_path / "deep.png"
    Image.fromarray((x * 65535).astype(np.uint16)).save(deep)
    with Image.open(deep) as img:
        assert img.mode.startswith("I;16")
    np.testing.assert_allclose(read_digit(deep).reshape(28, 28), expected, atol=1e-6)
    photo = tmp_path / "photo.jpg"
    Image.fromarray((255 - x * 255).astype(np.uint8)).convert("RGB").save(photo, quality=90)
    assert np.abs(read_digit(photo).reshape(28, 28) - expected).max() < 0.25


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".gif", ".webp"])
def test_every_format_predict_names_is_read(suffix: str, tmp_path: Path) -> None:
    # A drawing saved by a paint program in each format the messages promise.
    x = np.zeros((90, 70))
    x[15:75, 30:42] = 1.0
    expected = mnist_like(x)
    path = tmp_path / f"digit{suffix}"
    Image.fromarray((255 - x * 255).astype(np.uint8)).convert("RGB").save(path)
    diff = np.abs(read_digit(path).reshape(28, 28) - expected)
    if suffix in (".jpg", ".webp"):
        # Lossy: blurred edges can move the centre of mass by a pixel.
        assert diff.mean() < 0.03
    else:
        assert diff.max() < 1e-6


def png_bytes(width: int, height: int, *chunks: tuple[bytes, bytes]) -> bytes:
    """A PNG signature, an 8-bit grayscale IHDR of the given size, extra chunks, an IEND."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = b"".join(chunk(kind, data) for kind, data in chunks)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + body + chunk(b"IEND", b"")


def _idat(width: int, rows: int) -> tuple[bytes, bytes]:
    return (b"IDAT", zlib.compress(b"\x00" * (width + 1) * rows, 9))


BAD_FILES: dict[str, tuple[bytes, str]] = {
    "text.png": (b"hello, not an image", "not a readable PNG"),
    "truncated.png": (
        png_bytes(28, 28, (b"IDAT", zlib.compress(np.random.default_rng(0).bytes(29 * 28))))[:-40],
        "not a readable",
    ),
    # 40000x40000: over Pillow's own bomb limit, refused while opening.
    "bomb.png": (png_bytes(40_000, 40_000, _idat(40_000, 1)), "more pixels than mitbadak reads"),
    # 9000x9000: under Pillow's limit (it would only warn), over ours.
    "big.png": (png_bytes(9_000, 9_000, _idat(9_000, 1)), "more pixels than mitbadak reads"),
    # A compressed text chunk that inflates to 8 MiB from a few kilobytes.
    "ztxt.png": (
        png_bytes(28, 28, (b"zTXt", b"c\x00\x00" + zlib.compress(b"a" * 2**23, 9)), _idat(28, 28)),
        "not a readable",
    ),
    "blank.png": (png_bytes(28, 28, _idat(28, 28)), "no digit found"),
}


@pytest.mark.parametrize("name", BAD_FILES)
def test_bad_files_raise_one_value_error_naming_the_file(name: str, tmp_path: Path) -> None:
    data, needle = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    assert len(data) < 100_000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError) as exc:
            read_digit(path)
    message = str(exc.value)
    assert needle in message and str(path) in message, message
    assert "\n" not in message
    assert not caught, [str(w.message) for w in caught]


def test_the_pixel_limit_is_pillows_business_too() -> None:
    from PIL import Image as PILImage

    # Our limit sits under Pillow's warning threshold: Pillow never gets to warn first.
    assert MAX_PIXELS < PILImage.MAX_IMAGE_PIXELS  # type: ignore[operator]


def test_pillow_warnings_never_reach_the_user(tmp_path: Path) -> None:
    # A palette image with transparency given as bytes: Pillow warns when converting it.
    pixels = np.zeros((28, 28), dtype=np.uint8)
    pixels[5:23, 12:16] = 1
    img = Image.fromarray(pixels, mode="P")
    img.putpalette([255, 255, 255, 0, 0, 0] + [0] * 762)
    path = tmp_path / "palette.png"
    img.save(path, transparency=b"\xff\x80" + b"\xff" * 254)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        x = read_digit(path)
    assert not caught, [str(w.message) for w in caught]
    assert x.max() == 1.0


def test_missing_file_fifo_and_folder(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope.png"):
        read_gray(tmp_path / "nope.png")
    with pytest.raises(ValueError, match="not a file"):
        read_gray(tmp_path)
    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    # Never opened: reading a FIFO nobody writes to would wait forever.
    with pytest.raises(ValueError, match="pipe.png: not a file"):
        read_gray(fifo)


def test_a_photo_is_turned_upright_by_its_exif_orientation(tmp_path: Path) -> None:
    upright = np.full((90, 60), 255, dtype=np.uint8)
    upright[10:20, 10:50] = 0  # the bar of a "7"
    upright[20:80, 40:50] = 0
    # As a phone stores a portrait photo: pixels turned, orientation 6 saying how to undo it.
    stored = Image.fromarray(upright).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    path = tmp_path / "phone.png"
    stored.save(path, exif=exif)
    expected = mnist_like(upright / 255.0)
    np.testing.assert_array_equal(read_digit(path).reshape(28, 28), expected)


def test_the_largest_image_read_stays_under_a_gigabyte(tmp_path: Path) -> None:
    import subprocess
    import sys

    side = 8192  # MAX_PIXELS exactly, RGBA: the most a small file can make us decode
    assert side * side == MAX_PIXELS
    row = b"\x00" + b"\x00" * (4 * side)
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(side)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    path = tmp_path / "huge.png"
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
    )
    assert path.stat().st_size < 1_000_000
    # VmHWM, not ru_maxrss: Linux carries the parent's peak over into a child's
    # ru_maxrss across fork/vfork and exec, and the test runner's own peak can pass 1 GiB.
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mitbadak.data.images import read_digit\n"
        "try:\n    read_digit(sys.argv[1])\nexcept ValueError as exc:\n    print(exc)\n"
        "status = Path('/proc/self/status').read_text().splitlines()\n"
        "print(next(line.split()[1] for line in status if line.startswith('VmHWM:')))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script, str(path)], capture_output=True, text=True, timeout=120
    )
    message, peak_kib = proc.stdout.strip().splitlines()
    assert "fully transparent" in message and "huge.png" in message
    assert int(peak_kib) < 1024 * 1024, f"peak {int(peak_kib) // 1024} MiB"
