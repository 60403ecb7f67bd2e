import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import HuberLoss, huber_loss


def reference_huber(y_true, y_pred, threshold):
    """Per-example Huber loss in float64: mean over the last axis."""
    error = np.asarray(y_true, "float64") - np.asarray(y_pred, "float64")
    small = np.abs(error) <= threshold
    elementwise = np.where(small, 0.5 * error**2, threshold * np.abs(error) - 0.5 * threshold**2)
    return elementwise.mean(axis=-1)


class HuberLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def data(self, n=64, dim=3):
        y_true = self.rng.standard_normal((n, dim)).astype("float32")
        # Heavy tails: both the quadratic and the linear branch are used.
        y_pred = (y_true + 2.0 * self.rng.standard_t(2, (n, dim))).astype("float32")
        return y_true, y_pred

    def test_values_match_the_formula(self):
        y_true, y_pred = self.data()
        for threshold in (0.3, 1.0, 2.5):
            with self.subTest(threshold=threshold):
                per_example = reference_huber(y_true, y_pred, threshold)
                self.assertAllClose(huber_loss(y_true, y_pred, threshold), per_example, rtol=1e-5)
                self.assertAllClose(
                    HuberLoss(threshold)(y_true, y_pred), per_example.mean(), rtol=1e-5
                )
                self.assertAllClose(
                    HuberLoss(threshold, reduction=None)(y_true, y_pred), per_example, rtol=1e-5
                )
                self.assertAllClose(
                    HuberLoss(threshold, reduction="sum")(y_true, y_pred),
                    per_example.sum(),
                    rtol=1e-5,
                )

    def test_worked_example(self):
        # Errors 0.5 and 3 with threshold 2: 0.5 * 0.25 = 0.125 and 2 * 3 - 2 = 4.
        self.assertAllClose(
            HuberLoss(2.0, reduction=None)([[0.0], [0.0]], [[0.5], [3.0]]), [0.125, 4.0]
        )

    def test_the_threshold_changes_the_loss(self):
        y_true, y_pred = self.data()
        self.assertNotAllClose(HuberLoss(0.3)(y_true, y_pred), HuberLoss(1.0)(y_true, y_pred))

    def test_sample_weight(self):
        y_true, y_pred = self.data()
        weights = self.rng.random(len(y_true)).astype("float32")
        per_example = reference_huber(y_true, y_pred, 0.7)
        self.assertAllClose(
            HuberLoss(0.7)(y_true, y_pred, sample_weight=weights),
            np.sum(weights * per_example) / len(y_true),
            rtol=1e-5,
        )

    def test_dtype(self):
        y_true, y_pred = self.data()
        # bfloat16, not float64: JAX runs without x64 by default.
        loss = HuberLoss(0.5, dtype="bfloat16")(y_true, y_pred)
        self.assertEqual(keras.backend.standardize_dtype(loss.dtype), "bfloat16")
        expected = reference_huber(y_true, y_pred, 0.5).mean()
        self.assertAllClose(keras.ops.cast(loss, "float32"), expected, rtol=2e-2)

    @rejects_bad_input(HuberLoss, huber_loss)
    def test_bad_arguments(self):
        for bad in (0, 0.0, -1.0, float("nan")):
            with self.subTest(threshold=bad):
                with self.assertRaisesRegex(
                    ValueError, r"argument `threshold`.*> 0.*Received: threshold="
                ):
                    HuberLoss(threshold=bad)
                with self.assertRaisesRegex(ValueError, r"argument `threshold`"):
                    huber_loss([[0.0]], [[1.0]], threshold=bad)
        for bad in ("1", None, [1.0], True):
            with self.subTest(threshold=bad):
                with self.assertRaisesRegex(
                    TypeError, r"argument `threshold`.*Received: threshold="
                ):
                    HuberLoss(threshold=bad)
        with self.assertRaisesRegex(ValueError, "reduction"):
            HuberLoss(reduction="mean_of_everything")

    def test_config_round_trip(self):
        clone = assert_config_round_trip(
            self, HuberLoss(threshold=2.5, reduction="sum", name="robust", dtype="float64")
        )
        self.assertEqual(
            (clone.threshold, clone.reduction, clone.name, clone.dtype),
            (2.5, "sum", "robust", "float64"),
        )

    def test_compiled_model_reloads_with_its_threshold(self):
        """The bug this class fixes: Keras's Huber reloads with delta=1.0."""
        x = self.rng.standard_normal((64, 4)).astype("float32")
        y = (x @ self.rng.standard_normal((4, 1)) + 3.0 * self.rng.standard_t(2, (64, 1))).astype(
            "float32"
        )

        def compiled(loss):
            keras.utils.set_random_seed(1)
            model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
            model.compile(optimizer=keras.optimizers.SGD(0.01), loss=loss)
            model.fit(x, y, epochs=1, batch_size=16, verbose=0)
            return model

        def reloaded(model):
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, "model.keras")
                model.save(path)
                return keras.models.load_model(path)

        model = compiled(HuberLoss(threshold=0.25))
        loaded = assert_model_round_trip(self, model, x, y, saved_model=False)
        self.assertIsInstance(loaded.loss, HuberLoss)
        self.assertEqual(loaded.loss.threshold, 0.25)
        predicted = model.predict(x, verbose=0)
        self.assertAllClose(
            loaded.evaluate(x, y, verbose=0), reference_huber(y, predicted, 0.25).mean(), rtol=1e-5
        )
        # Training after reload follows the same loss: one more epoch gives the same weights.
        model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
        loaded.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0)
        for a, b in zip(model.get_weights(), loaded.get_weights()):
            self.assertAllClose(a, b, atol=1e-6)

        # Keras 3.15's own Huber loses its delta on the same trip (why HuberLoss exists):
        # if this starts failing, Keras fixed it, and the README mapping can point back to it.
        keras_model = compiled(keras.losses.Huber(delta=0.25))
        before = keras_model.evaluate(x, y, verbose=0)
        after = reloaded(keras_model).evaluate(x, y, verbose=0)
        self.assertNotAllClose(before, after)

    def test_model_compiled_with_the_function_reloads(self):
        x = self.rng.standard_normal((16, 3)).astype("float32")
        y = self.rng.standard_normal((16, 2)).astype("float32")
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        model.compile("sgd", loss=huber_loss)
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        self.assertEqual(keras.saving.get_registered_name(huber_loss), "tfx_ext>huber_loss")
        loaded = assert_model_round_trip(self, model, x, y, saved_model=False)
        self.assertIs(loaded.loss, huber_loss)
