"""Your own handwriting as MNIST: reading an image file and preparing it like MNIST's digits.

MNIST's digits went through one pipeline: white strokes on black, the digit's bounding box
scaled to fit 20x20 keeping its aspect ratio (with anti-aliasing), then placed in a 28x28
field so that its centre of mass sits at the centre. A network trained on them expects
exactly that, so :func:`mnist_like` does the same to a photo or a drawing: grayscale,
inverted when the ink is darker than the paper, cropped to the digit, scaled to fit 20x20,
centred by its centre of mass. An image that already looks like MNIST comes back unchanged.

Image files come from users, so :func:`read_digit` bounds what it decodes (pixels, text
chunks), keeps Pillow's warnings to itself and turns every failure into one
``ValueError`` (or ``OSError``) naming the file.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from mitbadak._files import atomic_target

__all__ = [
    "FORMATS",
    "MAX_PIXELS",
    "mnist_like",
    "read_digit",
    "read_gray",
    "save_digit_png",
]

#: Formats a photo or a drawing comes in (MPO: how Pillow names many phones' JPEGs).
FORMATS = ("PNG", "JPEG", "MPO", "BMP", "GIF", "WEBP")
#: The largest image read (8192x8192): bounds memory however small the file is.
MAX_PIXELS = 8192 * 8192
#: Larger images are reduced to about this many pixels a side before any arithmetic.
_WORKING_SIDE = 1024
#: The digit's box in MNIST, the field it sits in, and where its centre of mass lies
#: (the mean over the bundled sample is (14.0, 14.0) in pixel indices).
BOX, FIELD, CENTRE = 20, 28, 14.0
#: Below this contrast (on a 0..1 scale) there is no digit to find.
_MIN_CONTRAST = 0.05
#: Ink fainter than this share of the strongest stroke is paper grain or noise.
_NOISE_FLOOR = 0.1


class _Refused(ValueError):
    """An image refused by a check of ours (its message names the file already)."""


def read_gray(path: str | os.PathLike[str]) -> NDArray[np.float64]:
    """Read an image file as grayscale ``(H, W)`` floats in [0, 1] (1 is white).

    Transparent parts are laid on white when the opaque strokes are dark, on black when
    they are light, so a drawing exported with a transparent background keeps its digit.
    Photos are turned upright by their EXIF orientation and larger ones reduced to about
    1024 pixels a side. ``FileNotFoundError`` if there is no such file; ``ValueError``
    naming the file for everything else (not an image, truncated, too many pixels,
    oversized text chunks).
    """
    from PIL import Image, UnidentifiedImageError

    source = Path(path)
    if not source.exists():
        raise FileNotFoundError(f"{source}: no such file")
    if not source.is_file():
        raise ValueError(f"{source}: not a file")
    with warnings.catch_warnings():
        # Pillow warns about odd but readable files (palette transparency, EXIF); the
        # image is either read or refused with one line, never with a warning.
        warnings.simplefilter("ignore")
        try:
            lum, alpha = _decode(source)
        except PermissionError as exc:
            raise PermissionError(f"{source}: cannot read the file ({exc.strerror})") from None
        except _Refused:
            raise
        except Image.DecompressionBombError:
            raise ValueError(_too_many_pixels(source, "the image")) from None
        except UnidentifiedImageError:
            raise ValueError(
                f"{source}: not a readable PNG, JPEG, BMP, GIF or WebP image "
                "(no format recognised it)"
            ) from None
        except Exception as exc:
            # A hostile file can make a decoder raise almost anything (SyntaxError,
            # struct.error, EOFError, DecompressionBombError...): all mean "not an image".
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise ValueError(
                f"{source}: not a readable PNG, JPEG, BMP, GIF or WebP image ({reason})"
            ) from exc
    if alpha is not None and alpha.min() < 1.0:
        covered = alpha.sum()
        if covered < 1.0:
            raise ValueError(f"{source}: no digit found (the image is fully transparent)")
        opaque_is_dark = float((lum * alpha).sum() / covered) < 0.5
        lum = lum * alpha + (1.0 if opaque_is_dark else 0.0) * (1.0 - alpha)
    return lum


#: The EXIF tag of a photo's orientation, and the turn that makes each value upright.
_ORIENTATION = 0x0112
_TURNS = {2: "FLIP_LEFT_RIGHT", 3: "ROTATE_180", 4: "FLIP_TOP_BOTTOM", 5: "TRANSPOSE"}
_TURNS.update({6: "ROTATE_270", 7: "TRANSVERSE", 8: "ROTATE_90"})


def _upright(img: Any, orientation: object) -> Any:
    """``img`` turned as its EXIF orientation (1 to 8) says; unchanged for 1 or junk."""
    from PIL import Image

    turn = _TURNS.get(orientation) if isinstance(orientation, int) else None
    return img if turn is None else img.transpose(getattr(Image.Transpose, turn))


def _too_many_pixels(source: Path, what: str) -> str:
    return f"{source}: {what} has more pixels than mitbadak reads ({MAX_PIXELS:,}); shrink it"


def _decode(source: Path) -> tuple[NDArray[np.float64], NDArray[np.float64] | None]:
    """Luminance and alpha (None without transparency) of the image, both in [0, 1].

    Memory stays near the decoded image's own size: it is reduced to the working size in
    its own mode before any conversion or copy (turned upright afterwards).
    """
    from PIL import Image

    # Every plugin registered first (Image.open preloads only a few), and only the
    # formats this Pillow opens by name: an unknown name in ``formats`` is a KeyError
    # that would make every later format unreadable. Pillow 13 opens MPO through JPEG.
    Image.init()
    formats = [name for name in FORMATS if name in Image.OPEN]
    with Image.open(source, formats=formats) as opened:
        width, height = opened.size
        if width * height > MAX_PIXELS:
            raise _Refused(_too_many_pixels(source, f"{width}x{height}"))
        if width == 0 or height == 0:
            raise _Refused(f"{source}: the image is empty ({width}x{height})")
        # JPEG decodes at 1/2, 1/4 or 1/8 scale when asked: a phone photo stays cheap.
        opened.draft("RGB", (_WORKING_SIDE, _WORKING_SIDE))
        opened.load()
        orientation = opened.getexif().get(_ORIENTATION, 1)
        img: Image.Image = opened
        factor = max(img.size) // _WORKING_SIDE
        if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
            # 16- and 32-bit gray: Pillow's conversion to 8 bits would clip, not scale.
            gray = Image.fromarray(np.asarray(img, dtype=np.float32), mode="F")
            gray = _upright(gray.reduce(factor) if factor > 1 else gray, orientation)
            values = np.asarray(gray, dtype=np.float64)
            low, high = float(values.min()), float(values.max())
            return (values - low) / (high - low if high > low else 1.0), None
        has_alpha = img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info
        mode = "RGBA" if has_alpha else "RGB"
        if img.mode not in ("L", "LA", "RGB", "RGBA"):  # modes reduce() cannot take
            img = img.convert(mode)
        if factor > 1:
            img = img.reduce(factor)
        img = _upright(img, orientation)
        pixels = np.asarray(img if img.mode == mode else img.convert(mode), dtype=np.float64)
        pixels /= 255.0
    # ITU-R 601 luma, the weights Pillow's own convert("L") uses.
    lum = pixels[..., :3] @ np.array([0.299, 0.587, 0.114])
    return lum, (pixels[..., 3] if has_alpha else None)


def mnist_like(gray: ArrayLike, *, name: str = "image") -> NDArray[np.float32]:
    """Prepare a grayscale digit the way MNIST's digits were: ``(H, W)`` -> ``(28, 28)``.

    ``gray`` holds floats in [0, 1], dark ink on light paper or light on dark (the paper
    is whatever fills the image's border). Returns float32 in [0, 1], a white digit on
    black whose bounding box fits 20x20 (aspect kept) and whose centre of mass is at the
    centre of the 28x28 field. ``ValueError`` (starting with ``name``) if there is no
    digit to find.

    >>> digit = np.ones((200, 120))
    >>> digit[40:160, 50:70] = 0.0  # a dark "1" on white paper
    >>> x = mnist_like(digit)
    >>> x.shape, float(x.max()), float(x[0, 0])
    ((28, 28), 1.0, 0.0)
    >>> rows, cols = np.nonzero(x)
    >>> int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
    (20, 3)
    """
    g = np.asarray(gray, dtype=np.float64)
    if g.ndim != 2 or g.size == 0:
        raise ValueError(f"{name}: expected a grayscale image (H, W), received shape {g.shape}")
    scaled = _fit_box(_crop(_ink(g, name)))
    return _centre(scaled)


def _ink(g: NDArray[np.float64], name: str) -> NDArray[np.float64]:
    """How much ink each pixel holds, 0 (paper) to 1 (the strongest stroke)."""
    k = max(1, min(g.shape) // 50)
    border = np.concatenate([g[:k].ravel(), g[-k:].ravel(), g[:, :k].ravel(), g[:, -k:].ravel()])
    paper = float(np.median(border))
    darkest, lightest = np.percentile(g, [0.5, 99.5])
    # The ink is whichever side of the paper reaches further: dark on light gets inverted.
    bright = 1.0 - g if paper - darkest > lightest - paper else g
    surface, noise = _paper_surface(bright)
    ink = bright - surface
    peak = float(ink.max())
    if peak < _MIN_CONTRAST:
        raise ValueError(f"{name}: no digit found (the image is blank or has no contrast)")
    ink = np.clip(ink / peak, 0.0, 1.0)
    # Paper grain and sensor noise are not ink: three noise deviations, at least 10%.
    ink[ink < max(_NOISE_FLOOR, 3.0 * noise / peak)] = 0.0
    return ink


def _paper_surface(bright: NDArray[np.float64]) -> tuple[NDArray[np.float64], float]:
    """The paper under light ink, as a smooth quadratic surface, and the noise around it.

    A photo's paper is lit unevenly; a surface fitted to the pixels that are not ink
    (refitted three times, each time leaving out what stands 3 noise deviations above
    it) follows the lighting without following the strokes.
    """
    h, w = bright.shape
    step = max(1, max(h, w) // 64)
    y = np.linspace(-1.0, 1.0, h)[:, None]
    x = np.linspace(-1.0, 1.0, w)[None, :]
    ys, xs = y[::step], x[:, ::step]
    one = np.ones((len(ys), xs.shape[1]))
    design = np.stack([one, xs * one, ys * one, xs * xs * one, xs * ys, ys * ys * one], axis=-1)
    design = design.reshape(-1, 6)
    sample = bright[::step, ::step].ravel()
    paper = sample <= np.median(sample)
    coef: NDArray[np.floating] = np.zeros(6)
    noise = 0.0
    for _ in range(3):
        d = design[paper]
        # Normal equations: a 6x6 solve, far cheaper than lstsq's SVD for this shape.
        coef = np.linalg.solve(d.T @ d + 1e-9 * np.eye(6), d.T @ sample[paper])
        residual = sample - design @ coef
        noise = 1.4826 * float(np.median(np.abs(residual[paper])))
        paper = residual < 3.0 * noise + 1e-3
    surface = coef[0] + coef[1] * x + coef[2] * y + coef[3] * x * x + coef[4] * x * y
    return surface + coef[5] * y * y, noise


def _crop(ink: NDArray[np.float64]) -> NDArray[np.float64]:
    """The digit's bounding box, leaving out the faintest 0.1% of ink on each side (specks)."""
    bounds = []
    for axis in (1, 0):
        profile = np.cumsum(ink.sum(axis=axis))
        total = profile[-1]
        first = int(np.searchsorted(profile, 0.001 * total, side="right"))
        last = int(np.searchsorted(profile, 0.999 * total, side="left"))
        bounds.append((first, max(first, last) + 1))
    (top, bottom), (left, right) = bounds
    return ink[top:bottom, left:right]


def _fit_box(crop: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scale so the longer side is 20 pixels, keeping the aspect ratio; peak back to 1."""
    from PIL import Image

    h, w = crop.shape
    scale = BOX / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    img = Image.fromarray(crop.astype(np.float32), mode="F")
    # Area averaging when shrinking, as anti-aliasing does; bilinear when enlarging.
    resample = Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    out = np.asarray(img.resize(size, resample), dtype=np.float64)
    out = np.clip(out, 0.0, None)
    return out / out.max() if out.max() > 0 else out


def _centre(digit: NDArray[np.float64]) -> NDArray[np.float32]:
    """Place ``digit`` in a 28x28 field with its centre of mass at the centre."""
    h, w = digit.shape
    mass = digit.sum()
    cy = float((digit.sum(axis=1) * np.arange(h)).sum() / mass)
    cx = float((digit.sum(axis=0) * np.arange(w)).sum() / mass)
    top, left = round(CENTRE - cy), round(CENTRE - cx)
    field = np.zeros((FIELD, FIELD), dtype=np.float32)
    # A lopsided digit may reach past the edge of the field; MNIST clipped it too.
    y0, x0 = max(top, 0), max(left, 0)
    y1, x1 = min(top + h, FIELD), min(left + w, FIELD)
    field[y0:y1, x0:x1] = digit[y0 - top : y1 - top, x0 - left : x1 - left]
    return field


def read_digit(path: str | os.PathLike[str]) -> NDArray[np.float32]:
    """Read a handwritten digit from an image file as one MNIST row: ``(1, 784)`` float32.

    Any size and colour, dark on light or light on dark; see :func:`mnist_like` for the
    preparation and :func:`read_gray` for the errors.
    """
    return mnist_like(read_gray(path), name=str(path)).reshape(1, FIELD * FIELD)


def save_digit_png(x: ArrayLike, path: str | os.PathLike[str]) -> Path:
    """Write one prepared digit (784 values or 28x28, in [0, 1]) as a 28x28 grayscale PNG.

    Written atomically; the caller decides whether an existing file may be replaced.
    """
    from PIL import Image

    pixels = np.asarray(x, dtype=np.float64).reshape(FIELD, FIELD)
    img = Image.fromarray(np.round(np.clip(pixels, 0, 1) * 255).astype(np.uint8), mode="L")
    target = Path(path)
    with atomic_target(target) as tmp:
        img.save(tmp, format="PNG")
    return target
