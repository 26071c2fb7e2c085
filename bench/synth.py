"""Synthetic phone photos of handwritten digits, with a known answer, deterministic by seed.

Digits come from MNIST **test** images (never training digits) or, as an independent check, from
`pen_digit`, which draws each digit as pen strokes (cv2 polylines of random width and shape) and
shares nothing with MNIST. They are laid out in lines and groups on plain, ruled or squared paper,
or in chalk on a dark board, then the page is rotated and tilted, lit unevenly, shadowed,
blurred, made noisy and saved as a JPEG.

Levels:
- single: one digit, mild conditions, any size up to filling the frame.
- easy:   one or two lines of 3-8 digits, plain paper, rotation within +-3 deg, soft light.
- medium: up to three lines with groups; ruled or squared paper; +-10 deg; shadows, blur, noise;
          some chalk boards.
- hard:   up to four lines; +-20 deg and perspective; strong shadows and vignetting; pencil and
          chalk; small digits (down to 15 px); touching pairs; broken strokes; specks; paper edges.

`make(level, seed, digits, labels)` returns (jpeg_bytes, text); `scene(kind, ...)` does the same
for numbers on a sheet lying on a desk, ringed by hand, or in the printed boxes of a form.
"""

from __future__ import annotations

import io

import cv2
import numpy as np
from PIL import Image

LEVELS = ("single", "easy", "medium", "hard")
_LEVEL_ID = {name: i for i, name in enumerate(LEVELS)}


def make(
    level: str,
    seed: int,
    digits: np.ndarray,
    labels: np.ndarray,
    size: tuple[int, int] | None = None,
    source: str = "mnist",
    quality: int | None = None,
    info: dict | None = None,
) -> tuple[bytes, str]:
    """A JPEG photo at difficulty `level` and its text. `digits`/`labels` are MNIST test images;
    `source="pen"` draws the digits as pen strokes instead. `info`: as for `make_rgb`."""
    rgb, text, q = make_rgb(level, seed, digits, labels, size, source, info)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=quality or q)
    return buf.getvalue(), text


