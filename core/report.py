"""The training report: the seed notebooks' pictures, drawn as PNG files with matplotlib."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, never a window
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from core.metrics import confusion_matrix  # noqa: E402

FILES = (
    "samples.png",
    "class_distribution.png",
    "training_curves.png",
    "confusion_matrix.png",
    "misclassified.png",
    "robustness.png",
)


def write_report(
    folder: Path,
    *,
    samples: tuple[np.ndarray, np.ndarray, np.ndarray],
    y_train: np.ndarray,
    history: dict[str, list[float]],
    best_epoch: int,
    test_images: np.ndarray,
    y_test: np.ndarray,
    test_probs: np.ndarray,
    robustness: dict,
    title: str = "",
) -> list[Path]:
    """Draw every picture into `folder`; returns the files written.

    `samples` is (raw training digits, their labels, augmented versions of the first ones).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    drawers = (
        lambda: _samples(*samples),
        lambda: _distribution(y_train, y_test),
        lambda: _curves(history, best_epoch, title),
        lambda: _confusion(y_test, test_probs.argmax(axis=1), title),
        lambda: _misclassified(test_images, y_test, test_probs),
        lambda: _robustness(robustness, title),
    )
    written = []
    for name, draw in zip(FILES, drawers, strict=True):
        fig = draw()
        fig.savefig(folder / name, dpi=100, bbox_inches="tight")
        plt.close(fig)
        written.append(folder / name)
    return written


def _grid(images: np.ndarray, labels: list[str], cols: int, title: str):
    rows = max(1, -(-len(images) // cols))
    fig, axes = plt.subplots(rows, cols, figsize=(cols * 1.1, rows * 1.3))
    for ax in np.ravel(axes):
        ax.axis("off")
    for ax, image, label in zip(np.ravel(axes), images, labels, strict=False):
        ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
        ax.set_title(label, fontsize=8)
    fig.suptitle(title)
    return fig


def _samples(x: np.ndarray, y: np.ndarray, augmented: np.ndarray):
    n = min(20, len(x), len(augmented))
    images = np.concatenate([x[:n] / 255.0, augmented[:n]])
    labels = [f"{d}" for d in y[:n]] + [f"{d} varied" for d in y[:n]]
    return _grid(images, labels, 10, "training digits, then as the model sees them in training")


def _distribution(y_train: np.ndarray, y_test: np.ndarray):
    fig, ax = plt.subplots(figsize=(7, 3.5))
    digits = np.arange(10)
    ax.bar(digits - 0.2, np.bincount(y_train, minlength=10), 0.4, label="training")
    ax.bar(digits + 0.2, np.bincount(y_test, minlength=10), 0.4, label="test")
    ax.set(xticks=digits, xlabel="digit", ylabel="count", title="class distribution")
    ax.legend()
    return fig


def _curves(history: dict[str, list[float]], best_epoch: int, title: str):
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for ax, key in ((acc, "accuracy"), (loss, "loss")):
        ax.plot(epochs, history[key], label=f"training (augmented) {key}")
        ax.plot(epochs, history[f"val_{key}"], label=f"validation {key}")
        ax.axvline(best_epoch + 1, color="grey", linestyle=":", label="kept weights")
        ax.set(xlabel="epoch", ylabel=key)
        ax.legend()
    acc.set_ylim(max(0.9, min(history["val_accuracy"] + history["accuracy"]) - 0.005), 1.0)
    loss.set_yscale("log")
    fig.suptitle(title)
    return fig


def _confusion(y_true: np.ndarray, y_pred: np.ndarray, title: str):
    matrix = confusion_matrix(y_true, y_pred)
    fig, ax = plt.subplots(figsize=(6.5, 6))
    shown = np.log1p(matrix)
    ax.imshow(shown, cmap="Blues")
    for (i, j), n in np.ndenumerate(matrix):
        if n:
            colour = "white" if shown[i, j] > shown.max() * 0.6 else "black"
            ax.text(j, i, str(n), ha="center", va="center", fontsize=8, color=colour)
    ax.set(
        xticks=range(10), yticks=range(10), xlabel="predicted", ylabel="true",
        title=f"test confusion matrix\n{title}",
    )  # fmt: skip
    return fig


def _misclassified(images: np.ndarray, y: np.ndarray, probs: np.ndarray):
    predicted = probs.argmax(axis=1)
    wrong = np.flatnonzero(predicted != y)
    wrong = wrong[np.argsort(-probs[wrong, predicted[wrong]])][:60]
    labels = [f"{y[i]} as {predicted[i]} {probs[i, predicted[i]]:.0%}" for i in wrong]
    title = f"misclassified test digits ({(predicted != y).sum()} of {len(y)}), surest first"
    return _grid(images[wrong] if len(wrong) else np.zeros((0, 28, 28)), labels, 10, title)


def _robustness(curves: dict, title: str):
    fig, (rot, noise) = plt.subplots(1, 2, figsize=(11, 4))
    angles, acc = zip(*curves["rotation"], strict=True)
    rot.plot(angles, acc, marker="o")
    rot.set(xlabel="rotation (degrees)", ylabel="test accuracy", title="against rotation")
    stds, acc = zip(*curves["noise"], strict=True)
    noise.plot(stds, acc, marker="o", color="C1")
    noise.set(xlabel="Gaussian noise std (pixels 0..1)", ylabel="test accuracy")
    noise.set_title("against noise")
    for ax in (rot, noise):
        ax.grid(alpha=0.3)
        ax.set_ylim(0, 1.01)
    fig.suptitle(title)
    return fig
