"""Replay of TFA's tutorial `time_stopping.ipynb` with `import tfx_ext as tfa`.

MNIST (a download) is replaced by scikit-learn's 8x8 digits, so the model's
`Flatten` takes (8, 8) inputs; the budget is 2 s instead of 5 s to keep the
test short. Everything else is the tutorial's code.
"""

import contextlib
import io
import re
import time

import keras
import numpy as np
import tensorflow as tf
from keras.layers import Dense, Dropout, Flatten
from keras.models import Sequential
from sklearn.datasets import load_digits

import tfx_ext as tfa


class TimeStoppingTutorialTest(tf.test.TestCase):
    def test_training_stops_after_the_time_budget(self):
        keras.utils.set_random_seed(0)
        digits = load_digits()
        x = (digits.images / 16.0).astype("float32")
        y = digits.target
        x_train, y_train, x_test, y_test = x[:1400], y[:1400], x[1400:], y[1400:]

        model = Sequential()
        model.add(keras.Input((8, 8)))
        model.add(Flatten())
        model.add(Dense(128, activation="relu"))
        model.add(Dropout(0.2))
        model.add(Dense(10, activation="softmax"))
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )

        seconds, epochs = 2, 100_000
        time_stopping_callback = tfa.callbacks.TimeStopping(seconds=seconds, verbose=1)
        printed = io.StringIO()
        start = time.monotonic()
        with contextlib.redirect_stdout(printed):
            history = model.fit(
                x_train,
                y_train,
                batch_size=64,
                epochs=epochs,
                callbacks=[time_stopping_callback],
                validation_data=(x_test, y_test),
                verbose=0,
            )
        elapsed = time.monotonic() - start
        self.assertGreaterEqual(elapsed, seconds)
        # The clock is checked every batch: the overrun is one batch and one validation pass,
        # far below the time of the 100,000 epochs asked for.
        self.assertLess(elapsed, seconds + 10)
        trained_epochs = len(history.history["loss"])
        self.assertLess(trained_epochs, epochs)
        self.assertEqual(time_stopping_callback.stopped_epoch, trained_epochs - 1)
        match = re.search(
            r"Timed stopping at epoch (\d+) after training for 0:00:02", printed.getvalue()
        )
        self.assertIsNotNone(match, printed.getvalue())
        self.assertEqual(int(match.group(1)), trained_epochs)
        # It trained meanwhile (how far depends on the machine's load, so no accuracy bound).
        self.assertTrue(np.all(np.isfinite(history.history["loss"])))
