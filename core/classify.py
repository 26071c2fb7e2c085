"""The serving classifier: the exported .tflite model run with LiteRT, no TensorFlow.

It takes 28x28 digits from `core.normalize.to_mnist` and returns calibrated probabilities: the
model's softmax softened or sharpened by the temperature fitted on validation digits at training
time (read from the `model_card.json` beside the model). The bot calls it from several worker
threads at once; each thread gets its own LiteRT interpreter, running on one CPU thread, because
an interpreter is not safe to share.
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
CHUNK = 256  # digits per invoke: larger batches gain nothing per digit (bench/bench_model.py)


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
        self._interpreter()  # fail now, not in a worker thread, if the file is not a model

    def probabilities(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) float32 calibrated probabilities for (n, 28, 28) float32 images in 0..1."""
        return apply_temperature(self.raw_probabilities(images), self.temperature)

    def raw_probabilities(self, images: np.ndarray) -> np.ndarray:
        """(n, 10) float32 softmax outputs of the model itself, without temperature scaling."""
        images = np.asarray(images, dtype=np.float32)
        if images.size == 0 and len(images) == 0:
            return np.empty((0, 10), np.float32)
        if images.ndim == 4 and images.shape[-1] == 1:
            images = images[..., 0]
        if images.ndim != 3 or images.shape[1:] != (SIZE, SIZE):
            raise ValueError(f"expected (n, {SIZE}, {SIZE}) images, got shape {images.shape}")
        out = np.empty((len(images), 10), np.float32)
        for start in range(0, len(images), CHUNK):
            chunk = images[start : start + CHUNK]
            out[start : start + len(chunk)] = self._invoke(chunk)
        return out

    def _invoke(self, batch: np.ndarray) -> np.ndarray:
        interpreter = self._interpreter()
        local = self._local
        if local.batch != len(batch):
            interpreter.resize_tensor_input(local.input, (len(batch), *local.shape))
            interpreter.allocate_tensors()
            local.batch = len(batch)
        interpreter.set_tensor(local.input, batch.reshape(len(batch), *local.shape))
        interpreter.invoke()
        return interpreter.get_tensor(local.output)

    def _interpreter(self) -> Interpreter:
        local = self._local
        if getattr(local, "interpreter", None) is None:
            try:
                interpreter = Interpreter(model_content=self._content, num_threads=1)
                interpreter.allocate_tensors()
                inp = interpreter.get_input_details()[0]
                out = interpreter.get_output_details()[0]
            except (ValueError, RuntimeError, IndexError) as e:
                raise ModelError(f"{self.path} is not a usable TFLite model ({e})") from None
            shape = tuple(int(s) for s in inp["shape"][1:])
            if shape not in ((SIZE, SIZE), (SIZE, SIZE, 1)) or tuple(out["shape"][1:]) != (10,):
                raise ModelError(
                    f"{self.path} is not a digit model: input {tuple(inp['shape'])}, "
                    f"output {tuple(out['shape'])}"
                )
            local.input, local.output, local.shape = inp["index"], out["index"], shape
            local.batch = int(inp["shape"][0])
            local.interpreter = interpreter
        return local.interpreter


_shared: Classifier | None = None
_shared_lock = threading.Lock()


def get_classifier() -> Classifier:
    """The process-wide classifier for the shipped model, loaded on first use."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Classifier()
        return _shared


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
