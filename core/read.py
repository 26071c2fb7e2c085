"""Read the digits in a photo: decode, clean, segment, normalize, classify, into one Result."""

from __future__ import annotations

import os

import cv2
import numpy as np

from core import limits
from core.clean import Page, clean
from core.decode import Photo, decode
from core.glare import glare_spots
from core.metrics import no_digit, not_a_digit
from core.normalize import to_mnist
from core.result import Digit, Result
from core.segment import Mark, assign_groups, cut_candidates, segment, union

NO_DIGITS = (
    "No digits found. Photograph the digits from close up so they fill most of the picture, "
    "in even light, written in dark ink on plain paper."
)
GLARE = (
    "Glare (a bright reflection) washes out part of the photo: digits under it may be missing. "
    "Take the photo again without a light reflected in the paper."
)


def read(image: bytes | str | os.PathLike | Photo) -> Result:
    """Read the digits in `image` (bytes, a path, or a Photo from core.decode)."""
    photo = decode(image)
    page = clean(photo.image)
    layout = segment(page)
    warnings = list(photo.warnings) + layout.notes
    marks = layout.marks
    if len(marks) > limits.MAX_DIGITS * 2:
        marks = marks[: limits.MAX_DIGITS * 2]
    probs = _classify(page, marks)
    marks, probs = _join_broken(page, marks, probs, layout.digit_height)
    marks, probs, rejoined = _join_bars(page, marks, probs, layout.bars, layout.digit_height)
    marks, probs = _classify_and_split(page, marks, probs, layout.digit_height)

    ignored = layout.ignored - rejoined
    # A faint mark has not the strength of ink to show it is writing: its shape must show it.
    sure = [limits.FAINT_SURE if m.faint else limits.NOT_A_DIGIT_BELOW for m in marks]
    relative = _relative(probs)
    # Likelier a letter or symbol than any digit, and tall enough for the model to tell.
    other = no_digit(probs) & np.array([m.h >= limits.WORD_MIN_PX for m in marks], bool)
    keep = [i for i in range(len(marks)) if relative[i].max() >= sure[i] and not other[i]]
    ignored += len(marks) - len(keep)
    marks, probs = [marks[i] for i in keep], probs[keep] if keep else probs[:0]
    if len(marks) > limits.MAX_DIGITS:
        warnings.append(
            f"Found more than {limits.MAX_DIGITS} digits; only the first "
            f"{limits.MAX_DIGITS} were read."
        )
        marks, probs = marks[: limits.MAX_DIGITS], probs[: limits.MAX_DIGITS]
    probs = _reread_unsure(page, marks, probs)
    _renumber_lines(marks)
    assign_groups(marks)

    digits = tuple(_digit(m, p, page, photo) for m, p in zip(marks, probs, strict=True))
    if _glare_near(photo, digits, layout.digit_height):
        warnings.append(GLARE)
    if not digits:
        warnings.append(NO_DIGITS)
    if ignored:
        warnings.append(
            "Ignored 1 mark that does not look like a digit."
            if ignored == 1
            else f"Ignored {ignored} marks that do not look like digits."
        )
    unsure = sum(d.uncertain for d in digits)
    if unsure:
        warnings.append(
            f"{unsure} digit{_s(unsure)} {'is' if unsure == 1 else 'are'} uncertain "
            "(red or amber in the picture); please check."
        )
    return Result(digits, _text(marks, digits), tuple(warnings), photo.size)


def _glare_near(photo: Photo, digits: tuple[Digit, ...], height: float) -> bool:
    """Whether glare washes out part of the photo near the digits read (anywhere, if none)."""
    spots = glare_spots(photo.image)
    if not spots or not digits:
        return bool(spots)
    s = photo.scale
    reach = limits.GLARE_NEAR * height * s
    x0 = min(d.box[0] for d in digits) - reach
    y0 = min(d.box[1] for d in digits) - reach
    x1 = max(d.box[0] + d.box[2] for d in digits) + reach
    y1 = max(d.box[1] + d.box[3] for d in digits) + reach
    return any(
        x * s < x1 and (x + w) * s > x0 and y * s < y1 and (y + h) * s > y0 for x, y, w, h in spots
    )


def _s(n: int) -> str:
    return "" if n == 1 else "s"


def _probabilities(images: np.ndarray) -> np.ndarray:
    from core.classify import DIGITS, get_classifier  # loads LiteRT, and the model on first use

    if not len(images):
        return np.zeros((0, DIGITS), np.float32)
    return np.asarray(get_classifier().probabilities(images), dtype=np.float32)