def make_rgb(level, seed, digits, labels, size=None, source="mnist", info=None):
    """As `make`, but the RGB array before JPEG coding, and the JPEG quality to use. A dict
    passed as `info` receives the conditions drawn (for error analysis by condition) and, for
    MNIST digits, the `indices` of the digits written, in reading order."""
    info = {} if info is None else info
    rng = np.random.default_rng([seed, _LEVEL_ID[level], 0 if source == "mnist" else 1])
    hard, medium = level == "hard", level == "medium"
    if size is None:
        size = (1280, 960) if rng.random() < 0.6 else (960, 1280)
    width, height = size

    # --- what to write -----------------------------------------------------------------------
    if level == "single":
        layout = [[1]]
    else:
        n_lines = int(rng.integers(1, {"easy": 3, "medium": 4, "hard": 5}[level]))
        layout = []
        for _ in range(n_lines):
            n_groups = 1 if level == "easy" else int(rng.integers(1, 4))
            top = 9 if level == "easy" else 7
            layout.append(
                [int(rng.integers(1 if n_groups > 1 else 2, top)) for _ in range(n_groups)]
            )
    count = sum(sum(line) for line in layout)
    if source == "pen":
        values = rng.integers(0, 10, count)
        glyphs = [pen_digit(int(v), rng) for v in values]
    else:
        idx = rng.integers(0, len(digits), count)
        info["indices"] = idx.tolist()
        values = labels[idx]
        glyphs = [_mnist_glyph(digits[i]) for i in idx]

    # --- page style ----------------------------------------------------------------------------
    chalk = (medium and rng.random() < 0.15) or (hard and rng.random() < 0.2)
    pencil = hard and not chalk and rng.random() < 0.25
    paper_kind = "plain"
    if (medium or hard) and not chalk:
        paper_kind = str(rng.choice(["plain", "ruled", "squared"], p=[0.4, 0.3, 0.3]))
    if chalk:
        paper = np.array([40, 60, 50]) + rng.integers(-15, 15, 3)
        ink_colour = np.array([225, 225, 220]) - rng.integers(0, 40)
        strength = rng.uniform(0.6, 0.95)
    else:
        paper = np.array([245, 243, 238]) + rng.integers(-20, 10, 3)
        pen_colours = [[25, 25, 30], [20, 40, 120], [15, 15, 15], [60, 60, 65]]
        ink_colour = np.array(pen_colours[int(rng.integers(0, 4))])
        strength = rng.uniform(0.4, 0.65) if pencil else rng.uniform(0.75, 1.0)
        if pencil:
            ink_colour = np.array([70, 70, 75])

    # --- digit size, spacing -----------------------------------------------------------------
    if level == "single":
        h_px = float(rng.uniform(0.1, 0.8) * min(width, height))
    elif hard and not pencil and rng.random() < 0.3:
        h_px = float(rng.uniform(16, 30))
    else:
        h_px = float(rng.uniform(35, 120) if level != "easy" else rng.uniform(50, 130))
    space = rng.uniform(0.15, 0.45)
    group_space = rng.uniform(1.4, 2.4)
    line_space = rng.uniform(1.6, 2.2)
    angle = {"single": 5, "easy": 3, "medium": 10, "hard": 20}[level] * rng.uniform(-1, 1)
    info.update(paper=paper_kind, chalk=bool(chalk), pencil=bool(pencil), angle=float(angle))
    info.update(touching=0, broken=0)

    # Lay out in digit-height units, then scale so the rotated block fits in 80 % of the frame.
    items, x_max = [], 0.0  # (glyph index, x, y, w) in units of h
    k = 0
    for li, line in enumerate(layout):
        x = 0.0
        for gi, n in enumerate(line):
            if gi:
                x += group_space - space
            for _ in range(n):
                g = glyphs[k]
                w = g.shape[1] / g.shape[0]
                gap = space
                if hard and rng.random() < 0.12:
                    gap = rng.uniform(-0.06, 0.02)  # touching neighbours
                    info["touching"] += 1
                items.append((k, x, li * line_space, w))
                x += w + gap
                k += 1
            x_max = max(x_max, x)
    block_w, block_h = x_max, (len(layout) - 1) * line_space + 1.0
    rad = np.deg2rad(abs(angle))
    rot_w = block_w * np.cos(rad) + block_h * np.sin(rad)
    rot_h = block_w * np.sin(rad) + block_h * np.cos(rad)
    h_px = min(h_px, 0.8 * width / rot_w, 0.8 * height / rot_h)
    info.update(height_px=float(h_px), digits=count, lines=len(layout))

    # --- draw the ink on a flat page ---------------------------------------------------------
    ink = np.zeros((height, width), np.float32)
    ox = width / 2 - block_w * h_px / 2 + rng.uniform(-0.05, 0.05) * width * 0.3
    oy = height / 2 - block_h * h_px / 2 + rng.uniform(-0.05, 0.05) * height * 0.3
    for k, x, y, _ in items:
        g = glyphs[k]
        gh = max(4, round(h_px * rng.uniform(0.92, 1.08)))
        gw = max(2, round(g.shape[1] * gh / g.shape[0]))
        small = cv2.resize(g, (gw, gh), interpolation=cv2.INTER_LINEAR)
        small = _pen_width(small, gh, rng, pencil or chalk)
        if hard and rng.random() < 0.15:
            small = _break(small, rng)
            info["broken"] += 1
        x0 = int(ox + x * h_px)
        y0 = int(oy + y * h_px + rng.uniform(-0.05, 0.05) * h_px)
        _paste_max(ink, small, x0, y0)
    lines = _rules(paper_kind, (height, width), h_px, line_space, oy, rng)
    if hard:
        _specks(ink, rng)

    # --- compose, rotate, tilt ---------------------------------------------------------------
    a = np.clip(ink * strength, 0, 1)[..., None]
    rule_colour = np.array([120, 150, 220]) if rng.random() < 0.7 else np.array([90, 90, 90])
    img = np.ones((height, width, 3), np.float32) * paper
    if lines is not None:
        la = lines[..., None] * rng.uniform(0.2, 0.45)  # printed rules are light
        img = img * (1 - la) + rule_colour * la
    img = img * (1 - a) + ink_colour * a
    if chalk:
        img += (
            rng.normal(0, 6, (height // 8 + 1, width // 8 + 1, 1))
            .repeat(8, 0)
            .repeat(8, 1)[:height, :width]
        )  # board smudges
    m = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
    img = cv2.warpAffine(img, m, (width, height), borderMode=cv2.BORDER_REFLECT)
    if level in ("medium", "hard"):
        img = _tilt(img, rng, 0.04 if hard else 0.02)
    if hard and not chalk and rng.random() < 0.25:
        img = _paper_edge(img, rng)

    # --- light and camera --------------------------------------------------------------------
    light = _lighting((height, width), rng, {"single": 0.15, "easy": 0.15}.get(level, 0.35))
    if (medium or hard) and rng.random() < 0.5:
        light *= _shadow((height, width), rng, 0.55 if hard else 0.75)
    img = img * light[..., None]
    blur = {"single": 0.8, "easy": 0.6, "medium": 1.2, "hard": 1.8}[level] * rng.random()
    if blur > 0.3:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    noise = {"single": 4, "easy": 3, "medium": 6, "hard": 10}[level] * rng.random()
    img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    quality = int({"single": 85, "easy": 90, "medium": 80, "hard": 65}[level] + rng.integers(0, 10))
    rgb = np.clip(img, 0, 255).astype(np.uint8)

    out_lines = []
    k = 0
    for line in layout:
        groups = []
        for n in line:
            groups.append("".join(str(int(v)) for v in values[k : k + n]))
            k += n
        out_lines.append(" ".join(groups))
    return rgb, "\n".join(out_lines), quality


def _mnist_glyph(d: np.ndarray) -> np.ndarray:
    x = d.astype(np.float32) / 255.0
    rows = np.flatnonzero(x.max(axis=1) > 0.1)
    cols = np.flatnonzero(x.max(axis=0) > 0.1)
    x = x[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]
    return np.pad(x, 1)


def _pen_width(g: np.ndarray, h: int, rng, soft: bool) -> np.ndarray:
    """Thin or thicken strokes so they look like a fine pen or a marker at this size."""
    want = rng.uniform(0.05, 0.16) * h  # stroke width as a fraction of the digit height
    have = 0.12 * h  # MNIST strokes scaled up
    r = int(round(abs(want - have) / 2))
    if r >= 1:
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))
        if want > have:
            g = cv2.dilate(np.pad(g, r), kernel)
        else:
            thin = cv2.erode(g, kernel)
            if thin.max() > 0.5:
                g = thin
    if soft:
        g = g * rng.uniform(0.6, 1.0, g.shape).astype(np.float32) ** 0.5
    return g


