"""Find bright reflections (glare) that wash out part of a photo.

A lamp or window mirrored in glossy paper or a screen lifts everything under it, ink included,
until the camera clips it to white: digits there are gone before any cleaning can help. What
can be seen is the clipped patch itself, and the reader then warns that digits may be missing.
"""

from __future__ import annotations

import cv2
import numpy as np

from core import limits


def glare_spots(rgb: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Boxes (x, y, w, h, in `rgb`'s pixels) of clipped-white patches inside the frame of the RGB
    (or grey) uint8 image. A photo that is mostly white (an overexposed page, a scan, a drawing
    on a white canvas) has no spots: glare is a patch brighter than the paper around it."""
    f = limits.GLARE_SHRINK
    h, w = rgb.shape[:2]
    # (Bilinear, not area, shrinking: a tenth of the time, and a clipped patch is flat anyway.)
    small = cv2.resize(rgb, (max(1, w // f), max(1, h // f)), interpolation=cv2.INTER_LINEAR)
    if small.ndim == 3:  # clipped white: the least of the three channels
        small = cv2.min(cv2.min(small[..., 0], small[..., 1]), small[..., 2])
    blown = (small >= limits.GLARE_LEVEL).astype(np.uint8)
    share = float(blown.mean())
    if not share or share > limits.GLARE_MAX_SHARE:
        return []
    _, _, stats, _ = cv2.connectedComponentsWithStats(blown, connectivity=8)
    sh, sw = blown.shape
    spots = []
    for x, y, bw, bh, area in stats[1:].tolist():
        if area < limits.GLARE_MIN_AREA * blown.size:
            continue
        if x == 0 or y == 0 or x + bw == sw or y + bh == sh:
            continue  # runs out of the frame: a window or lamp in view, or the page's lit edge
        spots.append((x * f, y * f, bw * f, bh * f))
    return spots