def _relative(probs: np.ndarray) -> np.ndarray:
    """The digits' probabilities relative to each other (rows summing to 1), setting aside the
    model's doubt that the mark is a digit at all. The keep rule's floor (NOT_A_DIGIT_BELOW) is
    on these; that doubt has a rule of its own there. Joins and splits weigh the doubt itself:
    a piece that is no digit is not a sure half of a pair."""
    return probs / np.maximum(probs.sum(axis=-1, keepdims=True), 1e-12)


def _ink(page: Page, mark: Mark, pad: int = limits.INK_PAD) -> np.ndarray:
    """Soft ink map (0..1) of one mark: the page's ink under the mark's mask widened by `pad`
    pixels, so anti-aliased edges survive and neighbouring marks do not leak in."""
    h, w = page.ink.shape
    x0, y0 = max(0, mark.x - pad), max(0, mark.y - pad)
    x1, y1 = min(w, mark.x + mark.w + pad), min(h, mark.y + mark.h + pad)
    mask = np.zeros((y1 - y0, x1 - x0), np.uint8)
    mask[mark.y - y0 : mark.y - y0 + mark.h, mark.x - x0 : mark.x - x0 + mark.w] = mark.mask
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * pad + 1, 2 * pad + 1))
    near = cv2.dilate(mask, kernel)
    ink = page.ink[y0:y1, x0:x1] * near
    core = ink[mask > 0]
    strength = float(np.percentile(core, 75)) if core.size else 1.0
    return np.clip(ink / max(strength, 1e-3), 0, 1)


def _classify(page: Page, marks: list[Mark], pad: int = limits.INK_PAD) -> np.ndarray:
    return _probabilities(np.stack([to_mnist(_ink(page, m, pad)) for m in marks]) if marks else [])


def _reread_unsure(page: Page, marks: list[Mark], probs: np.ndarray) -> np.ndarray:
    """Probabilities with each uncertain digit's reading averaged with a second one taken with a
    wider margin of ink round its mask: faint stretches of its strokes that fell below the
    mask's threshold (the lighter half of a 3) are then seen too."""
    unsure = [i for i in range(len(marks)) if probs[i].max() < limits.UNCERTAIN_BELOW]
    if not unsure:
        return probs
    probs = probs.copy()
    wide = _classify(page, [marks[i] for i in unsure], limits.INK_PAD_UNSURE)
    probs[unsure] = (probs[unsure] + wide) / 2
    return probs


def _join_broken(
    page: Page, marks: list[Mark], probs: np.ndarray, height: float
) -> tuple[list[Mark], np.ndarray]:
    """Join neighbours on a line that read as one digit: a digit broken by a vertical gap (an
    open 4, a 0 whose sides do not meet) whose halves are too whole for core.segment to join."""
    pairs = []
    for i in range(len(marks) - 1):
        a, b = marks[i], marks[i + 1]
        gap = b.x - (a.x + a.w)
        width = max(a.x + a.w, b.x + b.w) - min(a.x, b.x)
        tall = max(a.y + a.h, b.y + b.h) - min(a.y, b.y)
        widest = limits.JOIN_PIECE_WIDTH if _unsure(probs, i) else limits.JOIN_WIDTH
        near = gap <= limits.JOIN_GAP * height and width <= widest * max(height, tall)
        if a.line == b.line and near:
            pairs.append(i)
    if not pairs:
        return marks, probs
    joined = [union(marks[i], marks[i + 1]) for i in pairs]
    jp = _classify(page, joined)
    usual_w = _usual_width(marks, height)
    take = {}  # first mark of a pair joined -> its index in `joined`; pairs may not overlap
    for k, i in enumerate(pairs):
        value, sure = int(jp[k].argmax()), float(jp[k].max())
        # A part that is already that digit, and as wide as one, has a separate neighbour (an
        # "8" with a "1" written close to it), not a missing half.
        whole = any(
            int(probs[j].argmax()) == value and marks[j].w >= limits.JOIN_WHOLE * usual_w
            for j in (i, i + 1)
        )
        # A piece the model cannot read, beside a digit that reads the same with it, is part of
        # that digit (a 5 whose tail came apart), even a wide one.
        surer = probs[i] if probs[i].max() >= probs[i + 1].max() else probs[i + 1]
        absorbed = _unsure(probs, i) and int(surer.argmax()) == value
        joins = absorbed or (value != 1 and not whole)
        if sure >= limits.JOIN_SURE and joins and i - 1 not in take:
            take[i] = k
    if not take:
        return marks, probs
    out_marks, out_probs, i = [], [], 0
    while i < len(marks):
        if i in take:
            out_marks.append(joined[take[i]])
            out_probs.append(jp[take[i]])
            i += 2
        else:
            out_marks.append(marks[i])
            out_probs.append(probs[i])
            i += 1
    return out_marks, np.stack(out_probs)


