"""The /about text: version, model accuracy from the model card, and what happens to photos."""

from __future__ import annotations

import json
import logging
from functools import cache
from importlib import metadata
from pathlib import Path

from bot import texts

log = logging.getLogger(__name__)

MODEL_CARD = Path(__file__).resolve().parent.parent / "models" / "model_card.json"
# Where an accuracy on the official MNIST test set may sit in the card, most specific first.
ACCURACY_KEYS = ("test_accuracy", "mnist_test_accuracy", "accuracy")


@cache
def about_text(card: Path = MODEL_CARD) -> str:
    accuracy = model_accuracy(card)
    note = f" ({accuracy * 100:.1f}% correct on the 10,000 MNIST test digits)" if accuracy else ""
    return texts.ABOUT.format(version=version(), accuracy=note)


def version() -> str:
    try:
        return metadata.version("digitbot")
    except metadata.PackageNotFoundError:
        return "(development copy)"


def model_accuracy(card: Path = MODEL_CARD) -> float | None:
    """The test accuracy the model card reports, as a fraction; None if it has none."""
    try:
        data = json.loads(card.read_text())
    except (OSError, ValueError) as exc:
        log.warning("model card unreadable (%s): /about will not show the accuracy", exc)
        return None
    return _find_accuracy(data)


def _find_accuracy(data: object) -> float | None:
    if not isinstance(data, dict):
        return None
    for key in ACCURACY_KEYS:
        value = data.get(key)
        if isinstance(value, int | float) and 0 < value <= 100:
            return value / 100 if value > 1 else float(value)
    for key in ("metrics", "test", "evaluation", "results"):
        found = _find_accuracy(data.get(key))
        if found is not None:
            return found
    return None
