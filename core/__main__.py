"""Command line: `python -m core {train,evaluate,predict} ...`.

Each subcommand lives in its own module with a `main(argv)`; training and evaluation import
TensorFlow only when they run, so `predict` stays on the light LiteRT path.
"""

from __future__ import annotations

import importlib
import sys

COMMANDS = {
    "train": ("core.train", "train the digit model and export it to models/"),
    "evaluate": ("core.evaluate", "score a .tflite or .keras model on the MNIST test split"),
    "predict": ("core.predict", "read the digits in photos"),
}


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] not in COMMANDS:
        print("usage: python -m core {train,evaluate,predict} [options]\n")
        for name, (_, text) in COMMANDS.items():
            print(f"  {name:9} {text}")
        return 0 if argv and argv[0] in ("-h", "--help") else 2
    module = importlib.import_module(COMMANDS[argv[0]][0])
    return module.main(argv[1:]) or 0


if __name__ == "__main__":
    sys.exit(main())
