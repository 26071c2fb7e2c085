"""Draw what was read: the photo with a labelled box on every digit, plus confidence bars.

The picture is made for a chat window on a phone: the photo scaled to at most
limits.RENDER_SIDE, boxes coloured by confidence (green sure, amber unsure, red doubtful), and
below it one small bar chart per digit showing its three likeliest values, the seeds'
`plot_value_array` done for a whole number. Pillow only: matplotlib is far too slow here.
"""

from __future__ import annotations

import io
import os
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from core import limits
from core.decode import Photo, decode
from core.result import Digit, Result

GREEN = (30, 170, 60)
AMBER = (235, 160, 0)
RED = (220, 40, 40)
INK = (30, 30, 30)
PANEL = (250, 250, 250)
GRID = (215, 215, 215)
MIN_WIDTH = 360  # narrow photos get a wider canvas so the bars stay readable


def render(result: Result, image: bytes | str | os.PathLike | Photo) -> bytes:
    """PNG bytes: the photo with the digits of `result` boxed and labelled, and their bars."""
    photo = decode(image)
    base = Image.fromarray(photo.image)
    scale_side = min(1.0, limits.RENDER_SIDE / max(base.size))
    if scale_side < 1:
        base = base.resize(
            (max(1, round(base.width * scale_side)), max(1, round(base.height * scale_side))),
            Image.Resampling.BILINEAR,
        )
    base = base.convert("RGB")
    k = base.width / max(1, result.size[0] or photo.size[0])
    unit = max(14, round(max(base.size) / 40))  # label size: ~3 % of the picture
    draw = ImageDraw.Draw(base)
    for d in result.digits:
        _box(draw, d, k, unit)
    width = max(base.width, MIN_WIDTH)
    panel = _panel(result, width, unit)
    out = Image.new("RGB", (width, base.height + panel.height), PANEL)
    out.paste(base, (0, 0))
    out.paste(panel, (0, base.height))
    buf = io.BytesIO()
    out.save(buf, "PNG", optimize=False, compress_level=6)
    return buf.getvalue()


def colour(d: Digit) -> tuple[int, int, int]:
    if d.confidence >= limits.GREEN_FROM and not d.uncertain:
        return GREEN
    return AMBER if d.confidence >= limits.UNCERTAIN_BELOW else RED


@lru_cache(maxsize=16)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _box(draw: ImageDraw.ImageDraw, d: Digit, k: float, unit: int) -> None:
    x, y, w, h = d.box
    x0, y0, x1, y1 = x * k, y * k, (x + w) * k, (y + h) * k
    c = colour(d)
    width = max(2, unit // 8)
    draw.rectangle((x0 - width, y0 - width, x1 + width, y1 + width), outline=c, width=width)
    label = f"{d.value}?" if d.uncertain else str(d.value)
    size = max(12, min(unit, round(1.2 * max(12, h * k))))
    font = _font(size)
    left, top, right, bottom = draw.textbbox((0, 0), label, font=font)
    tw, th = right - left + 6, bottom - top + 6
    ty = y0 - width - th if y0 - width - th >= 0 else y1 + width
    draw.rectangle((x0 - width, ty, x0 - width + tw, ty + th), fill=c)
    draw.text((x0 - width + 3 - left, ty + 3 - top), label, fill=(255, 255, 255), font=font)


def _panel(result: Result, width: int, unit: int) -> Image.Image:
    """One cell per digit: the reading on top, bars for the ten values below, best in colour."""
    digits = result.digits[: limits.RENDER_BARS_MAX]
    font, small = _font(unit), _font(max(10, unit * 2 // 3))
    if not digits:
        msg = "no digits found" if not result.digits else ""
        img = Image.new("RGB", (width, unit * 2), PANEL)
        ImageDraw.Draw(img).text((unit // 2, unit // 2), msg, fill=INK, font=font)
        return img
    cell_w = max(unit * 5, 120)
    per_row = max(1, width // cell_w)
    cell_w = width // per_row
    cell_h = unit * 5
    rows = -(-len(digits) // per_row)
    extra = len(result.digits) - len(digits)
    img = Image.new("RGB", (width, rows * cell_h + (unit if extra else 0) + unit // 2), PANEL)
    draw = ImageDraw.Draw(img)
    for i, d in enumerate(digits):
        cx, cy = (i % per_row) * cell_w, (i // per_row) * cell_h
        _cell(draw, d, cx, cy, cell_w, cell_h, unit, font, small)
    if extra:
        draw.text(
            (unit // 2, rows * cell_h),
            f"+{extra} more digits (see the text)",
            fill=INK,
            font=small,
        )
    return img


def _cell(draw, d: Digit, cx: int, cy: int, cw: int, ch: int, unit: int, font, small) -> None:
    pad = unit // 3
    c = colour(d)
    head = f"{d.value}  {int(d.confidence * 100)}%"  # floored: 99.96 % is not 100 %
    draw.text((cx + pad, cy + pad), head, fill=c, font=font)
    probs = np.zeros(10)
    for v, p in d.alternatives:
        probs[v] = p
    top, bottom = cy + pad + unit + pad, cy + ch - pad - small.size
    bar_w = (cw - 2 * pad) / 10
    draw.line((cx + pad, bottom, cx + cw - pad, bottom), fill=GRID, width=1)
    for v in range(10):
        bx = cx + pad + v * bar_w
        bh = probs[v] * (bottom - top)
        if bh > 0:
            fill = c if v == d.value else (150, 150, 150)
            draw.rectangle((bx + 1, bottom - bh, bx + bar_w - 2, bottom), fill=fill)
        draw.text((bx + bar_w / 2, bottom + 1), str(v), fill=INK, font=small, anchor="ma")