def _join_bars(
    page: Page, marks: list[Mark], probs: np.ndarray, bars: list[Mark], height: float
) -> tuple[list[Mark], np.ndarray, int]:
    """Marks with their detached bar joined, and how many bars were. A 5 whose bar was written
    apart, beside the top of its body rather than over it, reads as a 3 or a 1 alone, and the
    bar was set aside as a dash (core.segment keeps such short dashes in `Layout.bars`). A bar
    lying level with the top of a mark, from over its right half to just beyond it, is joined
    when the two read surely as another digit than the mark alone."""
    pairs = []
    for bar in bars:
        middle, best = bar.y + bar.h / 2, None
        for i, m in enumerate(marks):
            gap = bar.x - (m.x + m.w)
            level = m.y - 0.2 * height <= middle <= m.y + limits.BAR_TOP * m.h
            if level and bar.x >= m.x + 0.3 * m.w and gap <= limits.BAR_GAP * height:
                if best is None or gap < best[1]:
                    best = (i, gap)
        if best is not None:
            pairs.append((best[0], bar))
    if not pairs:
        return marks, probs, 0
    joined = [union(marks[i], bar) for i, bar in pairs]
    jp = _classify(page, joined)
    marks, probs, done = list(marks), probs.copy(), set()
    for k, (i, _) in enumerate(pairs):
        value = int(jp[k].argmax())
        if i in done or value in (1, int(probs[i].argmax())) or jp[k].max() < limits.JOIN_SURE:
            continue
        marks[i], probs[i] = joined[k], jp[k]
        done.add(i)
    return marks, probs, len(done)


def _unsure(probs: np.ndarray, i: int) -> bool:
    """Whether mark `i` or the one after it is a piece the model cannot read as a digit."""
    return min(probs[i].max(), probs[i + 1].max()) < limits.JOIN_UNSURE


def _classify_and_split(
    page: Page, marks: list[Mark], probs: np.ndarray, height: float
) -> tuple[list[Mark], np.ndarray]:
    """Try wide marks as touching digits and keep the better reading."""
    usual_w = _usual_width(marks, height)
    final: set[int] = set()  # ids of wide marks already tried and kept whole
    for _ in range(4):  # each round peels one digit off every wide mark
        wide = [
            i for i, m in enumerate(marks) if m.w > limits.WIDE_RATIO * m.h and id(m) not in final
        ]
        if not wide:
            break
        trials = []  # (mark index, left, right)
        for i in wide:
            m = marks[i]
            parts = max(2, round(m.w / (0.75 * m.h)))
            for c in cut_candidates(m.mask, parts):
                if _crossings(m.mask[:, c]) > 1 and m.w < limits.LOOP_CUT_RATIO * m.h:
                    continue  # the cut would open a loop (a 0, 6, 8 or 9), not part two digits
                left, right = _sub(m, 0, c), _sub(m, c, m.w)
                if left is not None and right is not None:
                    trials.append((i, left, right, parts))
        if not trials:
            break
        tp = _classify(page, [t[1] for t in trials] + [t[2] for t in trials])
        n = len(trials)
        best: dict[int, tuple[float, int]] = {}
        for k, (i, _, _, parts) in enumerate(trials):
            score = tp[k].max() if parts > 2 else min(tp[k].max(), tp[n + k].max())
            if i not in best or score > best[i][0]:
                best[i] = (float(score), k)
        replaced: dict[int, list[tuple[Mark, np.ndarray]]] = {}
        for i, (score, k) in best.items():
            m = marks[i]
            whole = float(probs[i].max())
            aspect = m.w / m.h
            two_wide = m.w >= limits.PAIR_WIDTH * usual_w and aspect >= 1.2
            sure = whole >= limits.KEEP_WHOLE_SURE or (whole >= limits.KEEP_WHOLE and not two_wide)
            _, left, right, parts = trials[k]
            # Two digits of a pair read at least as surely as the pair read as one: split, however
            # sure the one reading is (the model reads some pairs as one digit at 99.9 %).
            pair = parts == 2 and _pair(m, left, right, usual_w)
            if pair and max(_doubt(tp[k]), _doubt(tp[n + k])) <= _doubt(probs[i]):
                replaced[i] = [(left, tp[k]), (right, tp[n + k])]
                continue
            if sure and aspect < limits.KEEP_WHOLE_RATIO:
                continue
            if (two_wide and score >= max(0.5, whole - 0.05)) or score >= max(
                whole + limits.SPLIT_MIN_GAIN, 0.6
            ):
                replaced[i] = [(left, tp[k]), (right, tp[n + k])]
        if not replaced:
            break
        new_marks, new_probs = [], []
        for i, m in enumerate(marks):
            for sub, p in replaced.get(i, [(m, probs[i])]):
                new_marks.append(sub)
                new_probs.append(p)
        final.update(id(marks[i]) for i in wide if i not in replaced)
        marks, probs = new_marks, np.stack(new_probs)
    return marks, probs


