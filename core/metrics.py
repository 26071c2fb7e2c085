"""Scores for a classifier's probabilities: accuracy, confusion, calibration (numpy only)."""

from __future__ import annotations

import numpy as np

ECE_BINS = 15  # the usual choice since Guo et al., "On Calibration of Modern Neural Networks"
_EPS = 1e-12


def accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of rows whose most probable class is the label."""
    return float((probs.argmax(axis=1) == labels).mean()) if len(labels) else 0.0


def confusion_matrix(labels: np.ndarray, predicted: np.ndarray, classes: int = 10) -> np.ndarray:
    """Counts with true classes as rows and predicted classes as columns."""
    matrix = np.zeros((classes, classes), np.int64)
    np.add.at(matrix, (np.asarray(labels), np.asarray(predicted)), 1)
    return matrix


def precision_recall(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-class precision and recall from a confusion matrix (0 where undefined)."""
    hits = np.diag(matrix).astype(np.float64)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
    recall = np.divide(hits, actual, out=np.zeros_like(hits), where=actual > 0)
    return precision, recall


def ece(probs: np.ndarray, labels: np.ndarray, bins: int = ECE_BINS) -> float:
    """Expected calibration error: the mean gap between confidence and accuracy over
    equal-width confidence bins, weighted by how many predictions fall in each bin."""
    if len(labels) == 0:
        return 0.0
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    which = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for b in range(bins):
        inside = which == b
        if inside.any():
            total += inside.sum() * abs(correct[inside].mean() - confidence[inside].mean())
    return float(total / len(labels))


def not_a_digit(probs: np.ndarray) -> np.ndarray:
    """The probability of "not a digit" for rows of the ten digits' probabilities
    (core.classify): what the ten lack of 1 (float64, so small doubts survive rounding)."""
    return np.maximum(1 - probs.sum(axis=-1, dtype=np.float64), 0.0)


def no_digit(probs: np.ndarray) -> np.ndarray:
    """Which rows of the ten digits' probabilities are read as no digit: where "not a digit"
    outweighs every digit."""
    return not_a_digit(probs) > probs.max(axis=1)


def nll(probs: np.ndarray, labels: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels."""
    return float(-np.log(probs[np.arange(len(labels)), labels] + _EPS).mean())


def apply_temperature(probs: np.ndarray, temperature: float) -> np.ndarray:
    """Temperature-scaled probabilities: softmax(log(p) / T). T > 1 softens, T < 1 sharpens."""
    if temperature == 1.0 or len(probs) == 0:
        return probs
    logits = np.log(np.maximum(probs, _EPS)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    e = np.exp(logits)
    return (e / e.sum(axis=1, keepdims=True)).astype(probs.dtype)


def fit_temperature(probs: np.ndarray, labels: np.ndarray) -> float:
    """The temperature that minimizes the NLL of `probs` (held-out data, never the test split).

    A golden-section search over log T in [1/20, 20]; NLL is convex in 1/T, so one minimum.
    """
    probs = probs.astype(np.float64)
    lo, hi = np.log(0.05), np.log(20.0)
    g = (np.sqrt(5) - 1) / 2

    def loss(log_t: float) -> float:
        return nll(apply_temperature(probs, float(np.exp(log_t))), labels)

    a, b = hi - g * (hi - lo), lo + g * (hi - lo)
    fa, fb = loss(a), loss(b)
    for _ in range(60):
        if fa < fb:
            hi, b, fb = b, a, fa
            a = hi - g * (hi - lo)
            fa = loss(a)
        else:
            lo, a, fa = a, b, fb
            b = lo + g * (hi - lo)
            fb = loss(b)
    return round(float(np.exp((lo + hi) / 2)), 4)
