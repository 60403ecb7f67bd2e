""" "Hands-On ML" 2nd ed., ch. 15: forecasting generated time series with RNNs.

The book's data is generated, so it is reproduced exactly (`generate_time_series`
with `np.random.seed(42)`, as in the chapter's notebook); the book's naive
baselines are facts about that data. Training is shortened (fewer series and
epochs than the book's 7,000 x 20) to keep the file fast; the models must
still beat the naive forecasts clearly. The book's hand-written
`LNSimpleRNNCell` is `tfx_ext.rnn.LNSimpleRNNCell`.
"""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.rnn import LNSimpleRNNCell

N_STEPS = 50


def generate_time_series(batch_size, n_steps):
    """The book's generator: two sine waves with random frequencies and phases, plus noise."""
    freq1, freq2, offsets1, offsets2 = np.random.rand(4, batch_size, 1)
    time = np.linspace(0, 1, n_steps)
    series = 0.5 * np.sin((time - offsets1) * (freq1 * 10 + 10))
    series += 0.2 * np.sin((time - offsets2) * (freq2 * 20 + 20))
    series += 0.1 * (np.random.rand(batch_size, n_steps) - 0.5)
    return series[..., np.newaxis].astype(np.float32)


def mse(y_true, y_pred):
    return float(np.mean(np.square(np.asarray(y_true, "float64") - np.asarray(y_pred, "float64"))))


class BookChapter15Test(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(42)

    def test_naive_baselines_are_the_books(self):
        # The book's printed values (notebook outputs) for its validation split.
        np.random.seed(42)
        series = generate_time_series(10000, N_STEPS + 1)
        x_valid, y_valid = series[7000:9000, :N_STEPS], series[7000:9000, -1]
        self.assertAllClose(mse(y_valid, x_valid[:, -1]), 0.020211367, rtol=1e-5)
        np.random.seed(42)
        series = generate_time_series(10000, N_STEPS + 10)
        x_valid, y_valid = series[7000:9000, :N_STEPS], series[7000:9000, -10:, 0]
        self.assertAllClose(mse(y_valid, np.tile(x_valid[:, -1], 10)), 0.25697407, rtol=1e-5)

    @pytest.mark.slow
    def test_sequence_to_sequence_with_the_books_layer_norm_cell(self):
        """The book's model: two RNN(LNSimpleRNNCell(20)) + TimeDistributed(Dense(10))."""
        np.random.seed(42)
        series = generate_time_series(800, N_STEPS + 10)
        x = series[:, :N_STEPS]
        y = np.empty((800, N_STEPS, 10), "float32")
        for step_ahead in range(1, 11):
            y[..., step_ahead - 1] = series[:, step_ahead : step_ahead + N_STEPS, 0]
        x_train, y_train, x_valid, y_valid = x[:600], y[:600], x[600:], y[600:]

        def last_time_step_mse(y_true, y_pred):
            return keras.metrics.mean_squared_error(y_true[:, -1], y_pred[:, -1])

        model = keras.Sequential(
            [
                keras.Input((None, 1)),
                keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True),
                keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True),
                keras.layers.TimeDistributed(keras.layers.Dense(10)),
            ]
        )
        model.compile(
            loss="mse", optimizer=keras.optimizers.Adam(0.01), metrics=[last_time_step_mse]
        )
        model.fit(x_train, y_train, epochs=4, batch_size=30, verbose=0)
        predicted = model.predict(x_valid, verbose=0)
        naive = mse(y_valid[:, -1], np.tile(x_valid[:, -1], 10))
        ours = mse(y_valid[:, -1], predicted[:, -1])
        self.assertLess(ours, 0.25 * naive)
        # Metric, as Keras computes it, equals the NumPy formula.
        evaluated = model.evaluate(x_valid, y_valid, verbose=0, return_dict=True)
        self.assertAllClose(evaluated["last_time_step_mse"], ours, rtol=1e-4)

        # Unlike the book's class, the cell reloads with no custom_objects.
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "ln_rnn.keras")
            model.save(path)
            loaded = keras.models.load_model(path, compile=False)
        self.assertIsInstance(loaded.layers[0].cell, LNSimpleRNNCell)
        self.assertAllClose(loaded.predict(x_valid, verbose=0), predicted, atol=1e-6)

    def test_linear_one_step_forecast_reaches_least_squares(self):
        """Book: naive 0.020, linear model 0.004 (on 7,000 series, 20 epochs)."""
        np.random.seed(42)
        series = generate_time_series(1000, N_STEPS + 1)
        x_train, y_train = series[:800, :N_STEPS], series[:800, -1]
        x_valid, y_valid = series[800:, :N_STEPS], series[800:, -1]
        naive = mse(y_valid, x_valid[:, -1])

        # The linear model's best is least squares on the 50 lags: an independent target.
        design = np.c_[x_train[..., 0], np.ones(len(x_train))].astype("float64")
        coefficients, *_ = np.linalg.lstsq(design, y_train.astype("float64"), rcond=None)
        least_squares = mse(y_valid, np.c_[x_valid[..., 0], np.ones(len(x_valid))] @ coefficients)
        linear = keras.Sequential(
            [keras.Input((N_STEPS, 1)), keras.layers.Flatten(), keras.layers.Dense(1)]
        )
        linear.compile(loss="mse", optimizer=keras.optimizers.Adam(0.01))
        linear.fit(x_train, y_train, epochs=50, batch_size=100, verbose=0)
        linear_mse = mse(y_valid, linear.predict(x_valid, verbose=0))
        self.assertLess(least_squares, 0.3 * naive)
        self.assertLess(linear_mse, 2.0 * least_squares)
        self.assertLess(linear_mse, 0.3 * naive)