def _pair(m: Mark, left: Mark, right: Mark, usual_w: float) -> bool:
    """Whether a cut of `m` into `left` and `right` looks like two touching digits: the mark is
    wider than one digit and both halves are about as tall as it. (A cut through one digit
    leaves a short piece: the tail of a 6, the bar of a 5, the arm of a 4.)"""
    return (
        m.w >= limits.PAIR_SPLIT_WIDTH * usual_w
        and min(left.h, right.h) >= limits.PAIR_HALF_HEIGHT * m.h
    )


def _doubt(p: np.ndarray) -> float:
    """How unsure a reading is: the probability of the other digits, summed, plus the model's
    doubt that the mark is a digit at all (precise where one minus the top probability is lost
    to rounding), but no less than limits.DOUBT_FLOOR."""
    others = float(np.sort(p.astype(np.float64))[:-1].sum())
    return max(others + float(not_a_digit(p)), limits.DOUBT_FLOOR)


def _usual_width(marks: list[Mark], height: float) -> float:
    """The median width of the digits on the page, leaving out 1s, fragments and the halves of
    broken digits (all narrower than about half their height)."""
    widths = [m.w for m in marks if m.h > 0.6 * height and m.w > 0.55 * m.h]
    return float(np.median(widths)) if widths else height


def _crossings(column: np.ndarray) -> int:
    """How many separate strokes a column of a mask crosses."""
    col = column.astype(np.int8)
    return int((np.diff(np.concatenate([[0], col, [0]])) == 1).sum())


def _sub(m: Mark, c0: int, c1: int) -> Mark | None:
    """The part of mark `m` between columns c0 and c1, trimmed to its ink."""
    part = m.mask[:, c0:c1]
    rows = np.flatnonzero(part.any(axis=1))
    cols = np.flatnonzero(part.any(axis=0))
    if len(rows) < max(3, 0.3 * m.h) or len(cols) < 2:
        return None
    part = part[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    x, y = m.x + c0 + int(cols[0]), m.y + int(rows[0])
    return Mark(x, y, part.shape[1], part.shape[0], np.ascontiguousarray(part), m.line)


def _renumber_lines(marks: list[Mark]) -> None:
    numbers = {n: i for i, n in enumerate(sorted({m.line for m in marks}))}
    for m in marks:
        m.line = numbers[m.line]


def _digit(mark: Mark, p: np.ndarray, page: Page, photo: Photo) -> Digit:
    top = np.argsort(-p)[:3]
    conf = float(p[top[0]])
    return Digit(
        value=int(top[0]),
        confidence=round(conf, 4),
        alternatives=tuple((int(k), round(float(p[k]), 4)) for k in top),
        box=_photo_box(mark, page, photo),
        line=mark.line,
        uncertain=conf < limits.UNCERTAIN_BELOW,
    )


def _photo_box(mark: Mark, page: Page, photo: Photo) -> tuple[int, int, int, int]:
    """The mark's box in original-photo coordinates (after EXIF rotation)."""
    if not np.array_equal(page.to_image, np.float32([[1, 0, 0], [0, 1, 0]])):
        pts = cv2.findNonZero(mark.mask)
        hull = cv2.convexHull(pts).reshape(-1, 2).astype(np.float32) + (mark.x, mark.y)
        hull = np.concatenate([hull, hull + 1])
        pts = hull @ page.to_image[:, :2].T + page.to_image[:, 2]
        x0, y0 = pts.min(axis=0)
        x1, y1 = pts.max(axis=0)
    else:
        x0, y0, x1, y1 = mark.x, mark.y, mark.x + mark.w, mark.y + mark.h
    s = photo.scale
    w, h = photo.size
    bx0, by0 = max(0, int(x0 * s)), max(0, int(y0 * s))
    bx1, by1 = min(w, int(np.ceil(x1 * s))), min(h, int(np.ceil(y1 * s)))
    return bx0, by0, max(1, bx1 - bx0), max(1, by1 - by0)


def _text(marks: list[Mark], digits: tuple[Digit, ...]) -> str:
    lines: list[str] = []
    last_line, last_group = None, None
    for m, d in zip(marks, digits, strict=True):
        if m.line != last_line:
            lines.append("")
        elif m.group != last_group:
            lines[-1] += " "
        lines[-1] += str(d.value)
        last_line, last_group = m.line, m.group
    return "\n".join(lines)
