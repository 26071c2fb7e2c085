"""End to end: a tiny training run exports a .tflite file that LiteRT runs like Keras does."""

import json
import shutil

import numpy as np
import pytest

from core import train
from core.classify import Classifier
from core.normalize import to_mnist_batch
from core.report import FILES

# Keras 3.15 with numpy 2 warns about __array__ copy semantics on every predict; not ours to fix.
pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")


@pytest.fixture(scope="module")
def run(tmp_path_factory, mnist_sample):
    x, y = mnist_sample
    folder = tmp_path_factory.mktemp("train")
    data = folder / "mnist.npz"
    np.savez(data, x_train=x[:400], y_train=y[:400], x_test=x[900:], y_test=y[900:])
    code = train.main(["--data", str(data), "--epochs", "1", "--seed", "3", "--out", str(folder)])
    assert code == 0
    return folder


def test_exports_model_card_and_report(run):
    assert (run / "digits.tflite").stat().st_size > 10_000
    card = json.loads((run / "model_card.json").read_text())
    assert card["arch"] == "default" and card["seed"] == 3 and card["epochs_run"] == 1
    assert card["data"]["train"] + card["data"]["validation"] == 400
    assert card["data"]["test"] == 100 and len(card["data"]["sha256"]) == 64
    assert 0 < card["temperature"] < 100
    assert 0 <= card["test_accuracy"] <= 1 and 0 <= card["test_ece"]["calibrated"] <= 1
    assert card["file_bytes"]["digits.tflite"] == (run / "digits.tflite").stat().st_size
    assert card["parameters"] > 10_000 and "tensorflow" in card["versions"]
    assert card["keras_tflite_max_abs_diff"] < 1e-4
    assert card["output"].startswith("(n, 11)") and card["not_a_digit"]["marks"] == 40
    assert 0 <= card["not_a_digit"]["marks_read_as_no_digit"] <= 1
    for name in FILES:
        assert (run / "report" / name).stat().st_size > 5_000


def test_tflite_matches_keras(run, tmp_path, mnist_sample):
    import keras

    x, _ = mnist_sample
    images = to_mnist_batch(x[:300])
    shutil.copy(run / "digits.tflite", tmp_path / "digits.tflite")  # no card beside it: T = 1
    lite = Classifier(tmp_path / "digits.tflite")
    assert lite.temperature == 1.0
    expected = keras.saving.load_model(run / "digits.keras").predict(images, verbose=0)
    assert expected.shape == (300, 11)  # the ten digits, then "not a digit"
    assert np.abs(lite.probabilities(images) - expected[:, :10]).max() < 1e-4
    with_card = Classifier(run / "digits.tflite")
    assert np.abs(with_card.raw_probabilities(images) - expected).max() < 1e-4
