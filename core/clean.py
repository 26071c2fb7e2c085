"""Turn a photo of a page into a clean ink map: straight, flat, free of ruled and grid lines.

Works for dark ink on light paper and for light chalk on a dark board (the polarity is detected).
Uneven light, shadows and vignetting are removed by dividing by a large-scale estimate of the
background; the page is then rotated so its lines of writing are horizontal, and long straight
printed lines (ruled or squared paper) are taken out without cutting the strokes that cross them.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from core import limits
from core.normalize import stroke_width


@dataclass(frozen=True)
class Page:
    """A cleaned page. `ink` is float32 0..1 (0 paper, 1 strongest ink), `mask` the uint8 0/1 map
    of ink pixels, both in the straightened frame; `to_image` is the 2x3 affine map from that
    frame back to the working image; `angle` the rotation removed, in degrees."""

    ink: np.ndarray
    mask: np.ndarray
    to_image: np.ndarray
    image_size: tuple[int, int] = (0, 0)
    angle: float = 0.0
    light_on_dark: bool = False
    lines_removed: int = 0
    faint: tuple[float, float] = (1.0, 1.0)  # thresholds (seed, grow) set by the noise alone


def clean(rgb: np.ndarray) -> Page:
    """Clean the RGB (or grey) uint8 working image of a photo into a Page."""
    gray = rgb if rgb.ndim == 2 else cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # A 3x3 median removes salt-and-pepper specks (sensor noise, dust) and keeps strokes two or
    # more pixels wide, which is every stroke of a digit we can read.
    gray = cv2.medianBlur(np.ascontiguousarray(gray), 3).astype(np.float32)
    light_on_dark = _light_on_dark(gray)
    ink, levels, mask = _ink(255.0 - gray if light_on_dark else gray)
    if not _has_marks(mask):
        # Nothing found: the polarity vote may have been swayed by a few tiny marks.
        other = _ink(gray if light_on_dark else 255.0 - gray)
        if _has_marks(other[2], 2 * limits.MIN_DIGIT_PX):
            light_on_dark = not light_on_dark
            ink, levels, mask = other
    seed, grow = levels.seed, levels.grow

    identity = np.float32([[1, 0, 0], [0, 1, 0]])
    angle, shear, printed = _skew_angle(mask, (ink > grow).astype(np.uint8))
    angle = angle if abs(angle) >= limits.MIN_SKEW_DEG else 0.0
    shear = shear if abs(shear) >= limits.MIN_SKEW_DEG else 0.0
    to_image = identity
    if angle or shear:
        ink, to_image = _rotate(ink, angle, shear)
    # Rules are found among all faint ink, before hysteresis, so that a faint printed line is
    # not grown into from the digits it touches.
    weak = (ink > grow).astype(np.uint8)
    weak, ink, removed = _remove_rules(weak, ink, printed)
    if removed or angle or shear:
        mask = _hysteresis(ink, seed, grow, weak)
    mask = _peel_shading(mask, ink, levels.strength)
    size = (gray.shape[1], gray.shape[0])
    return Page(ink, mask, to_image, size, angle, light_on_dark, removed, levels.faint)


@dataclass(frozen=True)
class Levels:
    """Ink levels of a page: the hysteresis thresholds (`seed`, `grow`), the thresholds set by the
    paper's noise alone (`faint`: seed, grow), and the typical `strength` of its writing."""

    seed: float
    grow: float
    faint: tuple[float, float]
    strength: float


def _ink(gray: np.ndarray) -> tuple[np.ndarray, Levels, np.ndarray]:
    """Ink map, its levels and its mask, for dark ink on lighter paper."""
    ink = _flatten(gray, limits.BG_KERNEL_FRACTION)
    levels = _levels(ink)
    mask = _hysteresis(ink, levels.seed, levels.grow)
    big = _big_kernel_if_hollow(gray, ink, mask, limits.BG_KERNEL_FRACTION)
    if big is not None:
        ink = big
        levels = _levels(ink)
        mask = _hysteresis(ink, levels.seed, levels.grow)
    return ink, levels, mask


