"""Small models, tf.train.Example builders and port helpers shared by the export and serving tests."""

import os
import shutil
import socket
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.datasets import diabetes, digits

PIXELS_SPEC = {"pixels": tf.io.FixedLenFeature([64], tf.float32)}
DIABETES_SPEC = {"features": tf.io.FixedLenFeature([10], tf.float32)}


def temp_dir(test):
    """A fresh directory removed when `test` ends."""
    path = tempfile.mkdtemp(prefix="tfx_ext_test_")
    test.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def free_port():
    """A TCP port nobody listens on right now (bound to port 0, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def digits_classifier(epochs=2, units=32, dropout=0.2, compile_only=False):
    """Input `pixels` (64 floats) -> softmax over 10 digits, output layer `digit`."""
    inputs = keras.Input((64,), name="pixels")
    hidden = keras.layers.Dense(units, activation="relu")(inputs)
    if dropout:
        hidden = keras.layers.Dropout(dropout)(hidden)
    outputs = keras.layers.Dense(10, activation="softmax", name="digit")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="sparse_categorical_crossentropy")
    if epochs and not compile_only:
        x_train, y_train, _, _ = digits()
        model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0)
    return model


def diabetes_regressor(epochs=2):
    """Input `features` (10 floats) -> one value, output layer `value`."""
    inputs = keras.Input((10,), name="features")
    hidden = keras.layers.Dense(16, activation="relu")(inputs)
    outputs = keras.layers.Dense(1, name="value")(hidden)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    if epochs:
        x, y = diabetes()
        model.fit(x, y, epochs=epochs, batch_size=64, verbose=0)
    return model


def float_example(**features):
    """A serialized tf.train.Example with one float_list per feature (built here, not by tfx_ext)."""
    feature = {
        name: tf.train.Feature(
            float_list=tf.train.FloatList(value=np.asarray(value, "float32").reshape(-1))
        )
        for name, value in features.items()
    }
    return tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString()


def predict(model, x):
    x = [np.asarray(v) for v in x] if isinstance(x, list) else np.asarray(x)
    return np.asarray(model.predict(x, verbose=0))


def leftovers(model_dir):
    """Names in a model directory that are not integer versions."""
    return sorted(name for name in os.listdir(model_dir) if not name.isdigit())


def digits_test_split():
    _, _, x_test, y_test = digits()
    return x_test, y_test
