"""Images from files: the 28x28 grayscale PNGs that ``mitbadak predict`` classifies."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["read_mnist_png"]


def read_mnist_png(path: str | os.PathLike[str]) -> NDArray[np.float32]:
    """Read a 28x28 grayscale PNG as one MNIST row: (1, 784) float32 in [0, 1].

    Raises ``ValueError`` naming the file for anything else: not a PNG, another size,
    colour, unreadable; ``FileNotFoundError`` if it does not exist.
    """
    from PIL import Image, UnidentifiedImageError

    source = Path(path)
    try:
        with Image.open(source) as img:
            if img.format != "PNG":
                raise ValueError(f"{source}: expected a PNG image, received {img.format}")
            if img.size != (28, 28):
                raise ValueError(
                    f"{source}: expected a 28x28 image, received {img.size[0]}x{img.size[1]}"
                )
            mode = img.mode
            pixels = np.asarray(img.convert("RGB") if mode in ("P", "RGBA", "LA") else img)
    except FileNotFoundError:
        raise FileNotFoundError(f"{source}: no such file") from None
    except (UnidentifiedImageError, OSError) as exc:
        raise ValueError(f"{source}: not a readable PNG image ({exc})") from exc
    if pixels.ndim == 3:
        if not (
            np.array_equal(pixels[..., 0], pixels[..., 1])
            and np.array_equal(pixels[..., 0], pixels[..., 2])
        ):
            raise ValueError(f"{source}: expected a grayscale image, received colour ({mode})")
        pixels = pixels[..., 0]
    peak = 1.0 if pixels.dtype == np.bool_ else float(np.iinfo(pixels.dtype).max)
    return (pixels.astype(np.float32) / peak).reshape(1, 784)