def _break(g: np.ndarray, rng) -> np.ndarray:
    """Erase a thin band across the digit: a pen that skipped."""
    g = g.copy()
    h, w = g.shape
    t = max(1, int(0.06 * h))
    if rng.random() < 0.5:
        y = int(rng.uniform(0.25, 0.75) * h)
        g[y : y + t, :] = 0
    else:
        x = int(rng.uniform(0.3, 0.7) * w)
        g[:, x : x + t] = 0
    return g


def _paste_max(canvas: np.ndarray, g: np.ndarray, x0: int, y0: int) -> None:
    h, w = g.shape
    H, W = canvas.shape
    cx0, cy0, cx1, cy1 = max(0, x0), max(0, y0), min(W, x0 + w), min(H, y0 + h)
    if cx1 <= cx0 or cy1 <= cy0:
        return
    region = canvas[cy0:cy1, cx0:cx1]
    np.maximum(region, g[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)


def _rules(kind, shape, h_px, line_space, oy, rng):
    if kind == "plain":
        return None
    H, W = shape
    lines = np.zeros(shape, np.float32)
    t = int(rng.integers(1, 3))
    if kind == "ruled":
        step = line_space * h_px
        start = oy + h_px * rng.uniform(1.0, 1.15)  # digits sit on the line
        ys = np.arange(start % step, H, step)
        for y in ys:
            cv2.line(lines, (0, int(y)), (W, int(y)), 1.0, t, cv2.LINE_AA)
    else:
        step = h_px * rng.uniform(0.5, 0.8)
        for y in np.arange(rng.uniform(0, step), H, step):
            cv2.line(lines, (0, int(y)), (W, int(y)), 1.0, t, cv2.LINE_AA)
        for x in np.arange(rng.uniform(0, step), W, step):
            cv2.line(lines, (int(x), 0), (int(x), H), 1.0, t, cv2.LINE_AA)
    return lines


def _specks(ink: np.ndarray, rng) -> None:
    H, W = ink.shape
    for _ in range(int(rng.integers(0, 25))):
        cv2.circle(ink, (int(rng.integers(0, W)), int(rng.integers(0, H))), 1, 0.8, -1)


def _tilt(img: np.ndarray, rng, amount: float) -> np.ndarray:
    H, W = img.shape[:2]
    src = np.float32([[0, 0], [W, 0], [W, H], [0, H]])
    dst = (src + rng.uniform(-amount, amount, (4, 2)) * [W, H]).astype(np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(img, m, (W, H), borderMode=cv2.BORDER_REFLECT)


def _paper_edge(img: np.ndarray, rng) -> np.ndarray:
    """A strip of dark desk along one side of the frame."""
    H, W = img.shape[:2]
    mask = np.zeros((H, W), np.float32)
    d = rng.uniform(0.02, 0.06)
    side = int(rng.integers(0, 4))
    if side == 0:
        mask[:, : int(d * W)] = 1
    elif side == 1:
        mask[:, W - int(d * W) :] = 1
    elif side == 2:
        mask[: int(d * H)] = 1
    else:
        mask[H - int(d * H) :] = 1
    mask = cv2.GaussianBlur(mask, (0, 0), 2)[..., None]
    desk = np.array([90, 70, 50], np.float32)
    return img * (1 - mask) + desk * mask


def _lighting(shape, rng, amount: float) -> np.ndarray:
    """A linear gradient times a vignette, 1 - amount at the darkest."""
    H, W = shape
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    yy, xx = yy / H - 0.5, xx / W - 0.5
    theta = rng.uniform(0, 2 * np.pi)
    grad = (np.cos(theta) * xx + np.sin(theta) * yy) + 0.5
    vignette = 1 - (xx**2 + yy**2) * rng.uniform(0, 1.2)
    return (1 - amount * rng.random() * grad) * np.clip(vignette, 0.4, 1)


def _shadow(shape, rng, darkest: float) -> np.ndarray:
    """A soft shadow of a hand or phone: a polygon darkened to `darkest`."""
    H, W = shape
    pts = np.stack([rng.uniform(-0.2, 1.2, 5) * W, rng.uniform(-0.2, 1.2, 5) * H], axis=1)
    hull = cv2.convexHull(pts.astype(np.int32))
    mask = np.zeros(shape, np.float32)
    cv2.fillConvexPoly(mask, hull, 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), rng.uniform(5, 40))
    return 1 - (1 - rng.uniform(darkest, 0.9)) * mask


# --- pen-stroke digits: an independent check that shares nothing with MNIST ------------------
def _arc(cx, cy, rx, ry, a0, a1, n=14):
    t = np.deg2rad(np.linspace(a0, a1, n))
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _strokes(v: int, rng) -> list[np.ndarray]:
    """Strokes of digit `v` in a unit box (x 0..0.6, y 0..1, y down), with a little variety."""
    j = rng.uniform(-0.04, 0.04)
    if v == 0:
        return [_arc(0.3, 0.5, 0.28 + j, 0.48, -90, 275, 30)]
    if v == 1:
        s = [np.array([[0.3, 0.0], [0.3, 1.0]])]
        if rng.random() < 0.5:
            s.append(np.array([[0.12, 0.2], [0.3, 0.0]]))
        return s
    if v == 2:
        return [
            np.concatenate([_arc(0.3, 0.28, 0.26, 0.26, 200, 360 + 30), [[0.02, 1.0], [0.6, 1.0]]])
        ]
    if v == 3:
        return [
            np.concatenate(
                [_arc(0.28, 0.25, 0.25, 0.24, 200, 450), _arc(0.28, 0.74, 0.28, 0.26, -90, 160)]
            )
        ]
    if v == 4:
        top = 0.62 + j
        s = [
            np.array([[0.42, 0.0], [0.02, top], [0.6, top]]),
            np.array([[0.45, 0.25], [0.45, 1.0]]),
        ]
        return s
    if v == 5:
        return [
            np.array([[0.55, 0.0], [0.1, 0.0], [0.07, 0.45]]),
            _arc(0.3, 0.68, 0.28, 0.3, -150, 150),
        ]
    if v == 6:
        return [
            np.concatenate(
                [
                    _arc(0.55, 0.55, 0.5, 0.55, -100, -180, 8),
                    _arc(0.3, 0.72, 0.26, 0.27, 180, 540, 24),
                ]
            )
        ]
    if v == 7:
        s = [np.array([[0.0, 0.02], [0.6, 0.0], [0.22, 1.0]])]
        if rng.random() < 0.3:
            s.append(np.array([[0.15, 0.5], [0.5, 0.5]]))
        return s
    if v == 8:
        return [_arc(0.3, 0.25, 0.22, 0.24, 0, 360, 24), _arc(0.3, 0.73, 0.28, 0.26, 0, 360, 24)]
    return [_arc(0.3, 0.28, 0.27, 0.27, 0, 360, 24), np.array([[0.57, 0.3], [0.52 + j, 1.0]])]


def pen_digit(v: int, rng, h: int = 64) -> np.ndarray:
    """Digit `v` drawn with pen strokes: random slant, width, proportions and wobble. Float 0..1."""
    slant = rng.uniform(-0.25, 0.15)
    sx = rng.uniform(0.8, 1.25)
    width = max(2, int(h * rng.uniform(0.07, 0.14)))
    g = _pen(_strokes(v, rng), rng, h, width, slant, sx, right=0.6)
    rows = np.flatnonzero(g.max(axis=1) > 0.1)
    cols = np.flatnonzero(g.max(axis=0) > 0.1)
    return np.pad(g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1], 1)


