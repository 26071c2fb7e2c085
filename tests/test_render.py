"""Rendering: a valid PNG of bounded size, boxes where the digits are, bars below."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from bench import synth
from core import Digit, Result, decode, limits, read, render


def photo_bytes(mnist_sample, text: str, size=(1280, 960)) -> bytes:
    x, y = mnist_sample
    glyphs = [x[int(np.flatnonzero(y == int(c))[0])] / 255 for c in text]
    return synth.photo([[glyphs]] if glyphs else [[[]]], size=size, height=80)


def test_render_is_a_bounded_png_with_a_panel(mnist_sample):
    data = photo_bytes(mnist_sample, "3141", size=(3000, 2000))
    photo = decode(data)
    result = read(photo)
    png = render(result, photo)
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.mode == "RGB"
    assert im.width == limits.RENDER_SIDE and im.height > 1280 * 2000 / 3000  # photo + bars
    assert len(png) < 5_000_000
    a = np.asarray(im)
    # Every digit's box outline is drawn in one of the three confidence colours.
    k = im.width / result.size[0]
    for d in result.digits:
        x, y, w, h = (round(v * k) for v in d.box)
        edge = a[max(0, y - 3) : y + 1, x + w // 2]
        assert any(
            np.abs(edge.astype(int) - c).sum(axis=1).min() < 60
            for c in ((30, 170, 60), (235, 160, 0), (220, 40, 40))
        )


def test_render_no_digits_and_many_digits(mnist_sample):
    data = photo_bytes(mnist_sample, "")
    empty = read(data)
    png = render(empty, data)
    assert Image.open(io.BytesIO(png)).size[0] == 1280
    many = Result(
        tuple(
            Digit(
                i % 10,
                0.5 + (i % 5) / 10,
                ((i % 10, 0.6), (1, 0.2), (2, 0.1)),
                (i * 10, 5, 8, 12),
                0,
            )
            for i in range(120)
        ),
        "x",
        size=(1280, 960),
    )
    im = Image.open(io.BytesIO(render(many, data)))
    assert im.height < 4000  # bars only for the first RENDER_BARS_MAX digits


def test_render_takes_bytes_path_or_photo(mnist_sample, tmp_path):
    data = photo_bytes(mnist_sample, "72", size=(640, 480))
    path = tmp_path / "p.jpg"
    path.write_bytes(data)
    result = read(data)
    assert render(result, data) == render(result, path) == render(result, decode(data))
