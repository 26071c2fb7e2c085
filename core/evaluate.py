"""`python -m core evaluate`: score a .tflite or .keras digit model on the MNIST test split.

    python -m core evaluate --data ../shared/data/mnist.npz [--model models/digits.tflite]

prints accuracy, per-class precision and recall, the confusion matrix and the expected
calibration error, raw and with the temperature from the model card beside the model. A .tflite
model runs with LiteRT; TensorFlow is imported only for a .keras model.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from core import data as mnist
from core import metrics
from core.classify import (
    CARD_NAME,
    DEFAULT_MODEL,
    Classifier,
    digit_probabilities,
    read_temperature,
)
from core.errors import DigitbotError, ModelError
from core.normalize import to_mnist

ANGLES = (0, 5, 10, 15, 20, 25, 30, 35, 40, 45)  # degrees, for the robustness curve
NOISE = (0.0, 0.1, 0.2, 0.3, 0.4, 0.5)  # std of Gaussian noise added to the 28x28 input

Predict = Callable[[np.ndarray], np.ndarray]


def parse(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m core evaluate", description=__doc__.split("\n")[0])
    p.add_argument("--model", type=Path, default=DEFAULT_MODEL, help=".tflite or .keras file")
    p.add_argument("--data", type=Path, help="mnist.npz (default: Keras' MNIST download)")
    p.add_argument(
        "--robustness", action="store_true", help="also score rotated and noisy test digits"
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        data = mnist.load(args.data)
        predict, temperature = load_model(args.model)
        print(f"{args.model}\n{data.describe()}")
        probs = predict(mnist.prepare(data.x_test))
        print(summary(probs, data.y_test, temperature))
        if args.robustness:
            print(robustness_table(robustness(predict, data.x_test, data.y_test)))
    except DigitbotError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


def load_model(path: Path) -> tuple[Predict, float]:
    """A function from (n, 28, 28) images to raw probabilities, and the card's temperature."""
    path = Path(path)
    if path.suffix == ".tflite":
        lite = Classifier(path)
        return lite.raw_probabilities, lite.temperature
    if path.suffix != ".keras":
        raise ModelError(f"{path}: expected a .tflite or .keras model")
    if not path.is_file():
        raise ModelError(f"model file not found: {path}")
    import keras  # TensorFlow only for a Keras model

    try:
        model = keras.saving.load_model(path)
    except Exception as e:  # noqa: BLE001 - any failure means: not a usable model, say why
        raise ModelError(f"{path} is not a usable Keras model ({e})") from None
    temperature = read_temperature(path.with_name(CARD_NAME))
    return (lambda x: model.predict(x, batch_size=512, verbose=0)), temperature


def summary(raw: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> str:
    """The figures as text: accuracy, per-class precision/recall, confusion matrix, ECE, from a
    model's raw softmax (a digit is read as the likeliest of the ten digits)."""
    probs, calibrated = digit_probabilities(raw), digit_probabilities(raw, temperature)
    predicted = probs.argmax(axis=1)
    matrix = metrics.confusion_matrix(labels, predicted)
    precision, recall = metrics.precision_recall(matrix)
    lines = [
        f"accuracy  {metrics.accuracy(probs, labels):.2%}  "
        f"({int((predicted != labels).sum())} of {len(labels)} wrong)",
        f"ECE       {metrics.ece(probs, labels):.2%} raw, "
        f"{metrics.ece(calibrated, labels):.2%} at temperature {temperature:g}",
        f"NLL       {metrics.nll(probs, labels):.4f} raw, "
        f"{metrics.nll(calibrated, labels):.4f} at temperature {temperature:g}",
        f"no digit  {int(metrics.no_digit(calibrated).sum())} test digits read likelier as "
        "'not a digit' than as any digit",
        "",
        "digit  precision  recall",
    ]
    lines += [f"{d:>5}  {precision[d]:9.2%}  {recall[d]:6.2%}" for d in range(10)]
    lines += ["", "confusion (rows: true digit, columns: predicted)"]
    lines.append("     " + "".join(f"{d:>6}" for d in range(10)))
    lines += [f"{d:>5}" + "".join(f"{n:>6}" for n in row) for d, row in enumerate(matrix)]
    return "\n".join(lines)


def robustness(predict: Predict | Classifier, x: np.ndarray, y: np.ndarray) -> dict:
    """Test accuracy against rotation angle and against added noise.

    Rotation turns the raw digit (alternately clockwise and anticlockwise) before `to_mnist`, as a
    tilted photo would; noise is Gaussian, added to the normalized image and clipped to 0..1.
    """
    if isinstance(predict, Classifier):
        predict = predict.raw_probabilities
    rotation = []
    for angle in ANGLES:
        turned = [rotate(d, angle if i % 2 else -angle) for i, d in enumerate(x)]
        images = np.stack([to_mnist(d) for d in turned])
        rotation.append((angle, metrics.accuracy(digit_probabilities(predict(images)), y)))
    clean = mnist.prepare(x)
    rng = np.random.default_rng(0)
    noise = []
    for std in NOISE:
        noisy = np.clip(clean + rng.normal(0, std, clean.shape).astype(np.float32), 0, 1)
        noise.append((std, metrics.accuracy(digit_probabilities(predict(noisy)), y)))
    return {"rotation": rotation, "noise": noise}


def robustness_table(curves: dict) -> str:
    rows = ["", "rotation (deg)  accuracy"]
    rows += [f"{a:>14}  {acc:.2%}" for a, acc in curves["rotation"]]
    rows += ["", "noise (std)  accuracy"]
    rows += [f"{s:>11.1f}  {acc:.2%}" for s, acc in curves["noise"]]
    return "\n".join(rows)


def rotate(digit: np.ndarray, degrees: float) -> np.ndarray:
    """The digit turned by `degrees` on a canvas large enough to keep all of it."""
    if degrees == 0:
        return digit
    pad = digit.shape[0] // 4
    big = cv2.copyMakeBorder(digit, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    h, w = big.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    return cv2.warpAffine(big, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=0)