def components(mask: np.ndarray, nested: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The 8-connected marks of a 0/1 uint8 mask: (x, y, w, h, area) per mark, and the first
    pixel (x, y) of each. Marks inside the holes of others are left out unless `nested`. (OpenCV's
    connectedComponentsWithStats takes ~7 ms on a 1280x960 page; outer contours ~0.2 ms.)"""
    contours = _outer_contours(mask, nested)
    stats = np.zeros((len(contours), 5), np.int64)
    first = np.zeros((len(contours), 2), np.int64)
    for i, c in enumerate(contours):
        stats[i, :4] = cv2.boundingRect(c)
        # Pixel count of the filled outline: polygon area plus the half pixel outside it.
        stats[i, 4] = int(cv2.contourArea(c) + cv2.arcLength(c, True) / 2 + 1)
        first[i] = c[0, 0]
    return stats, first


def _has_marks(mask: np.ndarray, height: int = limits.MIN_DIGIT_PX) -> bool:
    stats, _ = components(mask)
    return bool((stats[:, 3] >= height).any())


def _median(a: np.ndarray) -> float:
    """np.median of an array, exactly, in a tenth of the time on a page's ~10^5 samples (one
    partition, then the largest value below it)."""
    flat = a.ravel()
    k = flat.size // 2
    p = np.partition(flat, k)
    if flat.size % 2:
        return float(p[k])
    return float(np.mean(np.array([p[:k].max(), p[k]], dtype=flat.dtype)))


def _odd(n: float) -> int:
    n = max(3, int(n))
    return n if n % 2 else n + 1


def _shrink(gray: np.ndarray, factor: int) -> np.ndarray:
    h, w = gray.shape
    return cv2.resize(
        gray, (max(1, w // factor), max(1, h // factor)), interpolation=cv2.INTER_AREA
    )


def _share(fraction: float) -> float:
    """Threshold on a 0/255 mask shrunk with INTER_AREA (which rounds) for "more than
    `fraction` of the pixels were set"."""
    return fraction * 255 + 1


def _light_on_dark(gray: np.ndarray) -> bool:
    """Whether the writing is lighter than its surface (chalk on a board).

    Two votes must agree. First, pixels far brighter than the median of the frame outnumber
    those far darker (chalk stands far above a board that fills most of the frame). Second,
    reading the page as dark ink finds clearly more ink than reading it as light ink: taken the
    wrong way round, the background estimate follows the strokes, and the gaps between them turn
    into large areas of "ink". The second vote stops a shadow over most of a page of paper
    from passing the first. Dark ink, the common case, wins ties."""
    small = _shrink(gray, 4)
    diff = small - _median(small)
    n_bright = int((diff > limits.POLARITY_CONTRAST).sum())
    n_dark = int((diff < -limits.POLARITY_CONTRAST).sum())
    if n_bright <= limits.POLARITY_RATIO * max(n_dark, limits.POLARITY_MIN_BRIGHT):
        return False
    size = _odd(limits.BG_KERNEL_FRACTION * max(small.shape))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    areas = []
    for g in (small, 255.0 - small):
        padded = cv2.copyMakeBorder(g, size, size, size, size, cv2.BORDER_REPLICATE)
        paper = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[size:-size, size:-size]
        ink = 1.0 - g / np.maximum(paper, 8.0)
        areas.append(int((ink > limits.POLARITY_INK).sum()))
    dark, light = areas
    if dark > limits.POLARITY_INK_RATIO * light:
        return True
    # A few digits on a clean board leave few gaps to count. The board is then told from a
    # shadowed page by two things: nothing on it is far darker than its median, and its bright
    # pixels are thin strokes (the light-ink reading finds most of them), not a lit stretch of
    # paper.
    return n_dark <= limits.POLARITY_MIN_BRIGHT and light >= limits.POLARITY_STROKES * n_bright


