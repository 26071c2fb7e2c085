"""The MNIST digits the model learns from and is scored on.

An `mnist.npz` holds `x_train, y_train, x_test, y_test` (uint8 28x28 digits and their labels);
without one, Keras' own download is used. Validation digits are carved out of the training digits
with a fixed seed, so the official test split is only ever used for the final figures.
"""

from __future__ import annotations

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.errors import DataError
from core.normalize import SIZE, to_mnist_batch

ARRAYS = ("x_train", "y_train", "x_test", "y_test")
VALIDATION_FRACTION = 0.1  # ~2,270 of our 22,699 training digits: early stopping and temperature
SPLIT_SEED = 20240611  # fixed, so every run holds out the same validation digits


@dataclass(frozen=True)
class Mnist:
    """Digits as uint8 (n, 28, 28) arrays with uint8 labels, and where they came from."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str

    def describe(self) -> str:
        """One line for the model card: where the digits came from and how many there are."""
        return (
            f"MNIST from {self.source}: {len(self.x_train)} training digits "
            f"(validation carved out of them), {len(self.x_test)} official test digits"
        )


def load(path: Path | str | None = None) -> Mnist:
    """The npz at `path`, or Keras' MNIST download when `path` is None."""
    return load_keras() if path is None else load_npz(path)


def load_npz(path: Path | str) -> Mnist:
    """Read and check an npz with x_train, y_train, x_test, y_test; DataError if it is unfit."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file not found: {path}")
    try:
        npz = np.load(path, allow_pickle=False)
        if not isinstance(npz, np.lib.npyio.NpzFile):
            raise DataError(f"{path} holds a single array, not an .npz with {', '.join(ARRAYS)}")
        with npz:
            missing = [name for name in ARRAYS if name not in npz.files]
            if missing:
                raise DataError(f"{path} lacks the arrays {', '.join(missing)}")
            arrays = {name: npz[name] for name in ARRAYS}
    except DataError:
        raise
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise DataError(f"{path} is not a readable .npz file ({_first_line(e)})") from None
    return _checked(arrays, source=str(path), sha256=sha256(path))


def load_keras() -> Mnist:
    """MNIST from Keras' own download (cached in ~/.keras/datasets); needs internet once."""
    try:
        import keras  # TensorFlow only here: the download is Keras' job.

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as e:  # noqa: BLE001 - any failure means: no data, say why in one line
        raise DataError(
            f"could not download MNIST with Keras ({_first_line(e)}); pass --data PATH"
        ) from None
    arrays = {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
    digest = hashlib.sha256(
        b"".join(np.ascontiguousarray(arrays[name]).tobytes() for name in ARRAYS)
    ).hexdigest()
    return _checked(arrays, source="keras.datasets.mnist", sha256=digest)


def sha256(path: Path | str) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def split_validation(
    x: np.ndarray, y: np.ndarray, fraction: float = VALIDATION_FRACTION, seed: int = SPLIT_SEED
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_train, y_train, x_val, y_val): a fixed random `fraction` of the digits held out."""
    order = np.random.default_rng(seed).permutation(len(x))
    n_val = max(1, round(len(x) * fraction))
    val, train = np.sort(order[:n_val]), np.sort(order[n_val:])
    return x[train], y[train], x[val], y[val]


def prepare(x: np.ndarray) -> np.ndarray:
    """Digits as the model sees them: `to_mnist` of each, (n, 28, 28) float32 in 0..1."""
    return to_mnist_batch(x)


def _first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _checked(arrays: dict[str, np.ndarray], source: str, sha256: str) -> Mnist:
    for split in ("train", "test"):
        x, y = arrays[f"x_{split}"], arrays[f"y_{split}"]
        if x.ndim != 3 or x.shape[1:] != (SIZE, SIZE):
            raise DataError(f"{source}: x_{split} has shape {x.shape}, expected (n, 28, 28)")
        if y.shape != (len(x),):
            raise DataError(f"{source}: y_{split} has shape {y.shape}, expected ({len(x)},)")
        if len(x) == 0:
            raise DataError(f"{source}: x_{split} is empty")
        if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() > 9:
            raise DataError(f"{source}: y_{split} must hold integer labels 0-9")
        if not np.issubdtype(x.dtype, np.number):
            raise DataError(f"{source}: x_{split} must be numeric, got {x.dtype}")
    out = {}
    for name in ARRAYS:
        a = arrays[name]
        if name.startswith("x") and a.dtype != np.uint8:
            a = np.clip(a * (255.0 if a.max() <= 1.0 else 1.0), 0, 255).round()
        out[name] = np.ascontiguousarray(a, dtype=np.uint8)
    return Mnist(**out, source=source, sha256=sha256)