def _pen(strokes, rng, h: int, width: int, slant: float, sx: float, right: float) -> np.ndarray:
    """Polylines in the unit box (x 0..`right`, y 0..1 down) drawn `h` px tall with a pen
    `width` px wide, slanted by `slant`, stretched by `sx` across, each point wobbled. Float."""
    pad = width + 4
    img = np.zeros((h + 2 * pad, int(h * right * sx + abs(slant) * h) + 2 * pad), np.uint8)
    for s in strokes:
        p = np.array(s, np.float64) + rng.normal(0, 0.012, (len(s), 2))
        x = (p[:, 0] * sx + slant * (1 - p[:, 1]) + max(0.0, -slant)) * h + pad
        pts = np.stack([x, p[:, 1] * h + pad], axis=1).round().astype(np.int32)
        cv2.polylines(img, [pts], False, 255, width, cv2.LINE_AA)
    return img.astype(np.float32) / 255.0


# --- pen-stroke letters, for words written beside a number ------------------------------------
# Drawn like pen_digit, in the same unit box; lowercase letters stand in its lower 0.6. These are
# not the Hershey fonts the model's "not a digit" class was trained on (core.nondigits).
_LETTERS = {
    "E": [[[0.5, 0], [0, 0], [0, 1], [0.5, 1]], [[0, 0.5], [0.4, 0.5]]],
    "H": [[[0.05, 0], [0.05, 1]], [[0.55, 0], [0.55, 1]], [[0.05, 0.5], [0.55, 0.5]]],
    "K": [[[0.05, 0], [0.05, 1]], [[0.55, 0], [0.05, 0.55], [0.55, 1]]],
    "M": [[[0, 1], [0.05, 0], [0.32, 0.6], [0.6, 0], [0.65, 1]]],
    "N": [[[0.05, 1], [0.05, 0], [0.55, 1], [0.55, 0]]],
    "R": [
        [[0.05, 1], [0.05, 0], [0.3, 0], [0.5, 0.1], [0.5, 0.4], [0.3, 0.5], [0.05, 0.5]],
        [[0.25, 0.5], [0.55, 1]],
    ],
    "U": [[[0.05, 0], [0.05, 0.7], [0.15, 0.95], [0.3, 1], [0.45, 0.95], [0.55, 0.7], [0.55, 0]]],
    "V": [[[0, 0], [0.3, 1], [0.6, 0]]],
    "W": [[[0, 0], [0.18, 1], [0.36, 0.3], [0.54, 1], [0.72, 0]]],
    "X": [[[0, 0], [0.6, 1]], [[0.6, 0], [0, 1]]],
    "c": [[[0.5, 0.5], [0.3, 0.4], [0.08, 0.5], [0.02, 0.7], [0.08, 0.9], [0.3, 1], [0.5, 0.92]]],
    "h": [[[0.05, 0], [0.05, 1]], [[0.05, 0.6], [0.25, 0.42], [0.45, 0.5], [0.5, 0.65], [0.5, 1]]],
    "k": [[[0.05, 0], [0.05, 1]], [[0.45, 0.4], [0.05, 0.72], [0.45, 1]]],
    "m": [
        [[0, 1], [0, 0.4]],
        [[0, 0.55], [0.15, 0.4], [0.3, 0.55], [0.3, 1]],
        [[0.3, 0.55], [0.45, 0.4], [0.6, 0.55], [0.6, 1]],
    ],
    "n": [[[0.05, 1], [0.05, 0.4]], [[0.05, 0.55], [0.25, 0.4], [0.45, 0.55], [0.45, 1]]],
    "r": [[[0.05, 1], [0.05, 0.4]], [[0.05, 0.6], [0.2, 0.43], [0.4, 0.42]]],
    "x": [[[0, 0.4], [0.45, 1]], [[0.45, 0.4], [0, 1]]],
    "w": [[[0, 0.4], [0.14, 1], [0.28, 0.55], [0.42, 1], [0.56, 0.4]]],
}
WORDS = ("km", "cm", "mm", "kWh", "EUR", "Nr", "kW", "HK", "MW", "Nm", "kcmx", "VW", "nm")


