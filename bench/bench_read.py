"""Benchmark of the photo path: accuracy per difficulty level, speed, memory, no TensorFlow.

    python bench/bench_read.py [--n 300] [--quick] [--speed]
    taskset -c 0 python bench/bench_read.py --speed      # speed on exactly one core

Accuracy is exact-string: Result.text must equal the synthesizer's answer (digits, spaces
between groups and line breaks all right). Digit accuracy (1 - edit distance over the true
digits) and the digits per photo show how much of a miss is the model: at 99.4 % per digit, a
photo of 8 digits is read exactly only 95 % of the time. Photos come from bench/synth.py with
MNIST **test** digits from ../shared/data/mnist.npz; the "pen" rows use digits drawn as pen
strokes instead, a check that shares nothing with MNIST. The baseline row is what the seed
notebooks did: the whole single-digit photo resized to 28x28 (inverted when the paper is light)
and classified. The scene rows (n/3 photos each) are numbers as people also photograph them,
outside the levels: on a sheet lying on a desk, ringed by hand, in the printed boxes of a form,
with a word or unit written beside it.

Timings are medians, in-process, on whatever share of the CPU this machine gives us (it is
shared); peak memory is the maximum RSS of a separate `python -m core predict` process.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import synth  # noqa: E402
from core import decode, read  # noqa: E402

MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"


def accuracy(
    level: str, n: int, x, y, source: str = "mnist", misread: np.ndarray | None = None
) -> dict[str, float]:
    """Exact-string accuracy; the share of photos with a flagged (uncertain) digit; digit
    accuracy (1 - edit distance between the digits read and the true digits, over the true
    digits: misreads, missed and extra digits all count); the mean digits per photo; and, given
    `misread` (see `clean_misreads`), the model's ceiling: the share of photos none of whose
    digits the model misreads as clean MNIST images, which no page pipeline can raise."""
    ok = flagged = edits = digits = ceiling = 0
    for seed in range(n):
        info: dict = {}
        data, text = synth.make(level, seed, x, y, source=source, info=info)
        if misread is not None and "indices" in info:
            ceiling += not misread[info["indices"]].any()
        result = read(data)
        ok += result.text == text
        flagged += any(d.uncertain for d in result.digits)
        truth = text.replace(" ", "").replace("\n", "")
        edits += edit_distance(truth, "".join(str(d.value) for d in result.digits))
        digits += len(truth)
    return {
        "exact": ok / n,
        "flagged": flagged / n,
        "digit": 1 - edits / digits,
        "per_photo": digits / n,
        "ceiling": ceiling / n if misread is not None and source == "mnist" else float("nan"),
    }


def clean_misreads(x, y) -> np.ndarray:
    """Which MNIST test digits the served model misreads as clean images (through to_mnist, as
    in training): a photo holding one is read right only by luck."""
    from core.classify import get_classifier
    from core.normalize import to_mnist_batch

    return get_classifier().probabilities(to_mnist_batch(x)).argmax(axis=1) != y


def scene_accuracy(kind: str, n: int, x, y) -> float:
    """Exact-string accuracy on `synth.scene` photos of one kind (see synth.SCENES)."""
    ok = 0
    for seed in range(n):
        data, text = synth.scene(kind, seed, x, y)
        ok += read(data).text == text
    return ok / n


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance: insertions, deletions and substitutions."""
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def baseline_single(n: int, x, y) -> float:
    """The seeds' method: resize the whole photo to 28x28 and classify it."""
    from core.classify import get_classifier

    images, truth = [], []
    for seed in range(n):
        data, text = synth.make("single", seed, x, y)
        g = np.asarray(Image.open(io.BytesIO(data)).convert("L"), np.float32) / 255
        if g.mean() > 0.5:
            g = 1 - g
        images.append(cv2.resize(g, (28, 28), interpolation=cv2.INTER_AREA))
        truth.append(int(text))
    p = get_classifier().probabilities(np.stack(images))
    return float((p.argmax(axis=1) == np.array(truth)).mean())


def median_ms(fn, repeat: int) -> tuple[float, float]:
    """Median wall-clock and CPU time of `fn` in ms. On a shared machine the CPU time is the
    better estimate of what one free core would take."""
    wall, cpu = [], []
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
    return 1000 * statistics.median(wall), 1000 * statistics.median(cpu)


