"""The project's own exceptions: each carries a message fit to show a user."""


class DigitbotError(Exception):
    """Base of every error the core raises on purpose."""


class ImageError(DigitbotError):
    """The input cannot be read as a photo (not an image, truncated, too large, ...)."""


class ModelError(DigitbotError):
    """The model file is missing, corrupt or not the model the code expects."""


class DataError(DigitbotError):
    """The training or test data is missing or not in the expected form."""
