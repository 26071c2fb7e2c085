"""The digit classifiers: the default pairs a compact batch-norm CNN with the seed notebooks'
CNN; each can also be trained alone ("single", "seed").

Every model takes (n, 28, 28) float32 images in 0..1 from `to_mnist`, and tells eleven classes
apart: the ten digits and "not a digit" (core.nondigits). For training it outputs one softmax per
network ("head"), each with its own loss, so the two networks of the pair learn
independently and, being built differently, make different mistakes. `serving` joins the heads
into the model the bot runs: one softmax, the mean of the heads, so the exported .tflite file
needs no pre- or post-processing around it.
"""

from __future__ import annotations

import keras
from keras import layers

from core.classify import CLASSES

ARCHS = ("default", "single", "seed")
# (filters, stride) of the compact network's five 3x3 conv blocks: ~141k parameters, ~11M
# multiply-adds per digit. With the seed network beside it (~93k, ~2M) the pair fits the budgets
# of issue 2: ~0.94 MB as .tflite (limit 1 MB), ~0.13 ms per digit on one core (limit 0.2).
BLOCKS = ((32, 1), (32, 2), (64, 1), (64, 2), (128, 1))


def build(arch: str = "default") -> keras.Model:
    """An untrained training model of the named architecture: one softmax output per head."""
    inputs = keras.Input((28, 28), name="image")
    if arch == "default":
        heads = [_compact(inputs), _seed(inputs)]
    elif arch == "single":
        heads = [_compact(inputs)]
    elif arch == "seed":
        heads = [_seed(inputs)]
    else:
        raise ValueError(f"unknown architecture {arch!r}; choose from {', '.join(ARCHS)}")
    return keras.Model(inputs, heads, name=f"digits_{arch}")


def serving(model: keras.Model) -> keras.Model:
    """The model to export: the mean of the training model's heads, as one softmax output."""
    heads = model.outputs
    mean = heads[0] if len(heads) == 1 else layers.Average(name="mean")(heads)
    probabilities = layers.Identity(name="probabilities")(mean)
    return keras.Model(model.inputs, probabilities, name=model.name)


def _compact(inputs: keras.KerasTensor) -> keras.KerasTensor:
    """Five conv blocks, downsampling by strided convolution early and global average pooling at
    the end (about 0.1 ms per digit on one core with LiteRT, measured before choosing it)."""
    x = layers.Reshape((28, 28, 1))(inputs)
    for filters, stride in BLOCKS:
        x = layers.Conv2D(filters, 3, strides=stride, padding="same", use_bias=False)(x)
        x = layers.BatchNormalization(momentum=0.9)(x)
        x = layers.ReLU()(x)
    x = layers.GlobalAveragePooling2D()(x)
    x = layers.Dropout(0.25)(x)
    return layers.Dense(CLASSES, activation="softmax", name="head_compact")(x)


def _seed(inputs: keras.KerasTensor) -> keras.KerasTensor:
    """The seed notebooks' network."""
    x = layers.Reshape((28, 28, 1))(inputs)
    x = layers.Conv2D(32, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(64, 3, activation="relu")(x)
    x = layers.Flatten()(x)
    x = layers.Dense(64, activation="relu")(x)
    x = layers.Dropout(0.5)(x)
    return layers.Dense(CLASSES, activation="softmax", name="head_seed")(x)
