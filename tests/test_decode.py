"""Decoding: limits are enforced before the pixels are decoded, odd images become plain RGB."""

from __future__ import annotations

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from core import ImageError, Result, decode, limits, read


def encode(im: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **kw)
    return buf.getvalue()


def page(w: int = 400, h: int = 300) -> Image.Image:
    """Light paper with one dark bar: enough to check pixels survive decoding."""
    a = np.full((h, w, 3), 235, np.uint8)
    a[h // 3 : 2 * h // 3, w // 2 - 5 : w // 2 + 5] = 20
    return Image.fromarray(a)


def png_header_only(w: int, h: int) -> bytes:
    """A PNG that declares w x h pixels but carries almost no data: a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


@pytest.mark.parametrize(
    "data, words",
    [
        (b"", "empty"),
        (b"hello, this is not an image at all", "not an image"),
        (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", "not an image"),
        (png_header_only(30000, 30000), "too many pixels"),
        (png_header_only(9000, 9000), "too large"),
        (png_header_only(4000, 4000), "to read at full size"),  # no reduced-size decoding
        (encode(Image.new("RGB", (1, 1), "white"), "PNG"), "too small"),
        (encode(Image.new("RGB", (5000, 8), "white"), "PNG"), "too small"),
    ],
)
def test_bad_input_gives_a_clear_image_error(data, words):
    with pytest.raises(ImageError, match=words):
        decode(data)
    with pytest.raises(ImageError):
        read(data)


def test_truncated_files_give_an_image_error_or_a_result():
    for fmt in ("JPEG", "PNG"):
        data = encode(page(), fmt)
        for cut in (len(data) // 3, len(data) - 20):
            try:
                assert isinstance(read(data[:cut]), Result)
            except ImageError as e:
                assert "damaged" in str(e) or "not an image" in str(e)


def test_oversized_file_is_refused_before_reading(tmp_path):
    big = tmp_path / "big.jpg"
    with open(big, "wb") as f:
        f.truncate(limits.MAX_FILE_BYTES + 1)
    with pytest.raises(ImageError, match="larger than"):
        decode(big)
    with pytest.raises(ImageError, match="larger than"):
        decode(b"\xff" * (limits.MAX_FILE_BYTES + 1))
    with pytest.raises(ImageError, match="Cannot open"):
        decode(tmp_path / "missing.png")


@pytest.mark.parametrize(
    "mode",
    ["CMYK", "I;16", "RGBA", "LA", "P", "L", "1", "I", "F"],
)
def test_odd_modes_become_rgb_with_the_ink_kept(mode):
    im = page()
    if mode in ("I;16", "I"):
        im = Image.fromarray((np.asarray(im.convert("L"), np.uint16) * 257).astype(np.uint16))
        im = im if mode == "I;16" else im.convert("I")
    elif mode == "F":
        im = Image.fromarray(np.asarray(im.convert("L"), np.float32))
    elif mode in ("RGBA", "LA"):
        im = im.convert(mode)
        alpha = Image.new("L", im.size, 255)
        alpha.paste(0, (0, 0, 50, 50))  # a transparent corner is laid on white
        im.putalpha(alpha)
    else:
        im = im.convert(mode)
    fmt = "TIFF" if mode in ("CMYK", "I", "F") else "PNG"
    photo = decode(encode(im, fmt))
    a = photo.image
    assert a.dtype == np.uint8 and a.shape == (300, 400, 3)
    assert a[150, 200].max() < 90 and a[10, 10].min() > 200 and a[150, 20].min() > 200


def test_cmyk_jpeg():
    photo = decode(encode(page().convert("CMYK"), "JPEG"))
    assert photo.image[150, 200].max() < 90 and photo.image[20, 20].min() > 180


def test_animated_gif_reads_the_first_frame_with_a_warning():
    frames = [page(), Image.new("RGB", (400, 300), "black")]
    data = encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    photo = decode(data)
    assert photo.image[10, 10].min() > 200  # first frame: light paper
    assert any("animated" in w for w in photo.warnings)
    assert any("animated" in w for w in read(photo).warnings)


def test_big_jpeg_is_decoded_at_reduced_size_in_original_coordinates():
    im = page(4000, 3000)
    photo = decode(encode(im, "JPEG", quality=80))
    assert photo.size == (4000, 3000)
    assert max(photo.image.shape[:2]) <= limits.WORK_SIDE
    assert photo.scale == pytest.approx(4000 / photo.image.shape[1])


def test_exif_orientation_swaps_the_size():
    im = page(400, 300)
    exif = Image.Exif()
    exif[0x0112] = 8
    photo = decode(encode(im, "JPEG", exif=exif.tobytes()))
    assert photo.size == (300, 400) and photo.image.shape[:2] == (400, 300)


def test_unsupported_format_is_refused():
    with pytest.raises(ImageError, match="not supported"):
        decode(encode(page(), "ICO"))
