import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from core import data as mnist
from core.errors import DataError

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def npz(tmp_path, mnist_sample):
    x, y = mnist_sample
    path = tmp_path / "mnist.npz"
    np.savez(path, x_train=x[:800], y_train=y[:800], x_test=x[800:], y_test=y[800:])
    return path


def test_loads_an_npz(npz):
    d = mnist.load_npz(npz)
    assert d.x_train.shape == (800, 28, 28) and d.x_train.dtype == np.uint8
    assert d.y_test.shape == (200,)
    assert d.sha256 == mnist.sha256(npz) and len(d.sha256) == 64
    assert "800 training digits" in d.describe() and "200 official test digits" in d.describe()


def test_float_images_become_uint8(tmp_path, mnist_sample):
    x, y = mnist_sample
    path = tmp_path / "float.npz"
    np.savez(path, x_train=x[:50] / 255.0, y_train=y[:50], x_test=x[50:60] / 255.0, y_test=y[50:60])
    assert np.array_equal(mnist.load_npz(path).x_train, x[:50])


def test_validation_split_is_disjoint_and_deterministic():
    x = np.arange(1000).reshape(1000, 1, 1) * np.ones((1, 28, 28), np.int64)
    y = np.arange(1000) % 10
    xt, yt, xv, yv = mnist.split_validation(x, y)
    assert len(xv) == 100 and len(xt) == 900
    ids_train, ids_val = set(xt[:, 0, 0]), set(xv[:, 0, 0])
    assert not ids_train & ids_val and len(ids_train | ids_val) == 1000
    assert np.array_equal(yv, xv[:, 0, 0] % 10)  # labels travel with their digits
    again = mnist.split_validation(x, y)
    assert np.array_equal(again[2], xv)
    assert not np.array_equal(mnist.split_validation(x, y, seed=2)[2], xv)


def test_prepare_runs_to_mnist(mnist_sample):
    x, _ = mnist_sample
    out = mnist.prepare(x[:5])
    assert out.shape == (5, 28, 28) and out.dtype == np.float32 and out.max() <= 1.0


def _save(path, **arrays):
    np.savez(path, **arrays)
    return path


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("missing", "not found"),
        ("not_npz", "not a readable .npz"),
        ("truncated", "not a readable .npz"),
        ("lacks", "lacks the arrays y_test"),
        ("shape", "x_train has shape (10, 32, 32)"),
        ("labels", "y_train has shape (9,)"),
        ("label_range", "labels 0-9"),
        ("pickled", "not a readable .npz"),
        ("npy", "holds a single array"),
    ],
)
def test_unfit_files_give_a_clear_data_error(tmp_path, npz, case, message):
    x = np.zeros((10, 28, 28), np.uint8)
    y = np.zeros(10, np.uint8)
    path = tmp_path / "bad.npz"
    if case == "not_npz":
        path.write_text("hello")
    elif case == "truncated":
        path.write_bytes(npz.read_bytes()[:1000])
    elif case == "lacks":
        _save(path, x_train=x, y_train=y, x_test=x)
    elif case == "shape":
        _save(path, x_train=np.zeros((10, 32, 32)), y_train=y, x_test=x, y_test=y)
    elif case == "labels":
        _save(path, x_train=x, y_train=y[:9], x_test=x, y_test=y)
    elif case == "label_range":
        _save(path, x_train=x, y_train=y + 10, x_test=x, y_test=y)
    elif case == "npy":
        with open(path, "wb") as f:
            np.save(f, x)
    elif case == "pickled":
        _save(path, x_train=np.array([{}] * 10, dtype=object), y_train=y, x_test=x, y_test=y)
    with pytest.raises(DataError) as err:
        mnist.load_npz(path)
    assert message in str(err.value)
    assert str(path) in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("command", ["train", "evaluate"])
def test_cli_prints_one_line_and_fails(tmp_path, command):
    missing = tmp_path / "nowhere.npz"
    run = subprocess.run(
        [sys.executable, "-m", "core", command, "--data", str(missing), "--out", str(tmp_path)]
        if command == "train"
        else [sys.executable, "-m", "core", command, "--data", str(missing)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode != 0
    assert run.stderr.strip() == f"error: data file not found: {missing}"
    assert "Traceback" not in run.stdout + run.stderr


def test_evaluate_prints_the_figures_of_the_shipped_model(tmp_path, mnist_sample, capsys):
    from core import evaluate

    x, y = mnist_sample
    data = tmp_path / "mnist.npz"
    np.savez(data, x_train=x[:100], y_train=y[:100], x_test=x[:500], y_test=y[:500])
    assert evaluate.main(["--data", str(data)]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("accuracy")[1].split("%")[0])
    assert accuracy >= 99.0 and "ECE" in out and "confusion" in out
    assert int(out.split("no digit")[1].split()[0]) <= 2  # of 500 test digits
