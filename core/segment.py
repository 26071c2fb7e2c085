"""Find the digit-sized marks on a cleaned page and put them in reading order.

Connected ink is the starting point. Pieces of one broken digit (a 5 with a detached bar, a
faint pencil stroke with a gap) are merged when they lie above one another; specks, paper edges,
dashes and stains are set aside; the marks are grouped into text lines and, within a line, into
groups separated by wide gaps. Splitting touching digits needs the classifier and lives in
core.read; `cut` here gives the candidate cuts.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import cv2
import numpy as np

from core import limits
from core.clean import Page, components, connected_to, mark_strength

CUT_OFF = (
    "A digit at the edge of the photo seems cut off and was not read: the number may be "
    "incomplete. Take the photo again with some space around the digits."
)


@dataclass
class Mark:
    """One candidate digit: a box (x, y, w, h) in the page frame and the 0/1 mask inside it."""

    x: int
    y: int
    w: int
    h: int
    mask: np.ndarray
    line: int = 0
    group: int = 0
    faint: bool = False  # found only below the page's ink thresholds (see _faint_digits)

    @property
    def box(self) -> tuple[int, int, int, int]:
        return self.x, self.y, self.w, self.h


@dataclass
class Layout:
    """The marks of a page in reading order plus what was set aside and why."""

    marks: list[Mark]
    digit_height: float = 0.0
    ignored: int = 0  # dashes, stains, giant marks: things that are clearly not digits
    notes: list[str] = field(default_factory=list)
    bars: list[Mark] = field(default_factory=list)  # short dashes among the ignored (core.read)


def segment(page: Page) -> Layout:
    """Find the candidate digits on `page`, in reading order (lines top to bottom)."""
    stats, first = components(page.mask, nested=True)
    notes = []
    if len(stats) > limits.MAX_MARKS:
        order = np.argsort(-stats[:, 4])[: limits.MAX_MARKS]
        stats_idx = np.sort(order)
        notes.append("The photo is very busy; only its largest marks were read.")
    else:
        stats_idx = np.arange(len(stats))
    if not len(stats_idx):
        return Layout([], notes=notes)
    s, first = stats[stats_idx], first[stats_idx]
    x, y, w, h, area = (s[:, i].astype(np.int64) for i in range(5))
    page_h, page_w = page.mask.shape

    # Paper edges: marks running along most of the frame, thin or cut by it (a digit filling
    # the frame may be as wide); and marks cut off by the frame.
    thin = (w < 0.15 * h) | (h < 0.15 * w)
    at_frame = _at_frame_edge(page, x, y, w, h)
    edge = ((h > 0.85 * page_h) | (w > 0.85 * page_w)) & (thin | at_frame)
    edge |= at_frame & (((h < 0.5 * page_h) & (w < 0.5 * page_w)) | thin)
    frames = _frames(page.mask, x, y, w, h, first)
    if len(frames):  # read again without them, and without the writing they touch
        boxes = [(first[i], x[i], y[i], w[i], h[i]) for i in frames]
        return segment(replace(page, mask=_unframed(page.mask, boxes)))
    # Marks over half the frame tall are digits only when alone (one digit filling the frame);
    # marks cut by the frame (the desk, a shadow) do not show the size of the digits.
    small = ~edge & ~at_frame & (h < 0.5 * page_h)
    if (h[small] >= limits.MIN_DIGIT_PX).sum() < 3:
        small = ~edge
    height = _digit_height(h[small], w[small], area[small])
    if height == 0:
        return Layout([], notes=notes)

    if _cut_off(x, y, w, h, at_frame, ~edge & ~at_frame, height, page_h):
        notes.append(CUT_OFF)
    tiny = area < max(4.0, (0.12 * height) ** 2)
    keep = ~edge & ~tiny
    groups = _merge_pieces(x[keep], y[keep], w[keep], h[keep], height)
    kept_first = first[keep]

    marks, ignored, bars = [], 0, []
    for members in groups:
        gx0 = int(x[keep][members].min())
        gy0 = int(y[keep][members].min())
        gx1 = int((x[keep][members] + w[keep][members]).max())
        gy1 = int((y[keep][members] + h[keep][members]).max())
        mw, mh = gx1 - gx0, gy1 - gy0
        if max(mw, mh) < limits.MIN_DIGIT_PX or (
            mw < limits.SPECK_FRACTION * height and mh < limits.SPECK_FRACTION * height
        ):
            continue  # speck
        crop = _own(page.mask, gx0, gy0, gx1, gy1, kept_first[members])
        if _not_a_digit(crop, mw, mh, height, page.ink[gy0:gy1, gx0:gx1]):
            ignored += 1
            if mh < mw < limits.BAR_WIDTH * height and mh < limits.DASH_HEIGHT * height:
                bars.append(Mark(gx0, gy0, mw, mh, crop))  # maybe a digit's detached bar
            continue
        marks.append(Mark(gx0, gy0, mw, mh, crop))
    strength = [mark_strength(page.ink[m.y : m.y + m.h, m.x : m.x + m.w], m.mask) for m in marks]
    usual = float(np.median(strength)) if marks else 0.0
    shading = _shading(marks, strength, usual, height)
    ignored += len(shading)
    marks = _regrow(page, marks, strength, usual, height, shading)
    marks = _reading_order([m for i, m in enumerate(marks) if i not in shading])
    faint = _faint_digits(page, marks, height)
    if faint:
        marks = _reading_order(marks + faint)
    marks = _join_side_pieces(marks, height)
    return Layout(marks, height, ignored, notes, bars)


def _cut_off(x, y, w, h, at_frame, whole, height: float, page_h: int) -> bool:
    """Whether a digit seems cut off by the edge of the photo: a mark the frame cuts, shaped
    like a digit, in line with and near whole digits (the last digit of a meter reading). Such a
    mark is not read, and the user should know the number may be incomplete."""
    size = (h >= limits.CUT_HEIGHT[0] * height) & (h <= limits.CUT_HEIGHT[1] * height)
    cut = at_frame & size & (w >= 0.3 * h) & (w <= 1.2 * h) & (h < 0.5 * page_h)
    digits = np.flatnonzero(whole & (h >= 0.6 * height) & (h <= limits.CUT_HEIGHT[1] * height))
    for i in np.flatnonzero(cut):
        overlap = np.minimum(y[digits] + h[digits], y[i] + h[i]) - np.maximum(y[digits], y[i])
        apart = np.maximum(x[digits] - (x[i] + w[i]), x[i] - (x[digits] + w[digits]))
        if ((overlap > 0.5 * h[i]) & (apart < limits.CUT_NEAR * height)).any():
            return True
    return False


def _shading(marks: list[Mark], strength: list[float], usual: float, height: float) -> set[int]:
    """Which marks are shading, not writing: taller than a digit and much weaker than the
    page's digits (`usual`), as the soft corner of a hard shadow is after flattening."""
    if len(marks) < 3:
        return set()
    return {
        i
        for i, (m, s) in enumerate(zip(marks, strength, strict=True))
        if s < limits.SHADE_INK * usual and m.h > limits.SHADE_SIZE * height
    }


