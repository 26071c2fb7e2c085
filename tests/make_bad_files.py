"""Build the hostile-input corpus in tests/fixtures/bad/: `python tests/make_bad_files.py`.

Every file is made here from code, deterministically (fixed MNIST test digits, seeded noise),
so the corpus can be rebuilt and reviewed. The files that hold an image show the same digits
("4 7 2" drawn from the first official MNIST test digits, dark on light paper) so that a reader
that handles an odd format correctly reads the same text as from `plain.png`.

The bombs are built by hand: `bomb_30000x30000.png` is a complete, valid 1-bit PNG of 900
megapixels that compresses to ~110 KB; the others only declare huge sizes in their headers.
The `big_*` files stay just under the pixel limits in lossless or WebP form: small files that
are hundreds of megabytes once decoded.
`--check` rebuilds the corpus in memory and reports files that differ from the committed ones.
"""

from __future__ import annotations

import io
import math
import struct
import sys
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image

from core import limits

HERE = Path(__file__).resolve().parent
BAD = HERE / "fixtures" / "bad"
MNIST_SAMPLE = HERE / "fixtures" / "mnist_test_1000.npz"

DIGITS = "472"  # what the image files show: MNIST test digits 4, 0 and 1 are a 4, a 7 and a 2
INDICES = (4, 0, 1)


