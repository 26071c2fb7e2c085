"""The serving classifier: the exported .tflite model run with LiteRT, no TensorFlow.

It takes 28x28 digits from `core.normalize.to_mnist` and returns calibrated probabilities: the
model's softmax softened or sharpened by the temperature fitted on validation digits at training
time (read from the `model_card.json` beside the model). The model has an eleventh class, "not a
digit" (core.nondigits); its probability is what the ten digits' probabilities lack of 1.

The bot calls it from several worker threads at once; each thread gets its own LiteRT
interpreter, running on one CPU thread, because an interpreter is not safe to share.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
from ai_edge_litert.interpreter import Interpreter

from core.errors import ModelError
from core.metrics import apply_temperature
from core.normalize import SIZE

DEFAULT_MODEL = Path(__file__).resolve().parent.parent / "models" / "digits.tflite"
CARD_NAME = "model_card.json"
CHUNK = 32  # digits per invoke: larger batches are slower per digit (cache; bench_model.py)
# The model's outputs: the ten digits, then "not a digit" (core.nondigits). Models trained before
# that class existed have only the ten, and are served as well.
DIGITS = 10
NOT_A_DIGIT = DIGITS  # its column
CLASSES = DIGITS + 1
OUTPUTS = (DIGITS, CLASSES)


class Classifier:
    """Probabilities of the ten digits for batches of normalized 28x28 images."""

    def __init__(self, path: Path = DEFAULT_MODEL) -> None:
        self.path = Path(path)
        try:
            self._content = self.path.read_bytes()
        except OSError as e:
            raise ModelError(f"cannot read the digit model {self.path}: {e.strerror}") from None
        self.temperature = read_temperature(self.path.with_name(CARD_NAME))
        self._local = threading.local()
        # Load it now, so a file that is not a model fails here, not in a worker thread.
        self.classes = self._runner().classes

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) float32 calibrated probabilities of the ten digits for (n, 28, 28) float32
        images in 0..1. Each row sums to 1 less the probability that the image is no digit."""
        return digit_probabilities(self.raw_probabilities(images), self.temperature)

    def raw_probabilities(self, images: np.ndarray) -> np.ndarray:
        """(n, classes) float32 softmax outputs of the model itself, without temperature scaling:
        the ten digits, then "not a digit" if the model has that class."""
        images = np.asarray(images, dtype=np.float32)
        if len(images) == 0:
            return np.empty((0, self.classes), np.float32)
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or images.shape[1:] != (SIZE, SIZE):
            raise ValueError(f"expected (n, {SIZE}, {SIZE}) images, got shape {images.shape}")
        out = np.empty((len(images), self.classes), np.float32)
        for start in range(0, len(images), CHUNK):
            chunk = images[start : start + CHUNK]
            out[start : start + len(chunk)] = self._runner(len(chunk) == CHUNK).run(chunk)
        return out

    def _runner(self, full: bool = True) -> _Runner:
        """This thread's interpreter for full chunks, or the one for the rest of a batch.

        Two per thread, so that a batch of 100 does not resize one interpreter twice per call:
        resizing re-plans the graph and costs about as much as classifying 20 digits.
        """
        runners = getattr(self._local, "runners", None)
        if runners is None:
            runners = self._local.runners = {}
        if full not in runners:
            runners[full] = _Runner(self.path, self._content)
        return runners[full]


class _Runner:
    """One LiteRT interpreter on one CPU thread, resized only when the batch size changes."""

    def __init__(self, path: Path, content: bytes) -> None:
        try:
            self.interpreter = Interpreter(model_content=content, num_threads=1)
            self.interpreter.allocate_tensors()
            inp = self.interpreter.get_input_details()[0]
            out = self.interpreter.get_output_details()[0]
        except (ValueError, RuntimeError, IndexError) as e:
            raise ModelError(f"{path} is not a usable TFLite model ({e})") from None
        self.shape = tuple(int(s) for s in inp["shape"][1:])
        self.classes = int(out["shape"][-1])
        if (
            self.shape not in ((SIZE, SIZE), (SIZE, SIZE, 1))
            or len(out["shape"]) != 2
            or self.classes not in OUTPUTS
        ):
            raise ModelError(
                f"{path} is not a digit model: input {tuple(inp['shape'])}, "
                f"output {tuple(out['shape'])}"
            )
        self.input, self.output, self.batch = inp["index"], out["index"], int(inp["shape"][0])

    def run(self, batch: np.ndarray) -> np.ndarray:
        if self.batch != len(batch):
            self.interpreter.resize_tensor_input(self.input, (len(batch), *self.shape))
            self.interpreter.allocate_tensors()
            self.batch = len(batch)
        self.interpreter.set_tensor(self.input, batch.reshape(len(batch), *self.shape))
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self.output)


_shared: Classifier | None = None
_shared_lock = threading.Lock()


def get_classifier() -> Classifier:
    """The process-wide classifier for the shipped model, loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Classifier()
        return _shared


def digit_probabilities(raw: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """The ten digits' columns of a model's softmax `raw`, calibrated at `temperature`."""
    return apply_temperature(raw, temperature)[:, :DIGITS]


def read_temperature(card: Path) -> float:
    """The calibration temperature from a model card; 1 (no scaling) when there is no card."""
    if not card.exists():
        return 1.0
    try:
        temperature = float(json.loads(card.read_text())["temperature"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ModelError(f"cannot read the temperature from {card} ({e})") from None
    if not 0 < temperature < 100:
        raise ModelError(f"{card} holds an implausible temperature {temperature}")
    return temperature
