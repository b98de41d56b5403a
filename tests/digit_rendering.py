"""MNIST digits drawn as a user's own handwriting would arrive: large, off centre, in colour.

``render`` enlarges each 28x28 digit (white on black) to a random size, puts it at a
random place on a larger sheet of paper with a margin, and colours ink and paper; the
preprocessing under test must undo all of it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

#: Sheet size and the range of sizes the 28x28 field is enlarged to.
SHEET, SMALLEST, LARGEST = 200, 100, 170


def render(
    digit: NDArray[np.uint8],
    rng: np.random.Generator,
    *,
    ink: tuple[int, int, int] = (0, 0, 0),
    paper: tuple[int, int, int] = (255, 255, 255),
    noise: float = 0.0,
    transparent: bool = False,
) -> Image.Image:
    """One MNIST digit ``(28, 28)`` uint8 as an RGB (or RGBA) sheet of ``SHEET`` pixels.

    The digit is enlarged with bicubic interpolation to a random size, placed at a random
    position (never centred on purpose, always inside the sheet), and its intensity mixes
    ``paper`` (0) into ``ink`` (255). ``noise`` adds Gaussian noise of that standard
    deviation (0..255 scale) and a lighting gradient, as in a photo. ``transparent`` gives
    an RGBA sheet whose paper is fully transparent and whose ink is opaque.
    """
    size = int(rng.integers(SMALLEST, LARGEST + 1))
    big = Image.fromarray(digit, mode="L").resize((size, size), Image.Resampling.BICUBIC)
    amount = np.zeros((SHEET, SHEET))
    top, left = (int(v) for v in rng.integers(0, SHEET - size + 1, size=2))
    amount[top : top + size, left : left + size] = np.asarray(big, dtype=np.float64) / 255.0
    amount = np.clip(amount, 0.0, 1.0)[..., None]
    rgb = np.asarray(paper, dtype=np.float64) * (1 - amount) + np.asarray(ink) * amount
    if noise:
        gradient = np.linspace(-30, 30, SHEET)[None, :, None]
        rgb = rgb + gradient + rng.normal(0.0, noise, size=rgb.shape)
    pixels = np.clip(np.round(rgb), 0, 255).astype(np.uint8)
    if transparent:
        # As a drawing program exports strokes: the ink's colour everywhere, coverage in alpha.
        colour = np.broadcast_to(np.asarray(ink, dtype=np.uint8), pixels.shape)
        alpha = np.round(amount * 255).astype(np.uint8)
        return Image.fromarray(np.concatenate([colour, alpha], axis=2), mode="RGBA")
    return Image.fromarray(pixels, mode="RGB")


def write_sheets(
    digits: NDArray[np.uint8], folder: Path, rng: np.random.Generator, **style: object
) -> list[Path]:
    """Render every digit ``(N, 28, 28)`` with ``style`` (see :func:`render`) into PNGs."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, digit in enumerate(digits):
        path = folder / f"{i:04d}.png"
        render(digit, rng, **style).save(path)  # type: ignore[arg-type]
        paths.append(path)
    return paths