def _regrow(
    page: Page,
    marks: list[Mark],
    strength: list[float],
    usual: float,
    height: float,
    shading: set[int],
) -> list[Mark]:
    """Marks with the faint parts of their digits added back. The page's grow threshold follows
    its usual ink, so a digit written more lightly than the rest loses its faintest strokes
    (the top of a 4, the bar of a 7) and reads as another digit: a weak mark is followed again,
    round its box, down to the threshold its own strength sets, but not into other marks. A
    mark far shorter than the digits may be what is left of one whose thin stroke was fainter
    than the rest of it (a 6 without its stem reads as a 0): it is followed down to the paper's
    noise, as far as a digit's height reaches. Marks in `shading` are left as they are: they
    are set aside anyway."""
    page_h, page_w = page.ink.shape
    near = max(2, round(limits.REGROW_REACH * height))
    known = None
    out = []
    for i, (m, s) in enumerate(zip(marks, strength, strict=True)):
        short = m.h < limits.REGROW_SHORT * height
        if (s >= limits.SHADE_INK * usual and not short) or i in shading:
            out.append(m)
            continue
        if known is None:
            known = _paint(marks, 0, 0, page_w, page_h)
        reach = max(near, round(limits.FAINT_MAX_HEIGHT * height - m.h)) if short else near
        x0, y0 = max(0, m.x - reach), max(0, m.y - reach)
        x1, y1 = min(page_w, m.x + m.w + reach), min(page_h, m.y + m.h + reach)
        own = _paint([m], x0, y0, x1, y1)
        others = cv2.dilate(known[y0:y1, x0:x1] - own, np.ones((5, 5), np.uint8))
        grow = page.faint[1] if short else max(page.faint[1], limits.GROW_OF_STRENGTH * s)
        weak = ((page.ink[y0:y1, x0:x1] > grow) & (others == 0)) | (own > 0)
        left, top, crop = _trim(connected_to(weak.view(np.uint8), own > 0))
        bottom, right = top + crop.shape[0], left + crop.shape[1]
        # Reaching the end of the window means it ran into a shadow's edge or a line.
        ends = (left == 0 < x0) or (top == 0 < y0)
        ends |= (right == x1 - x0 and x1 < page_w) or (bottom == y1 - y0 and y1 < page_h)
        more = max(bottom - top - m.h, right - left - m.w)
        tall = bottom - top > limits.FAINT_MAX_HEIGHT * height
        if ends or tall or more < limits.REGROW_MIN * height:
            out.append(m)
            continue
        out.append(Mark(x0 + left, y0 + top, crop.shape[1], crop.shape[0], crop.copy()))
    return out


