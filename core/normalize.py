"""Turn one segmented digit into the 28x28 MNIST form.

This is the single normalization used both when training the model and when reading photos, so
the model sees at run time exactly what it saw in training. It follows how MNIST itself was made
(LeCun et al.): crop the digit, scale it so the longer side fits a 20x20 box keeping the aspect
ratio, and centre it in 28x28 by its centre of mass. One step is added for photos: a digit written
with a thin pen and photographed large becomes a faint hairline when shrunk to 20 px, so stroke
width is first brought into the range MNIST strokes have at that scale. MNIST digits themselves
already lie in that range and pass through nearly unchanged.
"""

from __future__ import annotations

import cv2
import numpy as np

SIZE = 28  # MNIST image side
BOX = 20  # MNIST fits the digit's longer side into this many pixels
CENTRE = 14.0  # where MNIST digits have their centre of mass (row and column, measured)
INK_FLOOR = 0.1  # fraction of the peak below which a pixel is background when cropping
# Stroke width in pixels at the 20-px scale, measured on MNIST test digits: 5th percentile 1.5,
# median 2.3, 99th percentile 4.3. Strokes outside MIN..MAX are brought to TARGET.
STROKE_MIN = 1.5
STROKE_MAX = 4.5
STROKE_TARGET = 2.3


def to_mnist(ink: np.ndarray) -> np.ndarray:
    """Return the 28x28 float32 MNIST image (0 = background, 1 = ink) of one digit.

    `ink` is a 2-D array where 0 is background and larger values are more ink: uint8 (0-255) or
    float (0-1). An empty input gives an all-zero image.
    """
    x = _as_float(ink)
    peak = float(x.max()) if x.size else 0.0
    if peak <= 0:
        return np.zeros((SIZE, SIZE), np.float32)
    x = _crop(x / peak)
    x = _crop(_fit_stroke(x, BOX / max(x.shape)))
    h, w = x.shape
    scale = BOX / max(h, w)
    new_w, new_h = max(1, round(w * scale)), max(1, round(h * scale))
    method = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    small = cv2.resize(x, (new_w, new_h), interpolation=method)
    small = np.clip(small / max(float(small.max()), 1e-6), 0, 1)

    total = float(small.sum())
    cy = float((small.sum(axis=1) * np.arange(new_h)).sum()) / total
    cx = float((small.sum(axis=0) * np.arange(new_w)).sum()) / total
    shift = np.float32([[1, 0, CENTRE - cx], [0, 1, CENTRE - cy]])
    out = cv2.warpAffine(small, shift, (SIZE, SIZE), flags=cv2.INTER_LINEAR, borderValue=0)
    return np.clip(out, 0, 1).astype(np.float32)


def to_mnist_batch(inks: list[np.ndarray] | np.ndarray) -> np.ndarray:
    """`to_mnist` over many digits: an (n, 28, 28) float32 array."""
    out = np.zeros((len(inks), SIZE, SIZE), np.float32)
    for i, ink in enumerate(inks):
        out[i] = to_mnist(ink)
    return out


def stroke_width(mask: np.ndarray) -> float:
    """Mean stroke width in pixels of a binary mask: twice its area over its perimeter."""
    mask = mask.astype(np.uint8)
    area = float(mask.sum())
    if area == 0:
        return 0.0
    contours, _ = cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_NONE)
    perimeter = sum(cv2.arcLength(c, True) for c in contours)
    return 2 * area / max(perimeter, 1.0)


def _crop(x: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero((x > INK_FLOOR).any(axis=1))
    cols = np.flatnonzero((x > INK_FLOOR).any(axis=0))
    return x[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _as_float(ink: np.ndarray) -> np.ndarray:
    ink = np.asarray(ink)
    if ink.ndim != 2:
        raise ValueError(f"expected a 2-D ink map, got shape {ink.shape}")
    if ink.dtype == np.uint8:
        return ink.astype(np.float32) / 255.0
    return np.clip(ink.astype(np.float32), 0, None)


def _fit_stroke(x: np.ndarray, scale: float) -> np.ndarray:
    """Thicken or thin strokes that, once scaled by `scale`, lie outside STROKE_MIN..STROKE_MAX."""
    width = stroke_width(x > 0.5) * scale
    if width <= 0 or STROKE_MIN <= width <= STROKE_MAX:
        return x
    radius = round(abs(STROKE_TARGET - width) / scale / 2)
    if radius < 1:
        return x
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    if width < STROKE_MIN:
        pad = radius + 1
        padded = cv2.copyMakeBorder(x, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
        return cv2.dilate(padded, kernel)
    thinned = cv2.erode(x, kernel)
    return thinned if (thinned > 0.5).any() else x
