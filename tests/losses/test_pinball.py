import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import PinballLoss, pinball_loss


def reference_pinball(y_true, y_pred, tau):
    """Per-example loss: mean over the last axis of max(tau * d, (tau - 1) * d), d = y_true - y_pred."""
    y_true = np.asarray(y_true, "float64")
    y_pred = np.asarray(y_pred, "float64")
    tau = np.asarray(tau, "float64")
    d = y_true - y_pred
    return np.maximum(tau * d, (tau - 1.0) * d).mean(axis=-1)


def reference_multi_quantile(y_true, y_pred, taus):
    """One column per quantile, each scored against the same target, then averaged."""
    y_true = np.asarray(y_true, "float64").reshape(-1)
    columns = [
        reference_pinball(y_true[:, None], y_pred[:, j : j + 1], tau) for j, tau in enumerate(taus)
    ]
    return np.mean(columns, axis=0)


class PinballLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_worked_example(self):
        # tau=0.9: under-predicting by 1 costs 0.9, over-predicting by 1 costs 0.1.
        loss = PinballLoss(tau=0.9)
        self.assertAllClose(loss(np.array([[1.0], [1.0]]), np.array([[0.0], [2.0]])), 0.5)
        self.assertAllClose(
            PinballLoss(tau=0.9, reduction=None)(
                np.array([[1.0], [1.0]]), np.array([[0.0], [2.0]])
            ),
            [0.9, 0.1],
        )

    def test_matches_reference(self):
        y_true = self.rng.standard_normal((20, 3)).astype("float32")
        y_pred = self.rng.standard_normal((20, 3)).astype("float32")
        for tau in (0.0, 0.1, 0.5, 0.9, 1.0):
            with self.subTest(tau=tau):
                expected = reference_pinball(y_true, y_pred, tau)
                self.assertAllClose(PinballLoss(tau, reduction=None)(y_true, y_pred), expected)
                self.assertAllClose(PinballLoss(tau)(y_true, y_pred), expected.mean())
                self.assertAllClose(pinball_loss(y_true, y_pred, tau), expected)

    def test_median_is_half_mean_absolute_error(self):
        y_true = self.rng.standard_normal((30, 2))
        y_pred = self.rng.standard_normal((30, 2))
        self.assertAllClose(
            PinballLoss(0.5)(y_true, y_pred), 0.5 * np.mean(np.abs(y_true - y_pred))
        )

    def test_sample_weight(self):
        y_true = self.rng.standard_normal((12, 1))
        y_pred = self.rng.standard_normal((12, 1))
        weights = self.rng.uniform(0.0, 2.0, 12)
        expected = np.sum(weights * reference_pinball(y_true, y_pred, 0.2)) / 12
        self.assertAllClose(PinballLoss(0.2)(y_true, y_pred, sample_weight=weights), expected)

    def test_target_and_prediction_shapes(self):
        y = self.rng.standard_normal(15).astype("float32")
        p = self.rng.standard_normal(15).astype("float32")
        expected = reference_pinball(y[:, None], p[:, None], 0.7)
        loss = PinballLoss(0.7, reduction=None)
        self.assertAllClose(loss(y[:, None], p[:, None]), expected)
        self.assertAllClose(
            loss(y, p[:, None]), expected
        )  # targets (batch,), model output (batch, 1)
        self.assertAllClose(loss(y[:, None], p), expected)  # and the other way round
        self.assertAllClose(PinballLoss(0.7)(y, p), expected.mean())

    def test_multiple_quantiles(self):
        taus = [0.1, 0.5, 0.9]
        y_true = self.rng.standard_normal(25).astype("float32")
        y_pred = self.rng.standard_normal((25, 3)).astype("float32")
        expected = reference_multi_quantile(y_true, y_pred, taus)
        loss = PinballLoss(tau=taus, reduction=None)
        self.assertAllClose(loss(y_true, y_pred), expected)
        self.assertAllClose(loss(y_true[:, None], y_pred), expected)
        self.assertAllClose(PinballLoss(tau=tuple(taus))(y_true, y_pred), expected.mean())
        # Not the same as one quantile for every column.
        self.assertNotAllClose(expected, reference_pinball(y_true[:, None], y_pred, 0.5))

    def test_compiled_model_evaluate_matches_reference(self):
        x = self.rng.standard_normal((101, 4)).astype("float32")
        y = (x @ self.rng.standard_normal(4) + self.rng.standard_normal(101)).astype("float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=PinballLoss([0.1, 0.5, 0.9]))
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        loss = model.evaluate(x, y, batch_size=13, verbose=0)  # last batch: 10
        predicted = model.predict(x, batch_size=13, verbose=0)
        self.assertAllClose(
            loss, reference_multi_quantile(y, predicted, [0.1, 0.5, 0.9]).mean(), rtol=1e-5
        )

    def test_learns_the_upper_quantile(self):
        n = 2000
        x = self.rng.uniform(-1.0, 1.0, (n, 1)).astype("float32")
        y = (2.0 * x[:, 0] + 1.0 + self.rng.standard_normal(n)).astype("float32")
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=PinballLoss(tau=0.9))
        model.fit(x, y, epochs=25, batch_size=100, verbose=0)
        predicted = model.predict(x, batch_size=500, verbose=0)[:, 0]
        coverage = np.mean(y <= predicted)
        self.assertAllClose(coverage, 0.9, atol=0.03)
        # The 0.9-quantile of y given x is 2x + 1 + 1.2816 (standard normal noise).
        x_grid = np.array([[-0.5], [0.0], [0.5]], "float32")
        self.assertAllClose(
            model.predict(x_grid, verbose=0)[:, 0], 2.0 * x_grid[:, 0] + 1.0 + 1.2816, atol=0.25
        )

    def test_gradients(self):
        y_true = self.rng.standard_normal((5, 3))
        y_pred = self.rng.standard_normal((5, 3))
        for tau in (0.3, [0.1, 0.5, 0.9]):
            with self.subTest(tau=tau):
                loss = PinballLoss(tau, dtype="float64")
                assert_gradients_match(self, lambda p: loss(y_true, p), y_pred)
        assert_gradients_match(self, lambda p: pinball_loss(y_true, p, 0.8), y_pred)

    @rejects_bad_input(PinballLoss, pinball_loss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `tau`.*\[0.0, 1.0\].*Received: tau=1.5"):
            PinballLoss(tau=1.5)
        with self.assertRaisesRegex(ValueError, r"argument `tau`.*Received: tau=-0.1"):
            PinballLoss(tau=-0.1)
        with self.assertRaisesRegex(TypeError, r"argument `tau`.*Received: tau='0.5'"):
            PinballLoss(tau="0.5")
        with self.assertRaisesRegex(
            ValueError, r"argument `tau`.*non-empty list.*Received: tau=\[\]"
        ):
            PinballLoss(tau=[])
        self.assertEqual(PinballLoss(tau=np.array([0.1, 0.9])).tau, [0.1, 0.9])  # TFA took a tensor
        with self.assertRaisesRegex(ValueError, r"argument `tau`.*Received: tau=1.2"):
            PinballLoss(tau=[0.1, 1.2])
        with self.assertRaisesRegex(ValueError, r"2 quantiles.*y_pred has 3 columns"):
            PinballLoss(tau=[0.1, 0.9])(np.zeros((4, 1)), np.zeros((4, 3)))

    def test_serialization(self):
        for tau in (0.25, [0.1, 0.5, 0.9]):
            with self.subTest(tau=tau):
                clone = assert_config_round_trip(self, PinballLoss(tau=tau, name="pinball"))
                self.assertEqual(clone.tau, tau)
        x = self.rng.standard_normal((24, 4)).astype("float32")
        y = self.rng.standard_normal((24, 1)).astype("float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
        model.compile(optimizer="adam", loss=PinballLoss(tau=[0.1, 0.5, 0.9]))
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        loaded = assert_model_round_trip(self, model, x, y)
        self.assertEqual(loaded.loss.tau, [0.1, 0.5, 0.9])
