"""Shared fixtures. Heavy checks that need the full MNIST copy in ../shared skip without it."""

from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
SHARED_MNIST = ROOT.parent / "shared" / "data" / "mnist.npz"

needs_shared = pytest.mark.skipif(
    not SHARED_MNIST.exists(), reason="needs ../shared/data/mnist.npz (CI has it)"
)


@pytest.fixture(scope="session")
def mnist_sample() -> tuple[np.ndarray, np.ndarray]:
    """The first 1,000 official MNIST test digits (uint8 28x28) and labels, shipped in tests/."""
    d = np.load(FIXTURES / "mnist_test_1000.npz")
    return d["x"], d["y"]
