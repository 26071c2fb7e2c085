"""The serving path (bot and `python -m core predict`) must never import TensorFlow."""

import subprocess
import sys

from conftest import ROOT

SERVING = ["core", "core.classify", "core.read", "core.render", "core.predict", "bot.service"]


def test_serving_code_does_not_import_tensorflow():
    code = (
        "import importlib, sys\n"
        f"for name in {SERVING!r}:\n"
        "    importlib.import_module(name)\n"
        "from core.classify import get_classifier\n"
        "get_classifier()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_the_check_itself_sees_tensorflow():
    """Guard against a check that cannot fail: the model definition does import Keras."""
    code = "import sys, core.model; print('tensorflow' in sys.modules or 'keras' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "True"
