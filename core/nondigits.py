"""Marks that are not digits, drawn in MNIST's form to teach the model an eleventh class.

Photos hold more than digits: a word or unit beside the number ("Nr", "km"), a symbol, a
crossing-out. A ten-class model reads each of them as some digit, many of them surely (two thirds
of printed letters at 80 % or more). Trained with this class as well, it puts their probability
on "not a digit", so `core.read` can leave them out. Letters and symbols come from OpenCV's
Hershey stroke fonts, scribbles from random pen strokes; `core.augment` then varies them like the
digits. numpy and OpenCV only; every draw comes from the Generator passed in.
"""

from __future__ import annotations

import cv2
import numpy as np

from core.normalize import to_mnist

# Letters and symbols that look like no digit in any common hand. Left out as look-alikes:
# O o Q D (0), I l i j J t T ! / | ( ) [ ] (1), Z z ? (2), B $ & (8), S s (5), b G (6),
# A u y Y (4), a d g p P q (9), f r (7).
GLYPHS = "CEFHKLMNRUVWXcehkmnvwx#%*+<>=@~"
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
)
# How often each kind is drawn: a letter or symbol, a short word of them, a scribble. (Two
# touching digits as a fourth kind were tried and dropped: validation accuracy 99.43 % against
# 99.56 % without, and no better on photos; see README.)
KINDS = {"glyph": 40, "word": 15, "scribble": 15}
CANVAS = 160  # px, the square a scribble is drawn in


def draw(n: int, rng: np.random.Generator) -> np.ndarray:
    """(n, 28, 28) uint8 images of marks that are not digits, in MNIST's form (the form
    `core.augment.vary` takes digits in)."""
    kinds = list(KINDS)
    weights = np.array(list(KINDS.values()), np.float64)
    chosen = rng.choice(len(kinds), size=n, p=weights / weights.sum())
    out = np.zeros((n, 28, 28), np.uint8)
    letters = GLYPHS[: GLYPHS.index("#")]
    for i, k in enumerate(chosen):
        kind = kinds[k]
        if kind == "glyph":
            ink = _text(str(rng.choice(list(GLYPHS))), rng)
        elif kind == "word":
            ink = _text("".join(rng.choice(list(letters), size=int(rng.integers(2, 4)))), rng)
        else:
            ink = _scribble(rng)
        out[i] = np.round(to_mnist(ink) * 255).astype(np.uint8)
    return out


def _text(text: str, rng: np.random.Generator) -> np.ndarray:
    font = int(FONTS[rng.integers(len(FONTS))]) | (cv2.FONT_ITALIC if rng.random() < 0.3 else 0)
    scale = 4.0 if font & 0xF == cv2.FONT_HERSHEY_PLAIN else 2.0
    (w, h), base = cv2.getTextSize(text, font, scale, 1)
    thickness = int(rng.integers(3, 10))
    canvas = np.zeros((h + base + 4 * thickness, w + 4 * thickness), np.uint8)
    origin = (2 * thickness, h + 2 * thickness)
    cv2.putText(canvas, text, origin, font, scale, 255, thickness, cv2.LINE_AA)
    return canvas


def _scribble(rng: np.random.Generator) -> np.ndarray:
    """A crossing-out, a squiggle or a blot."""
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    thickness = int(rng.integers(4, 12))
    shape = rng.integers(3)
    if shape == 0:  # zigzag, as when crossing something out
        k = int(rng.integers(5, 10))
        xs = np.linspace(20, CANVAS - 20, k) + rng.normal(0, 5, k)
        ys = np.where(np.arange(k) % 2 == 0, 30, CANVAS - 30) + rng.normal(0, 10, k)
        points = np.stack([xs, ys], axis=1)
    elif shape == 1:  # a tangle through many points (through a few, it could be a digit)
        points = rng.uniform(20, CANVAS - 20, (int(rng.integers(8, 14)), 2))
    else:  # a blot
        centre = (CANVAS // 2, CANVAS // 2)
        a = int(rng.integers(25, 70))  # roundish: a long thin blot would be a thick 1
        axes = (a, int(a * rng.uniform(0.65, 1.0)))
        cv2.ellipse(canvas, centre, axes, float(rng.uniform(0, 180)), 0, 360, 255, -1)
        return canvas
    curve = _smooth(points, 8)
    cv2.polylines(canvas, [np.round(curve).astype(np.int32)], False, 255, thickness, cv2.LINE_AA)
    return canvas


def _smooth(points: np.ndarray, steps: int) -> np.ndarray:
    """A Catmull-Rom curve through `points`, `steps` segments between each two."""
    p = np.vstack([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, steps, endpoint=False)[:, None]
    out = []
    for i in range(1, len(p) - 2):
        p0, p1, p2, p3 = p[i - 1], p[i], p[i + 1], p[i + 2]
        out.append(
            0.5
            * (
                2 * p1
                + (p2 - p0) * t
                + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2
                + (3 * p1 - p0 - 3 * p2 + p3) * t**3
            )
        )
    out.append(points[-1:])
    return np.vstack(out)
