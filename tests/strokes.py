"""Pen strokes traced from MNIST digits, to replay on the drawing page as a hand would.

:func:`digit_strokes` enlarges a 28x28 digit, thins its ink to a one-pixel skeleton
(Zhang and Suen's thinning, https://doi.org/10.1145/357994.358023) and walks the skeleton
into polylines: what a pen would have drawn, without the stroke width. Replayed with a
round pen on the page's canvas they give back a digit much like the original.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from PIL import Image

#: The skeleton is traced on the digit enlarged this many times (smoother lines).
ZOOM = 4
#: Ink at or above this share of the brightest pixel counts as the stroke.
INK = 0.35
#: A point is kept every this many skeleton pixels along a stroke (ends always kept).
STEP = 3

_OFFSETS = [(-1, 0), (-1, 1), (0, 1), (1, 1), (1, 0), (1, -1), (0, -1), (-1, -1)]


def _neighbours(img: NDArray[np.bool_]) -> list[NDArray[np.bool_]]:
    """P2..P9 of the thinning paper: north, then clockwise, for every pixel."""
    padded = np.pad(img, 1)
    h, w = img.shape
    return [padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w] for dy, dx in _OFFSETS]


def thin(img: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """Zhang-Suen thinning: peel border pixels in two alternating passes until none go."""
    img = img.copy()
    while True:
        changed = False
        for first in (True, False):
            p = _neighbours(img)
            count = sum(q.astype(np.int8) for q in p)
            ring = p + p[:1]
            transitions = sum(
                (~a & b).astype(np.int8) for a, b in zip(ring, ring[1:], strict=False)
            )
            p2, p4, p6, p8 = p[0], p[2], p[4], p[6]
            if first:
                keep_a, keep_b = p2 & p4 & p6, p4 & p6 & p8
            else:
                keep_a, keep_b = p2 & p4 & p8, p2 & p6 & p8
            gone = img & (count >= 2) & (count <= 6) & (transitions == 1) & ~keep_a & ~keep_b
            if gone.any():
                img &= ~gone
                changed = True
        if not changed:
            return img


def _walk(skeleton: NDArray[np.bool_]) -> list[list[tuple[int, int]]]:
    """The skeleton's pixels as paths along 8-connected neighbours, each edge walked once.

    Paths start at the ends of lines, then wherever unwalked edges remain (loops such as
    an 0 or the bowls of an 8).
    """
    pixels = {(int(y), int(x)) for y, x in zip(*np.nonzero(skeleton), strict=True)}

    def around(p: tuple[int, int]) -> list[tuple[int, int]]:
        return [(p[0] + dy, p[1] + dx) for dy, dx in _OFFSETS if (p[0] + dy, p[1] + dx) in pixels]

    walked: set[frozenset[tuple[int, int]]] = set()

    def free(p: tuple[int, int]) -> list[tuple[int, int]]:
        return [q for q in around(p) if frozenset((p, q)) not in walked]

    ends = sorted(p for p in pixels if len(around(p)) == 1)
    paths = []
    for start in ends + sorted(pixels):
        while free(start):
            path, here, heading = [start], start, (0, 0)
            while options := free(here):
                # Go on in the same direction where possible, as a pen does.
                nxt = max(
                    options,
                    key=lambda q: (q[0] - here[0]) * heading[0] + (q[1] - here[1]) * heading[1],
                )
                walked.add(frozenset((here, nxt)))
                heading = (nxt[0] - here[0], nxt[1] - here[1])
                path.append(nxt)
                here = nxt
            paths.append(path)
    return paths


def digit_strokes(digit: NDArray[np.floating], side: float) -> list[list[tuple[float, float]]]:
    """Strokes that redraw ``digit`` (28x28, white ink on black) on a ``side``-pixel square.

    Returns polylines of (x, y) points in that square's pixels, in drawing order.
    """
    ink = np.asarray(digit, dtype=np.float64)
    ink = ink / ink.max()
    big = Image.fromarray(ink.astype(np.float32), mode="F").resize(
        (28 * ZOOM, 28 * ZOOM), Image.Resampling.BILINEAR
    )
    skeleton = thin(np.asarray(big) >= INK)
    scale = side / (28 * ZOOM)
    strokes = []
    for path in _walk(skeleton):
        if len(path) < 2:
            continue
        kept = path[::STEP] + ([path[-1]] if (len(path) - 1) % STEP else [])
        strokes.append([((x + 0.5) * scale, (y + 0.5) * scale) for y, x in kept])
    return strokes