def _faint_digits(page: Page, marks: list[Mark], height: float) -> list[Mark]:
    """Digits written far more lightly than the rest of the page. The page's ink thresholds
    follow its strongest ink (so that a shadow's edge beside dark marker is not ink), which
    leaves such a digit a speck or nothing. They are looked for again along each line of
    writing at thresholds set by the paper's noise alone, and kept when digit-sized, in line,
    and clear of the digits already found (core.read keeps them only if the model is sure)."""
    seed, grow = page.faint
    page_h, page_w = page.ink.shape
    found: list[Mark] = []
    lines: dict[int, list[Mark]] = {}
    for m in marks:
        lines.setdefault(m.line, []).append(m)
    pad = limits.FAINT_REACH * height
    known_page = _paint(marks, 0, 0, page_w, page_h)
    for line in lines.values():
        top = float(np.median([m.y for m in line]))
        bottom = float(np.median([m.y + m.h for m in line]))
        y0, y1 = max(0, int(top - 0.3 * height)), min(page_h, int(bottom + 0.3 * height) + 1)
        x0 = max(0, int(min(m.x for m in line) - pad))
        x1 = min(page_w, int(max(m.x + m.w for m in line) + pad) + 1)
        ink = page.ink[y0:y1, x0:x1]
        known = cv2.dilate(known_page[y0:y1, x0:x1], np.ones((5, 5), np.uint8))
        # (Labels without stats, and outlines for the few new marks: ~6x faster than OpenCV's
        # connected components with stats over the whole band.)
        grown = (ink > grow).astype(np.uint8)
        _, labels = cv2.connectedComponents(grown, connectivity=8)
        bh, bw = ink.shape
        across = np.intersect1d(labels[0], labels[-1])
        along = np.intersect1d(labels[:, bw // 5], labels[:, bw - 1 - bw // 5])
        if across.max(initial=0) or along.max(initial=0):
            continue  # printed lines or a shadow's edge show at these thresholds: no telling
        # A faint stroke breaks where it is faintest: pieces this close are one mark.
        reach = max(1, round(limits.FAINT_JOIN * height))
        near = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1, 2 * reach + 1))
        n, labels = cv2.connectedComponents(cv2.dilate(grown, near), connectivity=8)
        new = np.zeros(n, np.uint8)
        new[labels[ink > seed]] = 1
        new[labels[known > 0]] = 0
        new[0] = 0
        groups = np.take(new, labels)
        stats, _ = components(groups & grown)
        ws, hs = stats[:, 2], stats[:, 3]
        bars = (hs >= 0.4 * height) & (ws < limits.FAINT_BAR * hs)
        bars |= (ws >= 0.4 * height) & (hs < limits.FAINT_BAR * ws)
        if bars.sum() > 1:
            continue  # straight bars in numbers: pieces of a grid too faint to be removed
        for (x, y, w, h, _), (fx, fy) in zip(*components(groups), strict=True):
            box = (slice(y, y + h), slice(x, x + w))
            own = (labels[box] == labels[fy, fx]) & (grown[box] > 0)
            dx, dy, own = _trim(own)
            x, y = x + dx, y + dy
            h, w = own.shape
            if x == 0 or y == 0 or x + w == bw or y + h == bh:
                continue  # runs out of the search band: a shadow's edge, a line, a drawing
            if not (limits.FAINT_MIN_HEIGHT * height <= h <= limits.FAINT_MAX_HEIGHT * height):
                continue
            if w > limits.FAINT_MAX_HEIGHT * height:
                continue
            gy0, gx0 = y0 + y, x0 + x
            if min(bottom, gy0 + h) - max(top, gy0) < 0.6 * h:
                continue  # not in line with the digits beside it
            if any(min(gx0 + w, m.x + m.w) - max(gx0, m.x) > 0 for m in line):
                continue
            crop = own.astype(np.uint8)
            if _not_a_digit(crop, w, h, height, ink[y : y + h, x : x + w]):
                continue
            if _at_frame_edge(page, *(np.array([v]) for v in (gx0, gy0, w, h)))[0]:
                continue
            found.append(Mark(gx0, gy0, w, h, crop, faint=True))
    return found


