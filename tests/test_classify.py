import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import SHARED_MNIST, needs_shared

from core import metrics
from core.classify import CHUNK, DEFAULT_MODEL, Classifier, digit_probabilities, get_classifier
from core.errors import ModelError
from core.normalize import to_mnist_batch

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def digits(mnist_sample):
    x, y = mnist_sample
    return to_mnist_batch(x), y


def test_shipped_model_scores_99_percent(digits):
    images, labels = digits
    probs = get_classifier().probabilities(images)
    assert probs.shape == (1000, 10) and probs.dtype == np.float32
    assert metrics.accuracy(probs, labels) >= 0.99
    # What a row lacks of 1 is the probability of the eleventh class, "not a digit": tiny here.
    assert (probs.sum(axis=1) <= 1 + 1e-5).all() and np.median(probs.sum(axis=1)) > 0.999


def test_a_ten_class_model_still_loads(tmp_path, digits):
    # A model trained before the eleventh class: its digits' probabilities sum to 1.
    import keras
    import tensorflow as tf

    inputs = keras.Input((28, 28))
    outputs = keras.layers.Dense(10, activation="softmax")(keras.layers.Flatten()(inputs))
    converter = tf.lite.TFLiteConverter.from_keras_model(keras.Model(inputs, outputs))
    (tmp_path / "ten.tflite").write_bytes(converter.convert())
    ten = Classifier(tmp_path / "ten.tflite")
    probs = ten.probabilities(digits[0][:20])
    assert ten.classes == 10 and probs.shape == (20, 10)
    assert np.allclose(probs.sum(axis=1), 1.0, atol=1e-5)


def test_the_seed_network_for_comparison_scores_99_percent(digits):
    images, labels = digits
    seed = Classifier(ROOT / "models" / "seed" / "digits.tflite")
    assert metrics.accuracy(seed.probabilities(images), labels) >= 0.99


@needs_shared
def test_shipped_model_scores_what_its_card_says_on_the_whole_test_split():
    d = np.load(SHARED_MNIST)
    probs = digit_probabilities(get_classifier().raw_probabilities(to_mnist_batch(d["x_test"])))
    card = json.loads((DEFAULT_MODEL.parent / "model_card.json").read_text())
    assert metrics.accuracy(probs, d["y_test"]) == pytest.approx(card["test_accuracy"], abs=1e-4)


def test_shipped_model_card_matches_the_file():
    card = json.loads((DEFAULT_MODEL.parent / "model_card.json").read_text())
    assert card["file_bytes"]["digits.tflite"] == DEFAULT_MODEL.stat().st_size
    assert get_classifier().temperature == card["temperature"]
    assert DEFAULT_MODEL.stat().st_size <= 1_000_000


def test_get_classifier_is_shared():
    assert get_classifier() is get_classifier()
    assert get_classifier().path == DEFAULT_MODEL


def test_temperature_is_applied(digits):
    images, _ = digits
    c = get_classifier()
    raw, calibrated = c.raw_probabilities(images[:50]), c.probabilities(images[:50])
    assert raw.shape == (50, 11) and calibrated.shape == (50, 10)
    expected = metrics.apply_temperature(raw, c.temperature)[:, :10]
    assert np.allclose(calibrated, expected, atol=1e-6)
    assert np.array_equal(raw[:, :10].argmax(axis=1), calibrated.argmax(axis=1))


def test_empty_and_odd_batches(digits):
    images, _ = digits
    c = get_classifier()
    assert c.probabilities(np.zeros((0, 28, 28), np.float32)).shape == (0, 10)
    assert c.probabilities([]).shape == (0, 10)
    whole = c.probabilities(images[: 3 * CHUNK + 7])  # several chunks, and a ragged end
    for n in (1, 3, CHUNK, CHUNK + 7, 3 * CHUNK + 7, 5):
        assert np.allclose(c.probabilities(images[:n]), whole[:n], atol=1e-5)
    assert np.allclose(c.probabilities(images[:4, :, :, None]), whole[:4], atol=1e-5)
    with pytest.raises(ValueError, match="28"):
        c.probabilities(np.zeros((2, 32, 32), np.float32))


def test_threads_get_the_same_answers(digits):
    images, _ = digits
    c = Classifier()
    expected = c.probabilities(images[:200])
    results, errors = {}, []

    def work(k):
        try:
            sizes = (1, 200, 7, 64) if k % 2 else (200, 3, 64, 1)
            results[k] = [(n, c.probabilities(images[:n])) for _ in range(5) for n in sizes]
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 6
    for answers in results.values():
        for n, probs in answers:
            assert np.allclose(probs, expected[:n], atol=1e-5)


def test_missing_model_names_the_file(tmp_path):
    path = tmp_path / "nothing.tflite"
    with pytest.raises(ModelError, match=str(path)):
        Classifier(path)


@pytest.mark.parametrize("content", [b"", b"not a model at all" * 100, "truncated"])
def test_corrupt_model_names_the_file(tmp_path, content):
    path = tmp_path / "broken.tflite"
    path.write_bytes(DEFAULT_MODEL.read_bytes()[:5000] if content == "truncated" else content)
    with pytest.raises(ModelError, match=str(path)):
        Classifier(path)


def test_bad_card_names_the_card(tmp_path):
    path = tmp_path / "digits.tflite"
    path.write_bytes(DEFAULT_MODEL.read_bytes())
    assert Classifier(path).temperature == 1.0  # no card: no scaling
    (tmp_path / "model_card.json").write_text("{ not json")
    with pytest.raises(ModelError, match="model_card.json"):
        Classifier(path)


def test_serving_does_not_import_tensorflow():
    code = (
        "import sys, numpy as np; import core.classify as c, core.evaluate, core.metrics, "
        "core.data, core.augment, core.normalize; "
        "c.get_classifier().probabilities(np.zeros((2, 28, 28), np.float32)); "
        "assert not [m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')], 1"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_ece_on_a_hand_made_case():
    # Four predictions at confidence 0.9, three right: the bin's gap is |0.75 - 0.9| = 0.15.
    # Four at 0.6, all right: gap 0.4. ECE weights both by 4/8.
    probs = np.full((8, 10), 0.0)
    probs[:4, 0], probs[:4, 1] = 0.9, 0.1
    probs[4:, 2], probs[4:, 3] = 0.6, 0.4
    labels = np.array([0, 0, 0, 1, 2, 2, 2, 2])
    assert metrics.ece(probs, labels) == pytest.approx(0.5 * 0.15 + 0.5 * 0.4)
    assert metrics.ece(np.eye(10), np.arange(10)) == 0.0


def test_temperature_fit_lowers_nll():
    # Labels drawn from softmax(logits) are calibrated at T = 1; softmax(3 * logits) is
    # overconfident by a factor 3, which the fit should find and undo.
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 2, (4000, 10))
    calibrated = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in calibrated])
    over = np.exp(3 * logits) / np.exp(3 * logits).sum(axis=1, keepdims=True)
    t = metrics.fit_temperature(over, labels)
    assert t == pytest.approx(3.0, rel=0.1)
    assert metrics.nll(metrics.apply_temperature(over, t), labels) < metrics.nll(over, labels)
    assert metrics.ece(metrics.apply_temperature(over, t), labels) < metrics.ece(over, labels)


def test_confusion_and_precision_recall():
    matrix = metrics.confusion_matrix(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]), classes=2)
    assert matrix.tolist() == [[1, 1], [0, 2]]
    precision, recall = metrics.precision_recall(matrix)
    assert precision.tolist() == pytest.approx([1.0, 2 / 3])
    assert recall.tolist() == pytest.approx([0.5, 1.0])