def _flatten(gray: np.ndarray, fraction: float) -> np.ndarray:
    """Ink strength 0..1: how much darker each pixel is than the paper around it. The paper is
    the page closed (a max-then-min filter) with a kernel `fraction` of the longer side, which
    removes strokes thinner than that and keeps shadows wider than that."""
    h, w = gray.shape
    small = _shrink(gray, limits.BG_SHRINK)
    size = _odd(fraction * max(h, w) / limits.BG_SHRINK)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    # Replicated borders: the frame edge must not look brighter than a vignetted corner.
    padded = cv2.copyMakeBorder(small, size, size, size, size, cv2.BORDER_REPLICATE)
    paper = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[size:-size, size:-size]
    paper = cv2.GaussianBlur(paper, (0, 0), 1.5)
    paper = cv2.resize(paper, (w, h), interpolation=cv2.INTER_LINEAR)
    np.maximum(paper, gray, out=paper)
    cv2.max(paper, 8.0, dst=paper)  # (np.maximum with a scalar takes 3x as long)
    ink = 1.0 - gray / paper
    ink = cv2.GaussianBlur(ink, (3, 3), 0)
    return np.clip(ink, 0, 1, out=ink)


def _big_kernel_if_hollow(
    gray: np.ndarray, ink: np.ndarray, mask: np.ndarray, fraction: float
) -> np.ndarray | None:
    """The ink map flattened with the big kernel if the largest mark looks like the outline of
    a stroke too thick for the closing kernel `fraction`, else None. Such a mark's own strokes
    are about half the kernel wide; or, when blur has frayed the outline into pieces, narrower,
    but the big kernel then finds far stronger ink under it (the stroke's body)."""
    stats, _ = components(mask)
    if not len(stats):
        return None
    x, y, w, h, _ = stats[int(np.argmax(stats[:, 4]))]
    kernel_px = fraction * max(mask.shape)
    if max(w, h) < 2 * kernel_px:
        return None
    own = mask[y : y + h, x : x + w]
    width = stroke_width(own) / kernel_px
    if width < limits.HOLLOW_FRAYED:
        return None
    big = _flatten(gray, limits.BG_KERNEL_BIG)
    if width > limits.HOLLOW_STROKE:
        return big
    inside = own > 0
    before = np.percentile(ink[y : y + h, x : x + w][inside], 90)
    after = np.percentile(big[y : y + h, x : x + w][inside], 90)
    return big if after >= limits.HOLLOW_GAIN * before else None


def _levels(ink: np.ndarray) -> Levels:
    """Seed and grow thresholds from the page's noise level and typical ink strength; the seed
    and grow thresholds set by the noise alone (the faintest ink that can be told from paper);
    and that strength."""
    sample = ink[::4, ::4]
    med = _median(sample)
    sigma = 1.4826 * _median(np.abs(sample - med)) + 1e-4
    base_seed = max(med + limits.NOISE_SEED * sigma, limits.INK_FLOOR * 2)
    base_grow = min(base_seed, max(med + limits.NOISE_GROW * sigma, limits.INK_FLOOR))
    marks = sample[sample > base_seed]
    strength = float(np.percentile(marks, 90)) if marks.size >= 20 else 2 * base_seed
    seed = max(base_seed, limits.SEED_OF_STRENGTH * strength)
    grow = max(base_grow, limits.GROW_OF_STRENGTH * strength)
    return Levels(seed, min(grow, seed), (base_seed, base_grow), strength)


