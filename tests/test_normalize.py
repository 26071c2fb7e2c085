import cv2
import numpy as np
import pytest

from core.normalize import SIZE, to_mnist


@pytest.fixture
def mnist(mnist_sample):
    return mnist_sample


def test_mnist_digits_pass_nearly_unchanged(mnist):
    x, _ = mnist
    out = np.stack([to_mnist(a) for a in x[:200]])
    assert out.shape == (200, SIZE, SIZE) and out.dtype == np.float32
    assert np.abs(out - x[:200] / 255.0).mean() < 0.04


def test_large_thin_digit_matches_its_small_form(mnist):
    x, _ = mnist
    digit = x[0]
    big = cv2.resize(digit, (280, 280), interpolation=cv2.INTER_LINEAR)
    thin = cv2.erode((big > 127).astype(np.uint8) * 255, np.ones((17, 17), np.uint8))
    assert (thin > 0).sum() < 0.4 * (big > 127).sum()
    out = to_mnist(thin)
    # Without stroke fitting the strokes would shrink to well under a pixel and fade.
    assert out.sum() > 0.6 * to_mnist(digit).sum()
    assert np.abs(out - to_mnist(digit)).mean() < 0.12


def test_position_and_scale_do_not_matter(mnist):
    x, _ = mnist
    canvas = np.zeros((300, 500), np.uint8)
    big = cv2.resize(x[1], (112, 112), interpolation=cv2.INTER_LINEAR)
    canvas[150:262, 300:412] = big
    assert np.abs(to_mnist(canvas) - to_mnist(x[1])).mean() < 0.05


def test_empty_and_float_inputs():
    assert not to_mnist(np.zeros((10, 10), np.uint8)).any()
    assert not to_mnist(np.zeros((0, 0), np.float32)).any()
    dot = np.zeros((5, 5), np.float32)
    dot[2, 2] = 0.5
    out = to_mnist(dot)
    assert out.max() == pytest.approx(1.0, abs=1e-3)
    with pytest.raises(ValueError):
        to_mnist(np.zeros((3, 3, 3)))
