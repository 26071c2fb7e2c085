"""Turn the bytes of a photo into a working image, once, refusing what we should not decode.

Checks happen before the pixels are decoded: file size, format, pixel count (decompression
bombs), tiny images. The EXIF orientation is applied, big JPEGs are decoded at a reduced size
(Pillow's draft mode), and odd colour modes (CMYK, 16-bit, alpha, palette) become plain RGB. An
animated image is read from its first frame, with a warning.
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass

import numpy as np
from PIL import Image, UnidentifiedImageError

from core import limits
from core.errors import ImageError

# EXIF orientation (tag 274) -> the transpose that shows the photo upright, as in
# PIL.ImageOps.exif_transpose; orientations 5-8 swap width and height.
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS_SIDES = {5, 6, 7, 8}


@dataclass(frozen=True)
class Photo:
    """A decoded photo: `image` is the RGB uint8 working image (longer side at most
    limits.WORK_SIDE), `size` the (width, height) of the original after EXIF rotation."""

    image: np.ndarray
    size: tuple[int, int]
    warnings: tuple[str, ...] = ()

    @property
    def scale(self) -> float:
        """Original pixels per working pixel."""
        return self.size[0] / self.image.shape[1]


def decode(image: bytes | str | os.PathLike | Photo) -> Photo:
    """Decode `image` (bytes, or a path) into a Photo; raise ImageError if it cannot be read."""
    if isinstance(image, Photo):
        return image
    data = _read_bytes(image)
    if not data:
        raise ImageError("The file is empty.")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            im = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
        raise ImageError("The image has too many pixels to read safely.") from e
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as e:
        raise ImageError("This file is not an image I can read (send a JPEG or PNG photo).") from e
    with im:
        return _decode_open(im)


def _read_bytes(image: bytes | str | os.PathLike) -> bytes:
    if isinstance(image, bytes | bytearray | memoryview):
        data = bytes(image)
    elif isinstance(image, str | os.PathLike):
        try:
            if os.path.getsize(image) > limits.MAX_FILE_BYTES:
                raise ImageError(_too_big_file())
            with open(image, "rb") as f:
                data = f.read(limits.MAX_FILE_BYTES + 1)
        except OSError as e:
            raise ImageError(f"Cannot open the file: {e.strerror or e}.") from e
    else:
        raise TypeError(f"expected bytes or a path, got {type(image).__name__}")
    if len(data) > limits.MAX_FILE_BYTES:
        raise ImageError(_too_big_file())
    return data


def _too_big_file() -> str:
    return f"The file is larger than {limits.MAX_FILE_BYTES // 2**20} MB."


def _decode_open(im: Image.Image) -> Photo:
    if im.format not in limits.FORMATS:
        raise ImageError(f"{im.format or 'This'} images are not supported; send a JPEG or PNG.")
    w, h = im.size
    if w * h > limits.MAX_PIXELS:
        raise ImageError(
            f"The image is too large ({w}x{h} pixels); "
            f"the limit is {limits.MAX_PIXELS // 1_000_000} megapixels."
        )
    cap = limits.MAX_PIXELS_WEBP if im.format == "WEBP" else limits.MAX_PIXELS_LOSSLESS
    if im.format not in ("JPEG", "MPO") and w * h > cap:
        raise ImageError(
            f"This {im.format} image is too large ({w}x{h} pixels) to read at full size; "
            "send it as a photo (JPEG) or below "
            f"{cap // 1_000_000} megapixels."
        )
    if min(w, h) < limits.MIN_SIDE:
        raise ImageError(f"The image is too small ({w}x{h} pixels) to hold readable digits.")

    notes = []
    try:
        if getattr(im, "is_animated", False):
            notes.append("This is an animated image; only its first frame was read.")
            im.seek(0)
        orientation = _orientation(im)
        size = (h, w) if orientation in _SWAPS_SIDES else (w, h)
        if im.format in ("JPEG", "MPO"):
            # Decode at 1/2, 1/4 or 1/8 scale straight from the DCT when the photo is big.
            scale = limits.WORK_SIDE / max(w, h)
            if scale < 1:
                im.draft("RGB", (max(1, int(w * scale)), max(1, int(h * scale))))
        im.load()
        factor = max(im.size) // limits.WORK_SIDE
        if factor >= 2:  # shrink before converting: conversions copy the whole image
            try:
                im = im.reduce(factor)
            except ValueError:
                pass  # a mode reduce() does not handle; _to_rgb and thumbnail below cope
        rgb = _to_rgb(im)
    except MemoryError as e:
        raise ImageError("The image is too large to read.") from e
    except Exception as e:  # Pillow's decoders raise many kinds on damaged data
        raise ImageError("The image file is damaged or incomplete; please send it again.") from e

    if orientation in _TRANSPOSE:
        rgb = rgb.transpose(_TRANSPOSE[orientation])
    if max(rgb.size) > limits.WORK_SIDE:
        rgb.thumbnail((limits.WORK_SIDE, limits.WORK_SIDE), Image.Resampling.BILINEAR)
    return Photo(np.asarray(rgb, dtype=np.uint8), size, tuple(notes))


def _orientation(im: Image.Image) -> int:
    try:
        return int(im.getexif().get(0x0112, 1) or 1)
    except Exception:  # a broken EXIF block must not stop us reading the pixels
        return 1


def _to_rgb(im: Image.Image) -> Image.Image:
    """Plain 8-bit RGB; transparency is laid on white paper, 16-bit and float scaled to 8 bits."""
    mode = im.mode
    if mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        a = np.asarray(im)
        if max(a.shape) > 2 * limits.WORK_SIDE:  # shrink first: float copies are large
            step = max(a.shape) // limits.WORK_SIDE
            a = a[::step, ::step]
        a = a.astype(np.float32)
        top = 65535.0 if mode.startswith("I;16") or a.max() > 255 else 255.0
        if mode == "F":
            top = max(float(a.max()), 1e-9)
        a = np.clip(a / top * 255.0 + 0.5, 0, 255).astype(np.uint8)
        return Image.fromarray(a, "L").convert("RGB")
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
        mode = im.mode
    has_alpha = mode in ("RGBA", "LA", "PA", "RGBa", "La")
    if has_alpha or (mode in ("L", "RGB") and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    return im.convert("RGB")
