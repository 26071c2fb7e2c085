"""The digit classifiers: a compact batch-norm CNN (the default) and the seed notebooks' CNN.

Both take (n, 28, 28) float32 images in 0..1 from `to_mnist` and output softmax probabilities
over the ten digits, so the exported .tflite file needs no pre- or post-processing around it.
"""

from __future__ import annotations

import keras
from keras import layers

ARCHS = ("default", "seed")


def build(arch: str = "default") -> keras.Model:
    """An untrained model of the named architecture."""
    if arch == "default":
        return _default()
    if arch == "seed":
        return _seed()
    raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")


def _default() -> keras.Model:
    """Five 3x3 conv blocks, 32-32-64-64-128 channels, downsampling by strided convolution early
    and global average pooling at the end: ~141k parameters, ~11M multiply-adds per digit
    (about 0.1 ms on one core with LiteRT, measured before choosing it)."""
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    for filters, stride in ((32, 1), (32, 2), (64, 1), (64, 2), (128, 1)):
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_default")


def _seed() -> keras.Model:
    """The seed notebooks' network, kept for comparison."""
    inputs = keras.Input((28, 28), name="image")
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    outputs = layers.Dense(10, activation="softmax", name="probabilities")(x)
    return keras.Model(inputs, outputs, name="digits_seed")
