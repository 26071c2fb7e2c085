"""digitbot core: read handwritten digits in photos.

A plain library with no chat-platform imports. The serving path (reading photos) needs only
NumPy, OpenCV, Pillow and LiteRT; TensorFlow is imported by the training code alone.
"""

from core.errors import DigitbotError, ImageError, ModelError
from core.result import Digit, Result

__all__ = ["Digit", "DigitbotError", "ImageError", "ModelError", "Result"]