def _trim(mask: np.ndarray) -> tuple[int, int, np.ndarray]:
    """`mask` cut to the box round its pixels, with that box's left and top in `mask`."""
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    return int(cols[0]), int(rows[0]), mask[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _paint(marks: list[Mark], x0: int, y0: int, x1: int, y1: int) -> np.ndarray:
    """The 0/1 masks of `marks` drawn on the page window [y0:y1, x0:x1]."""
    out = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for m in marks:
        ya, yb = max(m.y, y0), min(m.y + m.h, y1)
        xa, xb = max(m.x, x0), min(m.x + m.w, x1)
        if ya < yb and xa < xb:
            box = out[ya - y0 : yb - y0, xa - x0 : xb - x0]
            np.maximum(box, m.mask[ya - m.y : yb - m.y, xa - m.x : xb - m.x], out=box)
    return out


def _at_frame_edge(page: Page, x, y, w, h) -> np.ndarray:
    """Which boxes touch the edge of the photo (mapped back through the page rotation)."""
    m = limits.EDGE_MARGIN
    corners = np.stack(
        [
            np.stack([x, y], 1),
            np.stack([x + w, y], 1),
            np.stack([x, y + h], 1),
            np.stack([x + w, y + h], 1),
        ],
        axis=1,
    ).astype(np.float32)  # (n, 4, 2)
    pts = corners @ page.to_image[:, :2].T + page.to_image[:, 2]
    iw, ih = page.image_size
    out = (pts[..., 0] < m) | (pts[..., 1] < m) | (pts[..., 0] > iw - m) | (pts[..., 1] > ih - m)
    return out.any(axis=1)


def _own(mask: np.ndarray, x0: int, y0: int, x1: int, y1: int, first: np.ndarray) -> np.ndarray:
    """The 0/1 uint8 map, over the box x0..x1, y0..y1 of `mask`, of the marks whose first pixels
    (x, y) are `first`, the box holding them whole. Labelling the box alone gives the same marks
    as labelling the page, in a fraction of the time."""
    seeds = np.zeros((y1 - y0, x1 - x0), bool)
    seeds[first[:, 1] - y0, first[:, 0] - x0] = True
    return connected_to(mask[y0:y1, x0:x1], seeds)


def _frames(mask: np.ndarray, x, y, w, h, first: np.ndarray) -> list[int]:
    """Which marks hold others in their holes: the edge of a sheet lying on a darker desk, a box
    printed or drawn around the digits. A digit holds no digit-sized mark in its loops."""
    area = w * h
    inner = np.flatnonzero(np.maximum(w, h) >= limits.MIN_DIGIT_PX)
    if not len(inner):
        return []
    outer = np.flatnonzero(area >= limits.FRAME_AREA * area[inner].min())
    x1, y1 = x + w, y + h
    i, j = outer[:, None], inner[None, :]
    inside = (
        (x[j] > x[i])
        & (y[j] > y[i])
        & (x1[j] < x1[i])
        & (y1[j] < y1[i])
        & (area[j] * limits.FRAME_AREA <= area[i])
    )
    frames = []
    for row, i in zip(inside, outer, strict=True):
        if not row.any():
            continue
        crop = _own(mask, x[i], y[i], x1[i], y1[i], first[i : i + 1])
        found, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        holes = [cv2.boundingRect(c) for c, h in zip(found, hierarchy[0], strict=True) if h[3] >= 0]
        if any(
            hx <= x[j] - x[i]
            and hy <= y[j] - y[i]
            and x1[j] - x[i] <= hx + hw
            and y1[j] - y[i] <= hy + hh
            for j in inner[row]
            for hx, hy, hw, hh in holes
        ):
            frames.append(int(i))
    return frames


def _unframed(mask: np.ndarray, boxes: list[tuple]) -> np.ndarray:
    """`mask` without the frames (first pixel, x, y, w, h): each frame's ink goes except what lies
    well inside its outline, farther in than its line is wide (the digits that touch it from
    within, bar their ends), and but for straight lines right across it (a row of printed
    boxes' sides)."""
    out = mask.copy()
    for first, x, y, w, h in boxes:
        crop = _own(mask, x, y, x + w, y + h, first[None])
        outline, _ = cv2.findContours(crop, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        filled = cv2.drawContours(np.zeros_like(crop), outline, -1, 1, -1)
        # The line's width where it is widest (a sheet's edge is a soft, uneven band).
        depth = cv2.distanceTransform(crop, cv2.DIST_L2, 3)
        width = round(2 * float(np.percentile(depth[crop > 0], 90)))
        k = 2 * width + 3
        disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (k, k))
        # Outside the box is outside the frame. (By default erode takes it as inside, which kept
        # the flat top and bottom of a ring, and a ringed 1 touching them read as a 7.)
        inside = cv2.erode(filled, disc, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        lines = np.zeros(crop.shape, np.uint8)
        lines[crop.sum(axis=1) >= limits.FRAME_LINE * w, :] = 1
        lines[:, crop.sum(axis=0) >= limits.FRAME_LINE * h] = 1
        lines = cv2.dilate(lines, np.ones((2 * width + 1, 2 * width + 1), np.uint8))
        out[y : y + h, x : x + w][(crop > 0) & ((inside == 0) | (lines > 0))] = 0
    return out


def _digit_height(h: np.ndarray, w: np.ndarray, area: np.ndarray) -> float:
    """Typical height of the digits: the median over marks that are not specks."""
    big = (np.maximum(h, w) >= limits.MIN_DIGIT_PX) & (h >= limits.MIN_DIGIT_PX * 0.6)
    big &= area >= limits.MIN_FILL * w * h
    if not big.any():
        return 0.0
    hb = h[big]
    top = np.percentile(hb, 90)
    return float(np.median(hb[hb >= 0.45 * top]))


def _merge_pieces(x, y, w, h, height: float) -> list[np.ndarray]:
    """Group pieces of one digit: overlapping in x, close in y, not too tall together."""
    n = len(x)
    parent = np.arange(n)

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    order = np.argsort(x)
    xs, ws = x[order], w[order]
    x1 = x + w
    y1 = y + h
    max_w = int(ws.max()) if n else 0
    # Marks too big to be digits (the edge of a shadow, a drawing) are never a digit's piece:
    # their boxes would take in every digit they surround.
    giant = (h > limits.BLOB_GIANT * height) | (w > limits.BLOB_GIANT * 1.5 * height)
    for a_pos in range(n):
        a = order[a_pos]
        if giant[a]:
            continue
        # Only pieces starting within reach of a's right edge can overlap it.
        end = np.searchsorted(xs, x1[a], side="left")
        start = np.searchsorted(xs, x[a] - max_w, side="left")
        for b in order[start:end]:
            if b <= a or giant[b]:
                continue
            overlap = min(x1[a], x1[b]) - max(x[a], x[b])
            if overlap < limits.MERGE_OVERLAP * min(w[a], w[b]):
                continue
            gap = max(y[a], y[b]) - min(y1[a], y1[b])
            if gap > limits.MERGE_GAP * height:
                continue
            top, bottom = min(y[a], y[b]), max(y1[a], y1[b])
            if gap >= 0 and bottom - top > limits.MERGE_MAX_HEIGHT * height:
                continue  # (boxes overlapping both ways are one mark whatever the height)
            if gap > 0.05 * height and min(h[a], h[b]) > 0.75 * height:
                continue  # two whole digits stacked in a column, not one broken digit
            ra, rb = find(a), find(b)
            if ra != rb:
                parent[rb] = ra
    roots = np.array([find(i) for i in range(n)])
    groups = [np.flatnonzero(roots == r) for r in np.unique(roots)]
    return _attach_fragments(groups, x, y, x1, y1, height)


def _attach_fragments(groups, x, y, x1, y1, height: float) -> list[np.ndarray]:
    """Give each small fragment (a detached bar, a piece of a broken stroke) to the nearest
    digit-sized group when it lies right next to it."""
    if not groups:
        return groups
    box = np.array([[x[g].min(), y[g].min(), x1[g].max(), y1[g].max()] for g in groups])
    gw, gh = box[:, 2] - box[:, 0], box[:, 3] - box[:, 1]
    small = (np.maximum(gw, gh) < limits.FRAGMENT * height) | (
        (gh < limits.FRAGMENT * height) & (gw < height)
    )
    big = np.flatnonzero(~small)
    if not len(big) or small.all() or not small.any():
        return groups
    owner = {}
    for i in np.flatnonzero(small):
        bx = box[big]
        dx = np.maximum(0, np.maximum(bx[:, 0] - box[i, 2], box[i, 0] - bx[:, 2]))
        dy = np.maximum(0, np.maximum(bx[:, 1] - box[i, 3], box[i, 1] - bx[:, 3]))
        dist = np.maximum(dx, dy)
        width = np.maximum(bx[:, 2], box[i, 2]) - np.minimum(bx[:, 0], box[i, 0])
        tall = np.maximum(bx[:, 3], box[i, 3]) - np.minimum(bx[:, 1], box[i, 1])
        overlap = np.minimum(bx[:, 2], box[i, 2]) - np.maximum(bx[:, 0], box[i, 0])
        # A piece beside a digit rather than over or under it is a narrow digit of its own,
        # unless it is dot-sized: then it is the loop of a chalk 9 or the end of a broken stroke.
        beside = (overlap < 0.3 * gw[i]) & (max(gw[i], gh[i]) > limits.DOT * height)
        ok = (dist <= limits.FRAGMENT_GAP * height) & (width <= 1.2 * height) & ~beside
        ok &= tall <= limits.MERGE_MAX_HEIGHT * height
        if ok.any():
            owner[i] = int(big[np.flatnonzero(ok)[np.argmin(dist[ok])]])
    merged = {int(b): [groups[b]] for b in big}
    out = []
    for i in range(len(groups)):
        if i in owner:
            merged[owner[i]].append(groups[i])
        elif small[i]:
            out.append(groups[i])
    out.extend(np.concatenate(parts) for parts in merged.values())
    return out


def _join_side_pieces(marks: list[Mark], height: float) -> list[Mark]:
    """Join a digit broken by a vertical gap (a pen that skipped across it): a piece shorter than
    a whole digit, and narrow, right next to its neighbour on the line, when the two together
    are no wider than one digit."""
    out: list[Mark] = []
    for m in marks:
        prev = out[-1] if out else None
        if prev is not None and prev.line == m.line:
            gap = m.x - (prev.x + prev.w)
            x0, x1 = min(prev.x, m.x), max(prev.x + prev.w, m.x + m.w)
            piece = any(
                k.w < limits.PIECE_WIDTH * height and k.h < limits.PIECE_HEIGHT * height
                for k in (prev, m)
            )
            if piece and gap <= limits.PIECE_GAP * height and x1 - x0 <= height:
                out[-1] = union(prev, m)
                continue
        out.append(m)
    return out


def union(a: Mark, b: Mark) -> Mark:
    """One mark made of two: the box around both, and both masks."""
    x0, y0 = min(a.x, b.x), min(a.y, b.y)
    x1, y1 = max(a.x + a.w, b.x + b.w), max(a.y + a.h, b.y + b.h)
    return Mark(x0, y0, x1 - x0, y1 - y0, _paint([a, b], x0, y0, x1, y1), a.line, a.group)


def _not_a_digit(crop: np.ndarray, w: int, h: int, height: float, ink: np.ndarray) -> bool:
    """Dashes, underlines, solid stains and giant marks. `ink` is the page's ink over the box:
    a small blurred digit fills its mask like a stain, but its loops stay lighter."""
    if h > limits.BLOB_GIANT * height or w > limits.BLOB_GIANT * 1.5 * height:
        return True
    if (w > 2 * h and h < limits.DASH_HEIGHT * height) or (w > 1.5 * h and h < 0.6 * height):
        return True  # dash, underline, piece of a printed line
    if h < limits.DOT * height and w < limits.DOT * height:
        return True  # dot, comma
    if not (0.6 < w / h < 1.7 and min(w, h) > 0.3 * height and crop.mean() > 0.7):
        return False  # a stain is roundish and fills its box; a slanted "1" does not
    strength = mark_strength(ink, crop)
    crop = ((ink > limits.STAIN_CORE * strength) & (crop > 0)).astype(np.uint8)
    contours, hierarchy = cv2.findContours(crop, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    if (hierarchy[0][:, 3] >= 0).any():
        return False  # it has a hole: a loop of a digit, however thick
    # Areas of the outlines, not pixel counts: a small mark has as many pixels on its outline as
    # inside it, and counting them would make every small digit look solid.
    area = sum(cv2.contourArea(c) for c in contours)
    hull = cv2.contourArea(cv2.convexHull(np.concatenate(contours)))
    return area > limits.BLOB_SOLIDITY * max(hull, 1.0)


def _reading_order(marks: list[Mark]) -> list[Mark]:
    """Assign line numbers (top to bottom) and sort each line left to right."""
    lines: list[list[Mark]] = []
    for m in sorted(marks, key=lambda m: m.y + m.h / 2):
        best, best_share = None, 0.0
        for line in lines:
            ref = sorted(line, key=lambda k: abs((k.x + k.w / 2) - (m.x + m.w / 2)))[:3]
            top = float(np.median([k.y for k in ref]))
            bottom = float(np.median([k.y + k.h for k in ref]))
            share = (min(bottom, m.y + m.h) - max(top, m.y)) / max(1.0, min(m.h, bottom - top))
            if share > best_share:
                best, best_share = line, share
        if best is not None and best_share >= limits.LINE_OVERLAP:
            best.append(m)
        else:
            lines.append([m])
    out = []
    for i, line in enumerate(lines):
        line.sort(key=lambda k: k.x)
        for m in line:
            m.line = i
        out.extend(line)
    return out


def assign_groups(marks: list[Mark]) -> None:
    """Number the groups on each line: a new group starts after a gap wider than usual."""
    by_line: dict[int, list[Mark]] = {}
    for m in marks:
        by_line.setdefault(m.line, []).append(m)
    gaps_of = {}
    for n, line in by_line.items():
        line.sort(key=lambda k: k.x)
        gaps_of[n] = [b.x - (a.x + a.w) for a, b in zip(line, line[1:], strict=False)]
    page_usual = _lower_median(sum(gaps_of.values(), []))
    for n, line in by_line.items():
        height = float(np.median([k.h for k in line]))
        gaps = gaps_of[n]
        if gaps:
            # A line with one gap has no usual gap of its own to tell a space by ("3 5"):
            # the page's, if smaller, stands for it.
            usual = _lower_median(gaps) if len(gaps) > 1 else min(gaps[0], page_usual)
            limit = max(limits.GROUP_GAP * height, min(2.5 * usual, limits.GROUP_GAP_MAX * height))
        group = 0
        line[0].group = 0
        for gap, m in zip(gaps, line[1:], strict=False):
            if gap > limit:
                group += 1
            m.group = group


def _lower_median(values: list[int]) -> float:
    """The lower median: with two gaps, one of them a space, the median is their mean."""
    return float(np.sort(values)[(len(values) - 1) // 2]) if values else 0.0


def cut_candidates(mask: np.ndarray, parts: int = 2, count: int = 3) -> list[int]:
    """Columns where a wide mark of `parts` touching digits may be cut in two: the thinnest
    columns around where the first digit should end."""
    h, w = mask.shape
    profile = mask.sum(axis=0).astype(np.float32)
    profile = np.convolve(profile, np.ones(3, np.float32) / 3, mode="same")
    lo, hi = int(w / parts * 0.55), int(w / parts * 1.45) if parts > 2 else int(w * 0.72)
    lo, hi = max(2, lo), min(w - 2, hi)
    if hi <= lo:
        return []
    cols = lo + np.argsort(profile[lo:hi], kind="stable")
    chosen: list[int] = []
    for c in cols:
        if all(abs(int(c) - k) > 0.08 * w for k in chosen):
            chosen.append(int(c))
        if len(chosen) == count:
            break
    return chosen
