"""The one result type that flows out of the core: what was read in a photo."""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Digit:
    """One digit found in the photo.

    `box` is (x, y, width, height) in the coordinates of the original photo after its EXIF
    orientation has been applied. `alternatives` holds the top three (value, probability)
    pairs, best first. `line` counts text lines from 0, top to bottom.
    """

    value: int
    confidence: float
    alternatives: tuple[tuple[int, float], ...]
    box: tuple[int, int, int, int]
    line: int
    uncertain: bool = False


@dataclass(frozen=True)
class Result:
    """Everything read from one photo.

    `text` holds the digits in reading order; numbers on separate lines are joined by a newline,
    clearly separate groups on one line by a single space. `size` is the (width, height) of the
    photo the boxes refer to.
    """

    digits: tuple[Digit, ...]
    text: str
    warnings: tuple[str, ...] = ()
    size: tuple[int, int] = (0, 0)

    def to_dict(self) -> dict:
        """A JSON-ready dict."""
        return asdict(self)