def _peel_shading(mask: np.ndarray, ink: np.ndarray, strength: float) -> np.ndarray:
    """The mask without the weak part of large marks that are mostly weak ink. After flattening,
    the dark side of a hard shadow's edge is a faint band that hysteresis grows into from every
    digit crossing it, making the digits and the band one mark; the pieces of such a mark about
    as strong as writing are kept, and come apart from the band. A mark whose strong ink spans
    it (one large soft digit) is left whole."""
    stats, first = components(mask)
    span = np.maximum(stats[:, 2], stats[:, 3])
    big = np.flatnonzero(span > limits.SHADE_SPAN * max(mask.shape))
    if not len(big):
        return mask
    mask = mask.copy()
    for i in big:
        x, y, w, h, _ = (int(v) for v in stats[i])
        win, win_ink = mask[y : y + h, x : x + w], ink[y : y + h, x : x + w]
        _, labels = cv2.connectedComponents(win, connectivity=8)
        own = labels == labels[first[i, 1] - y, first[i, 0] - x]
        if _median(win_ink[own]) >= limits.PEEL_WEAK * strength:
            continue
        strong = (own & (win_ink >= limits.PEEL * strength)).view(np.uint8)
        n, parts, part_stats, _ = cv2.connectedComponentsWithStats(strong, connectivity=8)
        if n > 1 and part_stats[1:, 2:4].max() > limits.PEEL_WHOLE * max(w, h):
            continue  # its strong ink spans it: writing, not a band with writing grown in
        win[own] = 0
        for k in range(1, n):
            part = parts == k
            if mark_strength(win_ink, part) >= limits.PEEL_KEEP * strength:
                win[part] = 1  # (the band's darkest stretches stay out)
    return mask


def mark_strength(ink: np.ndarray, mask: np.ndarray) -> float:
    """How strong a mark's ink is: its 95th percentile under the mask (the stroke cores, not the
    anti-aliased edges)."""
    return float(np.percentile(ink[mask > 0], 95))


def _hysteresis(ink: np.ndarray, seed: float, grow: float, weak: np.ndarray | None = None):
    """Pixels above `grow` (or of `weak`) connected to at least one pixel above `seed`."""
    if weak is None:
        weak = (ink > grow).astype(np.uint8)
    return connected_to(weak, ink > seed)


