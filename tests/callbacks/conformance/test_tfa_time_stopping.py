"""TFA's tests of TimeStopping (tensorflow_addons/callbacks/tests/time_stopping_test.py),
ported to tfx_ext. TFA's sleeping layer was `dynamic=True`; Keras 3 has no
dynamic layers, so the model is compiled with `run_eagerly=True` (the sleep
runs at every batch either way)."""

import contextlib
import io
import time

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.callbacks import TimeStopping


class SleepLayer(keras.layers.Layer):
    def __init__(self, secs):
        super().__init__()
        self.secs = secs

    def call(self, inputs):
        time.sleep(self.secs)
        return inputs


def get_data_and_model(secs):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype="float32")
    y = np.array([[0], [1], [1], [0]], dtype="float32")
    model = keras.Sequential([keras.Input((2,)), SleepLayer(secs), keras.layers.Dense(1)])
    model.compile(loss="mean_squared_error", run_eagerly=True)
    model.fit(X, y, epochs=1, verbose=0)
    return X, y, model


class TFATimeStoppingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_stop_at_the_right_time(self):
        X, y, model = get_data_and_model(0.1)
        history = model.fit(X, y, epochs=30, verbose=0, callbacks=[TimeStopping(2, verbose=0)])
        self.assertLessEqual(len(history.epoch), 20)

    def test_default_value(self):
        X, y, model = get_data_and_model(0.1)
        history = model.fit(X, y, epochs=15, verbose=0, callbacks=[TimeStopping()])
        self.assertEqual(len(history.epoch), 15)

    def test_time_stopping_verbose(self):
        for verbose in (0, 1):
            with self.subTest(verbose=verbose):
                X, y, model = get_data_and_model(0.25)
                output = io.StringIO()
                with contextlib.redirect_stdout(output):
                    history = model.fit(
                        X, y, epochs=10, verbose=0, callbacks=[TimeStopping(1, verbose=verbose)]
                    )
                message = "Timed stopping at epoch " + str(len(history.epoch))
                if verbose:
                    self.assertIn(message, output.getvalue())
                else:
                    self.assertNotIn(message, output.getvalue())
                self.assertLessEqual(len(history.epoch), 4)
