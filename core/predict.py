"""`python -m core predict [PATH...] [--json] [--out DIR]`: read the digits in photos.

One line per photo (`file: 12345`; several lines of digits are joined by " / "), or with --json
one JSON object per line. --out writes each annotated picture as DIR/<name>.png. A file that
cannot be read gives a one-line error on stderr and the others are still read; the exit status
is 1 if any file failed. With no PATH the sample photos shipped in core/samples/ are read.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from core.errors import DigitbotError

SAMPLES = Path(__file__).resolve().parent / "samples"
SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core predict", description="Read the handwritten digits in photos."
    )
    parser.add_argument("paths", nargs="*", type=Path, help="photos (default: core/samples/)")
    parser.add_argument("--json", action="store_true", help="one JSON object per photo")
    parser.add_argument("--out", type=Path, help="write the annotated pictures here")
    args = parser.parse_args(argv)

    from core.decode import decode
    from core.read import read
    from core.render import render

    paths = args.paths or sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in SUFFIXES)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
    failed = 0
    for path in paths:
        try:
            photo = decode(path)
            result = read(photo)
            if args.out:
                (args.out / f"{path.stem}.png").write_bytes(render(result, photo))
        except DigitbotError as e:
            print(f"{path}: error: {e}", file=sys.stderr)
            failed += 1
            continue
        if args.json:
            d = result.to_dict()
            print(json.dumps({"file": str(path), **d}, separators=(",", ":")))
        else:
            text = result.text.replace("\n", " / ") if result.digits else "(no digits)"
            print(f"{path}: {text}")
        sys.stdout.flush()
    return 1 if failed else 0