def speed(x, y, repeat: int) -> dict[str, float]:
    # A 1280x960 photo of 6 digits on plain paper, slightly rotated, uneven light.
    six = [x[i] / 255 for i in range(6)]
    small = synth.photo([[six]], size=(1280, 960), height=90, angle=3, light=0.3, noise=3)
    # A 12-megapixel JPEG (4000x3000) of a page of digits.
    rgb, _, _ = synth.make_rgb("easy", 3, x, y, size=(4000, 3000))
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    big = buf.getvalue()
    del rgb
    read(small)  # load the model first
    return {
        "photo_1280x960_ms": median_ms(lambda: read(small), repeat),
        "decode_1280x960_ms": median_ms(lambda: decode(small), repeat),
        "jpeg_12mp_ms": median_ms(lambda: read(big), max(5, repeat // 4)),
        "decode_12mp_ms": median_ms(lambda: decode(big), max(5, repeat // 4)),
        "_big": big,
    }


def peak_memory_mb(big_jpeg: bytes) -> tuple[float, bool]:
    """Peak RSS (VmHWM: ru_maxrss would carry over this process's peak through exec) of
    `python -m core predict` on a 12-MP photo plus the samples, rendering all; and whether
    TensorFlow stayed out of the process."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "big.jpg"
        path.write_bytes(big_jpeg)
        code = (
            "import sys\n"
            "from core.predict import main\n"
            f"rc = main([{str(path)!r}, '--out', {tmp!r}])\n"
            "main(['--out', sys.argv[1]])\n"
            "assert 'tensorflow' not in sys.modules, 'tensorflow was imported'\n"
            "status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
            "print(int(status.split()[0]))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", code, tmp], cwd=ROOT, capture_output=True, text=True
        )
    no_tf = out.returncode == 0
    lines = out.stdout.strip().splitlines()
    if not no_tf:
        print(out.stderr[-2000:], file=sys.stderr)
    rss_kb = float(lines[-1]) if no_tf and lines else float("nan")
    return rss_kb / 1024, no_tf


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300, help="photos per level")
    parser.add_argument("--quick", action="store_true", help="50 photos per level, fewer runs")
    parser.add_argument("--speed", action="store_true", help="only speed and memory")
    args = parser.parse_args()
    n = 50 if args.quick else args.n
    d = np.load(MNIST)
    x, y = d["x_test"], d["y_test"]

    if args.speed:
        return _speed_and_memory(x, y, 15 if args.quick else 40)
    print(f"exact-string accuracy, {n} photos per level (bench/synth.py, MNIST test digits)")
    misread = clean_misreads(x, y)
    print(
        f"{'level':10} {'exact':>7} {'target':>7} {'flagged':>8} {'digits':>7} {'/photo':>7} "
        f"{'ceiling':>8}"
    )
    targets = {"single": 0.99, "easy": 0.98, "medium": None, "hard": 0.85}
    rows = [(level, n, "mnist") for level in synth.LEVELS]
    rows += [(level, n // 2, "pen") for level in ("single", "easy", "hard")]
    for level, count, source in rows:
        a = accuracy(level, count, x, y, source=source, misread=misread)
        name = level if source == "mnist" else f"pen-{level}"
        target = targets[level] if source == "mnist" else None
        print(
            f"{name:10} {a['exact']:7.1%} {f'{target:.0%}' if target else '-':>7} "
            f"{a['flagged']:8.1%} {a['digit']:7.2%} {a['per_photo']:7.1f} "
            f"{'-' if np.isnan(a['ceiling']) else format(a['ceiling'], '.1%'):>8}",
            flush=True,
        )
    print(
        f"(ceiling: photos none of whose digits the model misreads as clean MNIST images; "
        f"it misreads {int(misread.sum())} of {len(misread):,})"
    )
    base = baseline_single(n, x, y)
    print(f"{'baseline':10} {base:7.1%} {'-':>7}  (single photos resized to 28x28)")
    for kind in synth.SCENES:
        print(f"{kind:10} {scene_accuracy(kind, n // 3, x, y):7.1%} {'-':>7}  (synth.scene)")

    return _speed_and_memory(x, y, 15 if args.quick else 40)


def _speed_and_memory(x, y, repeat: int) -> int:
    s = speed(x, y, repeat=repeat)
    print("\nspeed, median of wall-clock and of CPU time, in-process (CPU shared: noisy)")
    for key in ("photo_1280x960_ms", "decode_1280x960_ms", "jpeg_12mp_ms", "decode_12mp_ms"):
        wall, cpu = s[key]
        print(f"  {key:22} {wall:7.1f} ms wall {cpu:7.1f} ms CPU")
    mb, no_tf = peak_memory_mb(s["_big"])
    print(f"\npeak RSS of `python -m core predict` (12-MP photo + samples): {mb:.0f} MB")
    print(f"tensorflow imported on the predict path: {'no' if no_tf else 'YES'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
