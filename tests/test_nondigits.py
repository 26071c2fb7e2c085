"""The marks drawn for the model's "not a digit" class, and how the shipped model reads them."""

import numpy as np

from core import nondigits
from core.classify import get_classifier
from core.data import prepare
from core.metrics import no_digit


def test_marks_are_reproducible_images_in_mnist_form():
    a = nondigits.draw(300, np.random.default_rng(5))
    assert a.shape == (300, 28, 28) and a.dtype == np.uint8
    assert np.array_equal(a, nondigits.draw(300, np.random.default_rng(5)))
    assert not np.array_equal(a, nondigits.draw(300, np.random.default_rng(6)))
    # Like an MNIST digit: the longer side of the ink fills the 20-px box, its centre of mass
    # in the middle of the 28x28 image.
    for image in a:
        rows, cols = np.flatnonzero(image.max(1) > 25), np.flatnonzero(image.max(0) > 25)
        assert 18 <= max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 <= 22
        weight = image.astype(np.float64) / image.sum()
        centre = (weight.sum(1) @ np.arange(28), weight.sum(0) @ np.arange(28))
        assert np.allclose(centre, 14, atol=1.0)


def test_the_model_reads_marks_as_no_digit_and_digits_as_digits(mnist_sample):
    x, y = mnist_sample
    classifier = get_classifier()
    assert classifier.classes == 11
    marks = classifier.probabilities(prepare(nondigits.draw(400, np.random.default_rng(11))))
    assert no_digit(marks).mean() >= 0.9
    digits = classifier.probabilities(prepare(x))
    assert no_digit(digits).sum() <= 3
    assert (digits.argmax(axis=1) == y).mean() >= 0.99


def test_no_digit_needs_the_eleventh_class_to_outweigh_every_digit():
    probs = np.zeros((3, 10), np.float32)
    probs[0, 3], probs[1, 3], probs[2, 3] = 1.0, 0.45, 0.55
    assert no_digit(probs).tolist() == [False, True, False]
