"""Inference speed of the shipped digit model on one CPU thread, against the seed architecture.

    python bench/bench_model.py [--model PATH] [--baseline models/seed/digits.tflite]

Prints milliseconds per digit for several batch sizes through LiteRT with num_threads=1 (the
target: <= 0.2 ms per digit batched), the same through `core.classify.Classifier` (what the bot
calls, temperature included), and the ratio to the seed notebooks' network trained by the same
pipeline. Pin it to one core for steadier figures: `taskset -c 0 python bench/bench_model.py`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core.classify import DEFAULT_MODEL, Classifier  # noqa: E402

BATCHES = (1, 8, 32, 100, 256)
TARGET_MS = 0.2  # issue 2: batched inference per digit on one core


def ms_per_digit(path: Path, batch: int, seconds: float = 0.6) -> float:
    """Median over repeats of the time one invoke takes, divided by the batch size."""
    interpreter = Interpreter(model_path=str(path), num_threads=1)
    index = interpreter.get_input_details()[0]["index"]
    shape = tuple(interpreter.get_input_details()[0]["shape"][1:])
    interpreter.resize_tensor_input(index, (batch, *shape))
    interpreter.allocate_tensors()
    images = np.random.default_rng(0).random((batch, *shape), dtype=np.float32)
    return (
        _median_ms(lambda: (interpreter.set_tensor(index, images), interpreter.invoke()), seconds)
        / batch
    )


def classifier_ms_per_digit(path: Path, batch: int, seconds: float = 0.6) -> float:
    classifier = Classifier(path)
    images = np.random.default_rng(0).random((batch, 28, 28), dtype=np.float32)
    return _median_ms(lambda: classifier.probabilities(images), seconds) / batch


def _median_ms(step, seconds: float) -> float:
    step()  # warm up: first invoke packs weights
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline or len(times) < 5:
        t = time.perf_counter()
        step()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    p.add_argument("--baseline", type=Path, default=ROOT / "models" / "seed" / "digits.tflite")
    args = p.parse_args()
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    size, load = args.model.stat().st_size / 1e6, os.getloadavg()[0]
    print(f"{args.model} ({size:.2f} MB), num_threads=1, {cpus} CPUs visible, load {load:.1f}")
    has_baseline = args.baseline.exists()
    header = f"{'batch':>5}  {'ms/digit':>8}  {'via Classifier':>14}"
    print(header + (f"  {'seed arch':>9}  {'ratio':>5}" if has_baseline else ""))
    worst = 0.0
    for batch in BATCHES:
        ms = ms_per_digit(args.model, batch)
        via = classifier_ms_per_digit(args.model, batch)
        line = f"{batch:>5}  {ms:8.4f}  {via:14.4f}"
        if has_baseline:
            base = ms_per_digit(args.baseline, batch)
            line += f"  {base:9.4f}  {ms / base:5.2f}"
        print(line)
        if batch >= 8:
            worst = max(worst, via)
    verdict = "meets" if worst <= TARGET_MS else "MISSES"
    print(f"batched (>= 8) worst {worst:.4f} ms/digit via Classifier: {verdict} {TARGET_MS} ms")
    if not has_baseline:
        print(f"(no seed-arch model at {args.baseline}; no ratio)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