def connected_to(weak: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The pixels of the 0/1 uint8 mask `weak` (8-connected) joined to a pixel of `seeds`."""
    n, labels = cv2.connectedComponents(weak, connectivity=8)
    keep = np.zeros(n, np.uint8)
    keep[labels[seeds]] = 1
    keep[0] = 0
    if keep[1:].all():  # (a clean page: every mark has a seed)
        return weak.copy()
    return np.take(keep, labels)  # half the time of keep[labels] on a 1280x960 page


def _skew_angle(mask: np.ndarray, weak: np.ndarray) -> tuple[float, float, bool]:
    """Rotation (degrees) that makes the lines of writing horizontal, and the shear (degrees)
    that then makes vertical printed lines vertical (perspective tilts them apart): the angles
    whose row and column profiles of the ink are sharpest (projection profiles, on a shrunken
    mask). Also whether the page has printed lines."""
    factor = max(1, round(max(mask.shape) / 640))
    small = _shrink(mask * np.uint8(255), factor)  # uint8: 4x faster than float32
    inked = small > _share(0.5)
    found = cv2.findNonZero(inked.view(np.uint8))  # np.nonzero: 4x the time
    if found is None or len(found) < 20:
        return 0.0, 0.0, False
    xs, ys = found.reshape(-1, 2).T
    boxes = _outlines(inked)
    sw, sh = boxes[:, 2], boxes[:, 3]
    page_w, page_h = small.shape[1], small.shape[0]
    printed = strong = _printed(boxes, page_w, page_h)
    if not strong:
        # Faint rules have too few strong pixels to be kept whole in the mask: they are looked
        # for among all the faint ink too. They are not trusted with the angle, which a strip
        # of desk along the frame would then set.
        faint = _shrink(weak * np.uint8(255), factor)
        printed = _printed(_outlines(faint > _share(0.2)), page_w, page_h)
    heights = sh[(sh < 0.5 * page_h) & (sw < 0.5 * page_w)]  # not paper edges or grids
    if not strong:  # (with a grid, every digit may be joined to it: no marks left)
        if not len(heights):
            return 0.0, 0.0, printed
        # Digit-sized: not specks, measured against the taller marks but not the tallest (the
        # pieces of a shadow's outline).
        least = max(limits.MIN_DIGIT_PX / factor, 0.3 * np.percentile(heights, 90))
        tall = (heights >= least).sum()
        if tall < limits.MIN_SKEW_MARKS:
            return 0.0, 0.0, printed
    if len(ys) > 20000:
        pick = np.random.default_rng(0).choice(len(ys), 20000, replace=False)
        ys, xs = ys[pick], xs[pick]
    w = small[ys, xs] / 255.0
    xs = xs - small.shape[1] / 2
    ys = ys - small.shape[0] / 2

    def profile(values: np.ndarray) -> float:
        bins = np.round(values).astype(np.int64)
        return float((np.bincount(bins - bins.min(), weights=w) ** 2).sum())

    def rows(deg: float) -> float:
        t = np.deg2rad(deg)
        return profile(ys * np.cos(t) - xs * np.sin(t))

    # A row of printed boxes (a form) is too short to be taken for rules, but its straight lines
    # level the page better than the digits it holds, which sit anywhere in their boxes.
    if strong or (boxes[:, 5] >= limits.BOX_SIDES).any():
        angle = _best(rows, limits.MAX_SKEW_DEG, limits.MIN_SKEW_GAIN)
    else:
        angle = _neighbour_angle(boxes, factor, page_h)
    t = np.deg2rad(angle)
    rx, ry = xs * np.cos(t) + ys * np.sin(t), ys * np.cos(t) - xs * np.sin(t)

    def cols(deg: float) -> float:
        return profile(rx + ry * np.tan(np.deg2rad(deg)))

    return angle, _best(cols, limits.MAX_SHEAR_DEG, limits.MIN_SHEAR_GAIN), printed


def _outer_contours(mask: np.ndarray, nested: bool) -> list[np.ndarray]:
    """The outer outline of each mark of a 0/1 uint8 mask; with `nested`, also of the marks inside
    the holes of others."""
    if not nested:
        return list(cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)[0])
    found, parents = _two_levels(mask)
    return [found[i] for i in np.flatnonzero(parents < 0)]


def _two_levels(mask: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The outlines of a 0/1 uint8 mask's marks and of their holes, and the parent of each: -1
    for a mark (the top level of a two-level hierarchy holds every mark, also those inside the
    holes of others), the index of its mark for a hole."""
    found, hierarchy = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    return list(found), (hierarchy[0][:, 3] if found else np.zeros(0, np.int64))


def _outlines(mask: np.ndarray) -> np.ndarray:
    """Boxes (x, y, w, h) of all marks, also those inside the cells of a grid, how many holes
    each mark has, and how many of them are cells of a row of printed boxes (_cell): (n, 6)."""
    found, parents = _two_levels(mask.astype(np.uint8))
    holes = np.bincount(parents[parents >= 0], minlength=len(found))
    rects = {int(i): cv2.boundingRect(found[i]) for i in np.flatnonzero(parents < 0)}
    cells = np.zeros(len(found), np.int64)
    # Only marks with a row's number of holes: a grid's hundreds would cost milliseconds.
    row_like = (holes >= limits.BOX_SIDES) & (holes < limits.GRID_CELLS)
    for k in np.flatnonzero(parents >= 0):
        mark = int(parents[k])
        if row_like[mark]:
            cells[mark] += _cell(found[k], rects[mark][3])
    boxes = [[*rect, holes[i], cells[i]] for i, rect in rects.items()]
    return np.array(boxes, np.int64).reshape(-1, 6)


def _cell(hole: np.ndarray, height: int) -> bool:
    """Whether a hole's outline is a printed box's cell: a rectangle (at any small turn) nearly
    as tall as the mark round it, which a digit's loop is not (a 0's is an oval, an 8's half its
    height)."""
    (_, _), (w, h), _ = cv2.minAreaRect(hole)
    return (
        min(w, h) >= limits.CELL_HEIGHT * height
        and cv2.contourArea(hole) >= limits.CELL_FILL * w * h
    )


def _printed(boxes: np.ndarray, page_w: int, page_h: int) -> bool:
    """Whether marks (boxes and holes, from _outlines) include printed rules: a family of long
    thin lines (at up to ~24 deg, so their boxes are up to 0.45 as tall as wide), or a grid that
    spans the page as one mark, holding many cells (the outline of a hard shadow spans it too).
    One long line alone is more often the edge of the paper, at any angle."""
    sw, sh, holes = boxes[:, 2], boxes[:, 3], boxes[:, 4]
    long_lines = (sw > limits.LINE_MIN_FRACTION * page_w) & (sh < 0.45 * sw)
    grid = (sw > 0.6 * page_w) & (sh > 0.6 * page_h) & (holes >= limits.GRID_CELLS)
    return bool(long_lines.sum() >= 2 or grid.any())


def _neighbour_angle(boxes: np.ndarray, factor: int, page_h: int) -> float:
    """Skew of handwriting without printed lines: the median direction from each digit-sized
    mark (boxes: x, y, w, h) to its nearest neighbour, which lies on the same line (O'Gorman's
    docstrum)."""
    h = boxes[:, 3].astype(np.float64)
    tall = (h >= limits.MIN_DIGIT_PX / factor) & (h < 0.5 * page_h)
    if tall.sum() < limits.MIN_SKEW_MARKS:
        return 0.0
    med = float(np.median(h[tall]))
    ok = tall & (h > 0.5 * med) & (h < 2 * med)
    s = boxes[ok][: limits.MAX_SKEW_MARKS]
    if len(s) < limits.MIN_SKEW_MARKS:
        return 0.0
    c = s[:, :2] + s[:, 2:4] / 2.0
    d = np.hypot(*(c[:, None, :] - c[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    near = d.argmin(axis=1)
    v = c[near] - c
    angles = np.degrees(np.arctan2(v[:, 1], v[:, 0]))
    angles = (angles + 90) % 180 - 90  # a direction, not a vector
    angles = angles[np.abs(angles) <= limits.MAX_SKEW_DEG]
    if len(angles) < limits.MIN_SKEW_MARKS - 1:
        return 0.0
    return float(np.median(angles))


def _best(score, limit: float, gain: float) -> float:
    step = limits.SKEW_STEP_DEG
    coarse = np.arange(-limit, limit + step / 2, step)
    best = max(coarse, key=score)
    fine = np.arange(best - step, best + step + 1e-6, step / 4)
    best = max(fine, key=score)
    # A flat optimum means there is no line structure to follow.
    return float(best) if score(best) >= gain * score(0.0) else 0.0


def _rotate(ink: np.ndarray, angle: float, shear: float) -> tuple[np.ndarray, np.ndarray]:
    """Rotate by `angle` degrees, then shear by `shear` degrees, on a canvas big enough for the
    whole page; also return the affine map from the new frame back to the original."""
    h, w = ink.shape
    rot = np.vstack([cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0), [0, 0, 1]])
    sh = np.array([[1, np.tan(np.deg2rad(shear)), 0], [0, 1, 0], [0, 0, 1]])
    m = (sh @ rot)[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], np.float64) @ m.T
    lo, hi = corners.min(axis=0), corners.max(axis=0)
    m[:, 2] -= lo
    new_w, new_h = (int(v + 0.5) for v in hi - lo)
    out = cv2.warpAffine(ink, m, (new_w, new_h), flags=cv2.INTER_LINEAR, borderValue=0)
    return out, cv2.invertAffineTransform(m).astype(np.float32)


def _remove_rules(
    mask: np.ndarray, ink: np.ndarray, printed: bool = True
) -> tuple[np.ndarray, np.ndarray, int]:
    """Remove long thin horizontal and vertical lines; keep strokes that cross them. `printed`
    says the page was seen to have printed lines, to be looked for at every tilt."""
    h, w = mask.shape
    thick_max = max(2, limits.LINE_MAX_THICKNESS * max(h, w))
    found = 0
    on_rule = np.zeros(mask.shape, bool)
    bands = []
    rule_thickness = 0
    for axis in (0, 1):  # 0: horizontal lines, 1: vertical lines
        band, count, thickness = _rule_band(mask, axis, thick_max, printed)
        if count < 2:  # printed rules come in families; a lone long bar may be a digit's
            continue
        if axis == 0:
            rule_thickness = thickness
        # On the band, a pixel is rule unless it lies in a run across the rule longer than the
        # rule is thick: that is a stroke crossing it.
        across = np.ones((thickness + 5, 1) if axis == 0 else (1, thickness + 5), np.uint8)
        crossing = cv2.morphologyEx(mask, cv2.MORPH_OPEN, across)
        on_rule |= (band > 0) & (mask > 0) & (crossing == 0)
        bands.append(band)
        found += count
    if not found:
        return mask, ink, 0
    if len(bands) == 2:  # where grid lines cross, each looks like a stroke crossing the other
        on_rule |= (bands[0] > 0) & (bands[1] > 0) & (mask > 0)
    # Ink clearly stronger than the printed line lying on it is writing (pen over a faint rule).
    line_ink = float(np.median(ink[on_rule])) if on_rule.any() else 1.0
    on_rule &= ink < 1.6 * line_ink
    if rule_thickness:
        on_rule |= _box_sides(mask, on_rule, rule_thickness)
    # The rules' blurred edges, too faint for the mask, go as well: faint digits are looked for
    # again below the mask's thresholds (core.segment), where they would be grid-cell outlines.
    edges = cv2.dilate(on_rule.view(np.uint8), np.ones((5, 5), np.uint8)).view(bool) & (mask == 0)
    mask = mask.copy()
    mask[on_rule] = 0
    ink = ink.copy()
    ink[on_rule | edges] = 0
    return mask, ink, found


def _box_sides(mask: np.ndarray, on_rule: np.ndarray, thickness: int) -> np.ndarray:
    """The short vertical lines that join two horizontal rules: the sides of a row of printed
    boxes (a form's box for each digit, a table's cells). Straight, as thin as the rules, running
    from one rule to the next, and evenly spaced along it. A 1 written as tall as the space
    between two rules is one such line, never a row of them."""
    rest = ((mask > 0) & ~on_rule).astype(np.uint8)
    stats, first = components(rest)
    reach = thickness + 2
    widest = limits.BOX_SIDE_WIDTH * thickness + 2
    sides = []
    for (x, y, w, h, _), (fx, fy) in zip(stats.tolist(), first.tolist(), strict=True):
        if w > limits.BOX_SIDE_LEAN * h + 2 * widest or h < 4 * min(w, widest):
            continue
        _, labels = cv2.connectedComponents(rest[y : y + h, x : x + w], connectivity=8)
        own = (labels == labels[fy - y, fx - x]).view(np.uint8)
        # Straight and thin along its own direction (the page may be turned a little), between
        # its ends: where it crosses a rule, what is left of the rule beside it may stay on.
        mid = own[h // 5 : h - h // 5]
        (centre, _), size, _ = cv2.minAreaRect(cv2.findNonZero(mid))
        thin, long = min(size), max(size)
        if thin > widest or long < 2 * thin or mid.sum() < limits.BOX_SIDE_FILL * thin * long:
            continue
        # A rule's crossing keeps the side's pixels on it: the rule runs on beside each end.
        cols = slice(max(0, x - reach), x + w + reach)
        top, bottom = (
            on_rule[max(0, y - reach) : y + reach, cols],
            on_rule[y + h - reach : y + h + reach, cols],
        )
        if top.any() and bottom.any():
            sides.append((x, y, w, h, own, x + centre))
    out = np.zeros(mask.shape, bool)
    rows: list[list[tuple]] = []
    for side in sorted(sides, key=lambda side: side[1]):  # a row's sides share their ends
        row = rows[-1] if rows else []
        lean = limits.BOX_SIDE_LEAN * abs(side[5] - row[-1][5]) if row else 0.0
        if row and abs(side[1] - row[-1][1]) <= reach + lean and abs(side[3] - row[-1][3]) <= reach:
            row.append(side)
        else:
            rows.append([side])
    for row in rows:
        if len(row) < limits.BOX_SIDES:
            continue
        # Evenly spaced, but a side merged with the digit it touches leaves a double gap.
        gaps = np.diff(np.sort([side[5] for side in row]))
        steps = gaps / max(gaps.min(), 1.0)
        if np.abs(steps - np.round(steps)).max() > limits.BOX_SPACING:
            continue
        for x, y, w, h, own, _ in row:
            out[y : y + h, x : x + w] |= own > 0
    return out


def _rule_band(
    mask: np.ndarray, axis: int, thick_max: float, printed: bool
) -> tuple[np.ndarray, int, int]:
    """Long straight lines across `axis` of the mask (0: horizontal, 1: vertical), found on the
    mask squeezed 8x along them. Returns the band around them, how many, and their typical
    thickness in pixels.

    The page has been turned so its lines are level on the whole, but perspective fans them
    out: each line is looked for at its own small tilt (the squeezed mask is sheared by each
    of limits.RULE_TILTS_DEG in turn, and what is found is sheared back). A page not seen to
    have printed lines, with no level line either, is spared the other tilts."""
    # Below, the lines run along rows: h and w are the mask's as if turned so. The mask itself is
    # squeezed along its own axis and only the small result turned (half the time of turning it).
    h, w = mask.shape[::-1] if axis else mask.shape
    squeeze = 8
    size = (max(1, w // squeeze), h)
    # Cut to a whole number of squeezes: OpenCV's area resize is ~3x slower otherwise, and a
    # turned page is never a whole number of them.
    cut = mask[:, : size[0] * squeeze] if not axis else mask[: size[0] * squeeze]
    small = cv2.resize(
        cut * np.uint8(255), size[::-1] if axis else size, interpolation=cv2.INTER_AREA
    )
    small = (small > _share(0.25)).astype(np.uint8)  # a faint rule may be dashed in the mask
    small = np.ascontiguousarray(small.T) if axis else small
    sw = small.shape[1]
    tol = 5  # rows of tolerance for a line not quite level between the tilts tried
    length = max(3, int(limits.LINE_MIN_FRACTION * w / squeeze))
    slopes = squeeze * np.tan(np.deg2rad(limits.RULE_TILTS_DEG))  # rows per squeezed column
    pad = int(np.ceil(np.abs(slopes).max() * sw / 2)) + 1
    small = cv2.copyMakeBorder(small, pad, pad, 0, 0, cv2.BORDER_CONSTANT, value=0)
    runs = np.zeros_like(small)
    flags = cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP
    for slope in sorted(slopes, key=abs):
        if slope and not printed and not runs.any():
            break
        shear = np.float32([[1, 0, 0], [slope, 1, -slope * sw / 2]])
        level = cv2.warpAffine(small, shear, small.shape[::-1], flags=flags) if slope else small
        found = cv2.dilate(level, np.ones((tol, 1), np.uint8))
        found = cv2.morphologyEx(found, cv2.MORPH_OPEN, np.ones((1, length), np.uint8))
        if slope and found.any():
            shear[1, 0], shear[1, 2] = -slope, slope * sw / 2
            found = cv2.warpAffine(found, shear, small.shape[::-1], flags=flags)
        runs |= found
    runs = runs[pad : pad + h]
    if not runs.any():
        return np.zeros_like(mask), 0, 0
    contours, _ = cv2.findContours(runs, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    stats, _ = components(runs)
    thickness = stats[:, 4] / np.maximum(stats[:, 2], 1) - tol + 1
    ok = thickness <= thick_max
    if not ok.any():
        return np.zeros_like(mask), 0, 0
    band = np.zeros_like(runs)
    cv2.drawContours(band, [c for c, good in zip(contours, ok, strict=True) if good], -1, 1, -1)
    band &= runs  # filling an outline also fills its holes
    band = np.ascontiguousarray(band.T) if axis else band
    band = cv2.resize(band, mask.shape[::-1], interpolation=cv2.INTER_NEAREST)
    return band, int(ok.sum()), max(1, int(round(float(np.median(thickness[ok])))))