def pen_word(word: str, rng, h: int = 64) -> np.ndarray:
    """`word` in pen strokes, `h` px from the top of a capital to the baseline. Float 0..1."""
    width = max(2, int(h * rng.uniform(0.07, 0.12)))
    slant = rng.uniform(-0.2, 0.1)
    strokes, x0 = [], 0.0
    for ch in word:
        strokes += [[(x + x0, y) for x, y in s] for s in _LETTERS[ch]]
        x0 += max(x for s in _LETTERS[ch] for x, _ in s) + 0.25
    return _pen(strokes, rng, h, width, slant, 1.0, right=x0)


# --- explicit photos for tests: every condition set by hand -----------------------------------
def photo(
    lines: list[list[list[np.ndarray]]],
    *,
    height: float = 60,
    size: tuple[int, int] = (1280, 960),
    paper: str = "plain",
    angle: float = 0.0,
    tilt: float = 0.0,
    light: float = 0.0,
    shadow: float = 0.0,
    blur: float = 0.0,
    noise: float = 0.0,
    quality: int = 92,
    strength: float = 1.0,
    gap: float = 0.3,
    specks: int = 0,
    edge: bool = False,
    seed: int = 0,
    extra: list[tuple[np.ndarray, float, float]] = (),
    rule_colour: tuple[int, int, int] = (120, 150, 220),
) -> bytes:
    """A JPEG of `lines` (each a list of groups, each a list of glyphs: float 0..1 arrays, e.g.
    MNIST digits / 255) written `height` px tall, with each condition given explicitly.
    `extra` marks (glyph, x, y as fractions of the frame) are drawn too, e.g. a stain."""
    rng = np.random.default_rng(seed)
    width, frame_h = size
    ink = np.zeros((frame_h, width), np.float32)
    line_space = 1.8
    lines = [[[_crop(g) for g in grp] for grp in line] for line in lines]  # keeps their aspect
    widths = [
        sum(sum(g.shape[1] / g.shape[0] + gap for g in grp) - gap for grp in line)
        + 1.2 * (len(line) - 1)
        for line in lines
    ]
    oy = frame_h / 2 - (len(lines) - 1) * line_space * height / 2 - height / 2
    for li, line in enumerate(lines):
        x = width / 2 - widths[li] * height / 2
        y = oy + li * line_space * height
        for grp in line:
            for g in grp:
                gw = max(2, round(g.shape[1] * height / g.shape[0]))
                small = cv2.resize(g, (gw, round(height)), interpolation=cv2.INTER_LINEAR)
                _paste_max(ink, small, int(x), int(y))
                x += gw + gap * height
            x += 1.2 * height - gap * height
    for g, fx, fy in extra:
        _paste_max(ink, g, int(fx * width), int(fy * frame_h))
    _specks_n(ink, rng, specks)
    chalk = paper == "chalk"
    bg = np.array([45, 65, 55] if chalk else [244, 242, 236], np.float32)
    ink_colour = np.array([230, 230, 225] if chalk else [25, 30, 60], np.float32)
    img = np.ones((frame_h, width, 3), np.float32) * bg
    if paper in ("ruled", "squared"):
        rules = _rules(paper, (frame_h, width), height, line_space, oy, rng)
        la = rules[..., None] * 0.5
        img = img * (1 - la) + np.array(rule_colour, np.float32) * la
    a = np.clip(ink * strength, 0, 1)[..., None]
    img = img * (1 - a) + ink_colour * a
    if angle:
        m = cv2.getRotationMatrix2D((width / 2, frame_h / 2), angle, 1.0)
        img = cv2.warpAffine(img, m, (width, frame_h), borderMode=cv2.BORDER_REFLECT)
    if tilt:
        img = _tilt(img, rng, tilt)
    if edge:
        img = _paper_edge(img, rng)
    if light:
        yy, xx = np.mgrid[0:frame_h, 0:width].astype(np.float32)
        grad = 1 - light * (xx / width)
        vignette = 1 - light * ((xx / width - 0.5) ** 2 + (yy / frame_h - 0.5) ** 2)
        img = img * (grad * vignette)[..., None]
    if shadow:
        mask = np.zeros((frame_h, width), np.float32)
        mask[:, : width // 2] = 1
        mask = cv2.GaussianBlur(mask, (0, 0), 15)
        img = img * (1 - shadow * mask)[..., None]
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    if noise:
        img = img + rng.normal(0, noise, img.shape).astype(np.float32)
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return buf.getvalue()


SCENES = ("desk", "ring", "boxes", "words")


def scene(kind: str, seed: int, digits: np.ndarray, labels: np.ndarray) -> tuple[bytes, str]:
    """A JPEG of one number (3-8 digits) as people also photograph it, and its text:
    - desk: on a sheet or sticky note lying on a darker desk, the desk all round it;
    - ring: with a ring drawn round it, touching its digits or not;
    - boxes: one digit to a box of a printed row of boxes, as on a form, clear of the sides;
    - words: with a word or unit written before or after it ("Nr", "km", "kWh"), which is
      not a digit and not part of the text.
    """
    rng = np.random.default_rng([seed, SCENES.index(kind), 7])
    n = int(rng.integers(3, 9))
    idx = rng.integers(0, len(digits), n)
    text = "".join(str(int(v)) for v in labels[idx])
    glyphs = [_crop(digits[i].astype(np.float32) / 255.0) for i in idx]
    height = float(rng.uniform(40, 80))
    if kind == "desk":
        sheet_w = int(max(rng.uniform(0.4, 0.75) * 1280, n * height * 1.3))
        sheet_h = int(rng.uniform(0.45, 0.8) * 960)
        sheet = photo([[glyphs]], height=height, size=(sheet_w, sheet_h), noise=2, quality=95)
        sheet_rgb = np.asarray(Image.open(io.BytesIO(sheet)).convert("RGB"))
        desk = np.array([[70, 50, 35], [40, 55, 85], [60, 60, 62], [110, 85, 60]])[rng.integers(4)]
        img = np.ones((960, 1280, 3), np.float32) * desk
        img = cv2.GaussianBlur(img + rng.normal(0, 12, img.shape), (0, 0), 2)
        turn = cv2.getRotationMatrix2D((sheet_w / 2, sheet_h / 2), rng.uniform(-12, 12), 1.0)
        turn[:, 2] += (640 - sheet_w / 2, 480 - sheet_h / 2)
        on = cv2.warpAffine(np.ones((sheet_h, sheet_w), np.uint8), turn, (1280, 960)) > 0
        img[on] = cv2.warpAffine(sheet_rgb, turn, (1280, 960))[on]
        img = img + rng.normal(0, 3, img.shape)
    elif kind == "ring":
        width = (sum(g.shape[1] / g.shape[0] for g in glyphs) + 0.3 * (n - 1)) * height
        ax, ay = width / 2 + rng.uniform(0.3, 0.8) * height, rng.uniform(0.7, 1.2) * height
        ring = np.zeros((int(2 * ay + 20), int(2 * ax + 20)), np.float32)
        centre = (ring.shape[1] // 2, ring.shape[0] // 2)
        cv2.ellipse(
            ring,
            centre,
            (int(ax), int(ay)),
            rng.uniform(-5, 5),
            0,
            360,
            1.0,
            int(rng.integers(2, 6)),
        )
        at = ((640 - centre[0]) / 1280, (480 - centre[1]) / 960)
        return photo([[glyphs]], height=height, extra=[(ring, *at)], noise=3, seed=seed), text
    elif kind == "boxes":
        side = round(rng.uniform(1.25, 1.6) * height)
        h = round(height)
        x0, y0 = (1280 - side * n) // 2, (960 - side) // 2
        ink = np.zeros((960, 1280), np.float32)
        for i, g in enumerate(glyphs):
            gw = max(2, round(g.shape[1] * h / g.shape[0]))
            room_x, room_y = max(0, side - gw - 8), side - h - 8
            x = x0 + i * side + 4 + int(rng.uniform(0, room_x))
            y = y0 + 4 + int(rng.uniform(0, room_y))
            _paste_max(ink, cv2.resize(g, (gw, h), interpolation=cv2.INTER_LINEAR), x, y)
        img = np.ones((960, 1280, 3), np.float32) * np.array([244, 242, 236], np.float32)
        colour = [(90, 90, 90), (150, 110, 60), (40, 40, 40)][int(rng.integers(3))]
        thick = int(rng.integers(1, 4))
        for i in range(n):
            corner = (x0 + (i + 1) * side, y0 + side)
            cv2.rectangle(img, (x0 + i * side, y0), corner, colour, thick)
        a = ink[..., None]
        img = img * (1 - a) + np.array([25, 35, 110], np.float32) * a
        turn = cv2.getRotationMatrix2D((640, 480), rng.uniform(-5, 5), 1.0)
        img = cv2.warpAffine(img, turn, (1280, 960), borderMode=cv2.BORDER_REFLECT)
        img = cv2.GaussianBlur(img, (0, 0), rng.uniform(0.5, 1.2))
        img = img + rng.normal(0, 3, img.shape)
    elif kind == "words":
        h = round(height)
        word = pen_word(str(rng.choice(WORDS)), rng, h)
        width = (sum(g.shape[1] / g.shape[0] for g in glyphs) + 0.3 * (n - 1)) * height
        before = rng.random() < 0.5
        space = rng.uniform(0.5, 1.0) * height
        x = 640 - width / 2 - space - word.shape[1] if before else 640 + width / 2 + space
        y = 480 - height / 2 - (word.shape[0] - h) / 2
        return photo([[glyphs]], height=height, extra=[(word, x / 1280, y / 960)], seed=seed), text
    else:
        raise ValueError(f"unknown scene {kind!r}; choose from {', '.join(SCENES)}")
    buf = io.BytesIO()
    Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=88)
    return buf.getvalue(), text


def _crop(g: np.ndarray) -> np.ndarray:
    rows = np.flatnonzero(g.max(axis=1) > 0.1)
    cols = np.flatnonzero(g.max(axis=0) > 0.1)
    return np.pad(g[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1].astype(np.float32), 1)


def _specks_n(ink: np.ndarray, rng, n: int) -> None:
    H, W = ink.shape
    for _ in range(n):
        cv2.circle(ink, (int(rng.integers(0, W)), int(rng.integers(0, H))), 1, 0.8, -1)
