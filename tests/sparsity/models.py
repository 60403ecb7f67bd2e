"""Small digits models shared by the sparsity tests."""

import keras
import numpy as np

from tests.datasets import digits

BATCH_SIZE = 32


def steps_per_epoch():
    x_train = digits()[0]
    return -(-len(x_train) // BATCH_SIZE)


def mlp(name="mlp"):
    """The digits MLP 64-64-32-10 with named layers (summary tags depend on names)."""
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(64, activation="relu", name="hidden1"),
            keras.layers.Dense(32, activation="relu", name="hidden2"),
            keras.layers.Dense(10, name="logits"),
        ],
        name=name,
    )


def compile_classifier(model, optimizer="adam"):
    model.compile(
        optimizer=optimizer,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def images(x):
    """Digits rows as 8x8x1 images."""
    return np.asarray(x, "float32").reshape((-1, 8, 8, 1))


def kernels(model):
    """{layer name: kernel as NumPy} for every Dense/Conv layer of a plain (stripped) model."""
    return {
        layer.name: keras.ops.convert_to_numpy(layer.kernel)
        for layer in model.layers
        if hasattr(layer, "kernel")
    }


def expected_zeros(size, sparsity):
    """Zeros left by magnitude pruning: tfmot keeps round((1 - s) * n) weights."""
    return size - int(round((1.0 - sparsity) * size))
