import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.metrics.streaming import BATCH_SIZES, NUM_EXAMPLES, sample_weights, stream
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.metrics import HuberMetric


def reference_huber(y_true, y_pred, delta):
    """Per-example Huber loss: mean over the last axis of the elementwise loss."""
    error = np.abs(np.asarray(y_true, "float64") - np.asarray(y_pred, "float64"))
    elementwise = np.where(error <= delta, 0.5 * error**2, delta * (error - 0.5 * delta))
    return elementwise.mean(axis=-1)


class HuberMetricTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def data(self, n=NUM_EXAMPLES, dim=3):
        y_true = self.rng.standard_normal((n, dim)).astype("float32")
        # Heavy-tailed errors so both branches (quadratic and linear) are used.
        y_pred = (y_true + self.rng.standard_t(2, (n, dim))).astype("float32")
        return y_true, y_pred

    def test_worked_example(self):
        # delta=1: errors 0.5 -> 0.125, 3 -> 1 * (3 - 0.5) = 2.5; example means 0.125 and 2.5.
        m = HuberMetric(threshold=1.0)
        m.update_state(np.array([[0.0], [0.0]]), np.array([[0.5], [3.0]]))
        self.assertAllClose(m.result(), (0.125 + 2.5) / 2)

    def test_reference_agrees_with_keras_huber_loss(self):
        y_true, y_pred = self.data()
        for delta in (0.5, 1.0, 2.0):
            per_example = keras.losses.Huber(delta, reduction=None)(y_true, y_pred)
            self.assertAllClose(
                per_example, reference_huber(y_true, y_pred, delta), rtol=1e-5, atol=1e-6
            )

    def test_exact_mean_over_all_examples_in_uneven_batches(self):
        y_true, y_pred = self.data()
        for delta in (0.5, 1.0, 2.0):
            with self.subTest(delta=delta):
                per_example = reference_huber(y_true, y_pred, delta)
                expected = per_example.mean()
                bounds = np.cumsum((0,) + BATCH_SIZES)
                mean_of_batch_means = np.mean(
                    [per_example[a:b].mean() for a, b in zip(bounds[:-1], bounds[1:])]
                )
                # A naive implementation (mean of batch means) would be far off here.
                self.assertGreater(abs(mean_of_batch_means - expected), 0.05 * expected)
                got = stream(HuberMetric(threshold=delta), y_true, y_pred)
                self.assertAllClose(got, expected, rtol=1e-5, atol=1e-6)

    def test_sample_weight(self):
        y_true, y_pred = self.data()
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        per_example = reference_huber(y_true, y_pred, 1.5)
        expected = np.sum(weights * per_example) / np.sum(weights)
        self.assertNotAllClose(expected, per_example.mean())
        got = stream(HuberMetric(1.5), y_true, y_pred, sample_weight=weights)
        self.assertAllClose(got, expected, rtol=1e-5, atol=1e-6)

    def test_one_dimensional_targets(self):
        y_true = self.rng.standard_normal(NUM_EXAMPLES).astype("float32")
        y_pred = (y_true + 2.0 * self.rng.standard_normal(NUM_EXAMPLES)).astype("float32")
        expected = reference_huber(y_true[:, None], y_pred[:, None], 1.0).mean()
        self.assertAllClose(stream(HuberMetric(), y_true, y_pred), expected, rtol=1e-5)
        # Targets (batch,) against a model's (batch, 1) output.
        self.assertAllClose(stream(HuberMetric(), y_true, y_pred[:, None]), expected, rtol=1e-5)
        self.assertAllClose(stream(HuberMetric(), y_true[:, None], y_pred), expected, rtol=1e-5)
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        per_example = reference_huber(y_true[:, None], y_pred[:, None], 1.0)
        weighted = np.sum(weights * per_example) / np.sum(weights)
        got = stream(HuberMetric(), y_true, y_pred, sample_weight=weights)
        self.assertAllClose(got, weighted, rtol=1e-5)

    def test_reset_state(self):
        m = HuberMetric(2.0)
        y_true, y_pred = self.data()
        stream(m, y_true, y_pred + 10.0)
        m.reset_state()
        self.assertAllClose(m.result(), 0.0)
        expected = reference_huber(y_true, y_pred, 2.0).mean()
        self.assertAllClose(stream(m, y_true, y_pred), expected, rtol=1e-5)

    def test_compiled_model_evaluate_matches_reference(self):
        x = self.rng.standard_normal((101, 4)).astype("float32")
        y = (x @ self.rng.standard_normal((4, 2)) + self.rng.standard_t(2, (101, 2))).astype(
            "float32"
        )
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(
            optimizer=keras.optimizers.Adam(0.05),
            loss="mse",
            metrics=[HuberMetric(2.0, name="huber")],
        )
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        results = model.evaluate(x, y, batch_size=13, verbose=0, return_dict=True)  # last batch: 10
        predicted = model.predict(x, batch_size=13, verbose=0)
        self.assertAllClose(results["huber"], reference_huber(y, predicted, 2.0).mean(), rtol=1e-5)

    @rejects_bad_input(HuberMetric)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `threshold`.*> 0.*Received: threshold=0"
        ):
            HuberMetric(threshold=0)
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=-1.0"):
            HuberMetric(threshold=-1.0)
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=nan"):
            HuberMetric(threshold=float("nan"))
        with self.assertRaisesRegex(TypeError, r"argument `threshold`.*Received: threshold='1'"):
            HuberMetric(threshold="1")

    def test_serialization(self):
        clone = assert_config_round_trip(self, HuberMetric(threshold=2.5, name="huber"))
        self.assertEqual(clone.threshold, 2.5)
        y_true, y_pred = self.data()
        # The restored instance computes with its own threshold, not the default one.
        self.assertAllClose(
            stream(clone, y_true, y_pred), reference_huber(y_true, y_pred, 2.5).mean(), rtol=1e-5
        )
        x = self.rng.standard_normal((24, 4)).astype("float32")
        y = self.rng.standard_normal((24, 2)).astype("float32") * 3.0
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
        model.compile(optimizer="adam", loss="mse", metrics=[HuberMetric(0.5, name="huber")])
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert_model_round_trip(self, model, x, y)
