"""digitbot core: read handwritten digits in photos.

A plain library with no chat-platform imports. The serving path (reading photos) needs only
NumPy, OpenCV, Pillow and LiteRT; TensorFlow is imported by the training code alone.
"""

from core.decode import Photo, decode
from core.errors import DigitbotError, ImageError, ModelError
from core.read import read
from core.render import render
from core.result import Digit, Result

__all__ = [
    "Digit",
    "DigitbotError",
    "ImageError",
    "ModelError",
    "Photo",
    "Result",
    "decode",
    "read",
    "render",
]
