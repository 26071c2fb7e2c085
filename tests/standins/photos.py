"""Test photos with a known number: MNIST digits drawn dark on light paper, with margins."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image


def digits_photo(
    x: np.ndarray, y: np.ndarray, number: str, *, scale: int = 4, fmt: str = "JPEG"
) -> bytes:
    """A photo of `number` written with the first MNIST digit of each value in (x, y)."""
    side = 28 * scale
    gap, margin = side // 3, side
    width = 2 * margin + len(number) * side + (len(number) - 1) * gap
    page = np.full((side + 2 * margin, width), 235, np.uint8)  # off-white paper
    for i, ch in enumerate(number):
        digit = x[int(np.flatnonzero(y == int(ch))[0])]
        big = np.asarray(Image.fromarray(digit).resize((side, side), Image.Resampling.BILINEAR))
        left = margin + i * (side + gap)
        window = page[margin : margin + side, left : left + side]
        np.minimum(window, 255 - big.astype(np.int32) * 220 // 255, out=window, casting="unsafe")
    buf = io.BytesIO()
    Image.fromarray(page).convert("RGB").save(buf, fmt, quality=92)
    return buf.getvalue()


def blank_photo(width: int = 640, height: int = 480, fmt: str = "JPEG") -> bytes:
    """Plain paper: a valid image with no digits on it."""
    buf = io.BytesIO()
    Image.new("RGB", (width, height), (235, 235, 230)).save(buf, fmt)
    return buf.getvalue()


def open_png(data: bytes) -> Image.Image:
    """The image in `data`, which must be a complete, valid PNG (what the bots send back)."""
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return image