def page() -> np.ndarray:
    """A 360x160 greyscale 'photo': three MNIST digits, dark ink on light paper."""
    x = np.load(MNIST_SAMPLE)["x"]
    canvas = np.full((160, 360), 235, np.uint8)
    for k, i in enumerate(INDICES):
        digit = np.kron(x[i], np.ones((4, 4), np.uint8))  # 28x28 -> 112x112
        ink = 235 - (digit.astype(np.int32) * 215 // 255)
        y0, x0 = 24, 14 + k * 114
        canvas[y0 : y0 + 112, x0 : x0 + 112] = np.minimum(
            canvas[y0 : y0 + 112, x0 : x0 + 112], ink.astype(np.uint8)
        )
    return canvas


def _save(img: Image.Image, fmt: str, **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **kw)
    return buf.getvalue()


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def _rgb() -> Image.Image:
    return Image.fromarray(page()).convert("RGB")


# --- files that are not images at all ------------------------------------------------------


def not_an_image() -> bytes:
    return b"Hello! This is a text file that someone renamed to .jpg.\n" * 4


def empty() -> bytes:
    return b""


def svg() -> bytes:
    return (
        b'<?xml version="1.0" encoding="UTF-8"?>\n'
        b'<svg xmlns="http://www.w3.org/2000/svg" width="360" height="160">\n'
        b'  <rect width="360" height="160" fill="#eee"/>\n'
        b'  <text x="20" y="120" font-size="110" font-family="serif">472</text>\n'
        b"</svg>\n"
    )


def heic() -> bytes:
    """An ISO-BMFF 'ftyp' box of an iPhone HEIC photo followed by an empty 'meta' box."""
    ftyp = b"ftyp" + b"heic" + struct.pack(">I", 0) + b"mif1heic"
    meta = b"meta" + struct.pack(">I", 0)
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + struct.pack(">I", 4 + len(meta)) + meta


def heic_mif1() -> bytes:
    """A HEIF whose major brand is 'mif1': Pillow hands it to its AVIF decoder."""
    ftyp = b"ftyp" + b"mif1" + struct.pack(">I", 0) + b"mif1heic"
    meta = b"meta" + struct.pack(">I", 0)
    return struct.pack(">I", 4 + len(ftyp)) + ftyp + struct.pack(">I", 4 + len(meta)) + meta


def eps() -> bytes:
    """PostScript: Pillow would run Ghostscript on it, which a photo decoder must never do."""
    return (
        b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 360 160\n"
        b"/Times-Roman findfont 110 scalefont setfont 20 30 moveto (472) show showpage\n%%EOF\n"
    )


def pdf() -> bytes:
    return b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


# --- broken images -------------------------------------------------------------------------


def truncated_jpeg() -> bytes:
    data = _save(_rgb(), "JPEG", quality=90)
    return data[: len(data) // 2]


def truncated_png() -> bytes:
    data = _save(_rgb(), "PNG")
    return data[: len(data) * 2 // 3]


def png_bad_crc() -> bytes:
    data = bytearray(_save(_rgb(), "PNG"))
    idat = data.index(b"IDAT")
    length = struct.unpack(">I", data[idat - 4 : idat])[0]
    data[idat + 4 + length] ^= 0xFF  # first byte of the IDAT CRC
    return bytes(data)


def png_zero_width() -> bytes:
    ihdr = struct.pack(">IIBBBBB", 0, 160, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 160)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )


def jpeg_garbage_tail() -> bytes:
    """A valid JPEG with 2 KB of random-looking bytes spliced into its entropy-coded data."""
    data = bytearray(_save(_rgb(), "JPEG", quality=90))
    noise = bytes((i * 73 + 41) % 256 for i in range(2048))
    mid = len(data) // 2
    return bytes(data[:mid] + noise + data[mid:])


# --- bombs and extreme sizes ---------------------------------------------------------------


def png_bomb() -> bytes:
    """A complete 30000x30000 1-bit greyscale PNG: 900 Mpx, ~110 KB on disk."""
    width = height = 30000
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    row = b"\x00" * (1 + width // 8)
    comp = zlib.compressobj(9)
    parts = [comp.compress(row * 1000) for _ in range(height // 1000)]
    parts.append(comp.flush())
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", b"".join(parts))
        + _png_chunk(b"IEND", b"")
    )


def jpeg_declares_huge() -> bytes:
    """A small JPEG whose frame header claims 30000x30000 (the scan data is the small one)."""
    data = bytearray(_save(_rgb(), "JPEG", quality=80))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = struct.pack(">HH", 30000, 30000)
    return bytes(data)


def gif_huge_screen() -> bytes:
    """A GIF whose logical screen is 65535x65535 with one small frame."""
    data = bytearray(_save(_rgb().convert("P"), "GIF"))
    data[6:10] = struct.pack("<HH", 65535, 65535)
    return bytes(data)


def pepper_noise() -> bytes:
    """1280x960 paper with 2 % of its pixels black specks, and no writing (a speckled surface)."""
    rng = np.random.default_rng(0)
    paper = np.full((960, 1280), 235, np.uint8)
    paper[rng.random(paper.shape) < 0.02] = 0
    return _save(Image.fromarray(paper), "PNG")


# Just under the core's pixel limits for formats it cannot decode at reduced size: a few dozen
# KB on disk, a hundred MB or more once decoded. Their sides follow core/limits.py (a test checks
# that they still sit at the limits); `over_limit_7000x7000_16bit.png` is over the limit for
# such formats but under the general one.
LOSSLESS_SIDE = math.isqrt(limits.MAX_PIXELS_LOSSLESS)
WEBP_SIDE = math.isqrt(limits.MAX_PIXELS_WEBP)


def big_16bit_png(side: int = LOSSLESS_SIDE) -> bytes:
    return _save(Image.new("I;16", (side, side), 65535), "PNG", optimize=True)


def big_rgba_png() -> bytes:
    size = (LOSSLESS_SIDE, LOSSLESS_SIDE)
    return _save(Image.new("RGBA", size, (255, 255, 255, 255)), "PNG", optimize=True)


def big_webp() -> bytes:
    return _save(Image.new("RGB", (WEBP_SIDE, WEBP_SIDE), (255, 255, 255)), "WEBP", quality=50)


def tiny_1x1() -> bytes:
    return _save(Image.new("RGB", (1, 1), (255, 255, 255)), "PNG")


def strip_20000x10() -> bytes:
    strip = np.full((10, 20000), 235, np.uint8)
    strip[2:8, ::97] = 20  # short vertical ticks: ink, but nothing digit-sized
    return _save(Image.fromarray(strip), "PNG")


def mnist_28x28() -> bytes:
    """One MNIST test digit (a 7) as a 28x28 image, dark on white: what people test bots with."""
    x = np.load(MNIST_SAMPLE)["x"]
    return _save(Image.fromarray(255 - x[0]), "PNG")


def tall_10x20000() -> bytes:
    return _save(Image.fromarray(np.full((20000, 10), 235, np.uint8)), "PNG")


# --- valid images in odd forms: all show "472" ---------------------------------------------


def plain_png() -> bytes:
    return _save(_rgb(), "PNG")


def plain_jpeg() -> bytes:
    return _save(_rgb(), "JPEG", quality=90)


def animated_gif() -> bytes:
    first = _rgb().convert("P")
    others = [Image.new("P", first.size, i * 40) for i in range(1, 4)]
    return _save(first, "GIF", save_all=True, append_images=others, duration=200, loop=0)


def damaged_animated_gif() -> bytes:
    """The animated GIF with four bytes inserted in a later frame (found by the fuzz test):
    the first frame is intact, the damage shows only when the frames are counted."""
    data = bytearray(animated_gif())
    at = int(0.875 * len(data))
    data[at:at] = b"\x03" * 4
    return bytes(data)


def cmyk_jpeg() -> bytes:
    return _save(_rgb().convert("CMYK"), "JPEG", quality=90)


def gray16_png() -> bytes:
    wide = page().astype(np.uint16) * 257  # full 16-bit range: naive clipping makes it all white
    return _save(Image.fromarray(wide), "PNG")


def alpha_png() -> bytes:
    """Dark digits on a fully transparent background whose hidden colour is black."""
    ink = 255 - page()
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 3] = np.where(ink > 30, 255, 0)
    rgba[..., :3] = np.where(ink[..., None] > 30, 20, 0)
    return _save(Image.fromarray(rgba), "PNG")


def la_png() -> bytes:
    g = page()
    return _save(Image.fromarray(np.dstack([g, np.full_like(g, 255)])), "PNG")


def palette_png() -> bytes:
    return _save(_rgb().convert("P", palette=Image.Palette.ADAPTIVE, colors=16), "PNG")


def bilevel_png() -> bytes:
    return _save(Image.fromarray(page()).point(lambda v: 255 if v > 128 else 0).convert("1"), "PNG")


def multipage_tiff() -> bytes:
    blank = Image.new("RGB", (360, 160), (235, 235, 235))
    return _save(
        _rgb(), "TIFF", save_all=True, append_images=[blank, blank], compression="tiff_deflate"
    )


def float_tiff() -> bytes:
    return _save(
        Image.fromarray(page().astype(np.float32) / 255.0), "TIFF", compression="tiff_deflate"
    )


def webp() -> bytes:
    return _save(_rgb(), "WEBP", quality=90)


def exif_rotated_jpeg() -> bytes:
    """Stored turned 90 degrees with EXIF orientation 6: viewers show it upright."""
    stored = _rgb().transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return _save(stored, "JPEG", quality=90, exif=exif.tobytes())


def bad_exif_orientation() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 9999
    return _save(_rgb(), "JPEG", quality=90, exif=exif.tobytes())


CORPUS: dict[str, Callable[[], bytes]] = {
    "not_an_image.jpg": not_an_image,
    "empty.jpg": empty,
    "drawing.svg": svg,
    "photo.heic": heic,
    "photo_mif1.heic": heic_mif1,
    "postscript.eps": eps,
    "document.pdf": pdf,
    "truncated.jpg": truncated_jpeg,
    "truncated.png": truncated_png,
    "bad_crc.png": png_bad_crc,
    "zero_width.png": png_zero_width,
    "garbage_inside.jpg": jpeg_garbage_tail,
    "bomb_30000x30000.png": png_bomb,
    "declares_30000x30000.jpg": jpeg_declares_huge,
    "screen_65535x65535.gif": gif_huge_screen,
    "pepper_noise.png": pepper_noise,
    "big_16bit.png": big_16bit_png,
    "big_rgba.png": big_rgba_png,
    "big.webp": big_webp,
    "over_limit_7000x7000_16bit.png": lambda: big_16bit_png(7000),
    "tiny_1x1.png": tiny_1x1,
    "strip_20000x10.png": strip_20000x10,
    "strip_10x20000.png": tall_10x20000,
    "mnist_28x28.png": mnist_28x28,
    "plain.png": plain_png,
    "plain.jpg": plain_jpeg,
    "animated.gif": animated_gif,
    "damaged_animated.gif": damaged_animated_gif,
    "cmyk.jpg": cmyk_jpeg,
    "gray16.png": gray16_png,
    "alpha.png": alpha_png,
    "gray_alpha.png": la_png,
    "palette.png": palette_png,
    "bilevel.png": bilevel_png,
    "multipage.tiff": multipage_tiff,
    "float32.tiff": float_tiff,
    "photo.webp": webp,
    "exif_rotated.jpg": exif_rotated_jpeg,
    "exif_orientation_9999.jpg": bad_exif_orientation,
}


def build() -> dict[str, bytes]:
    return {name: make() for name, make in CORPUS.items()}


def main(argv: list[str]) -> int:
    files = build()
    if "--check" in argv:
        stale = [
            n for n, b in files.items() if not (BAD / n).exists() or (BAD / n).read_bytes() != b
        ]
        print("corpus up to date" if not stale else "differs: " + ", ".join(stale))
        return 1 if stale else 0
    BAD.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (BAD / name).write_bytes(data)
    total = sum(len(b) for b in files.values())
    print(f"wrote {len(files)} files, {total / 1024:.0f} KB, to {BAD}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
