import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import StochasticDepth


class StochasticDepthTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_inference_adds_expected_residual(self):
        shortcut = self.rng.standard_normal((4, 3)).astype("float32")
        residual = self.rng.standard_normal((4, 3)).astype("float32")
        out = StochasticDepth(0.7)([shortcut, residual], training=False)
        self.assertAllClose(out, shortcut + 0.7 * residual)

    def test_batch_mode_keeps_or_drops_whole_batch_at_survival_rate(self):
        layer = StochasticDepth(0.3, mode="batch", seed=1)
        shortcut, residual = np.zeros((8, 2), "float32"), np.ones((8, 2), "float32")
        kept = []
        for _ in range(2000):
            out = np.asarray(layer([shortcut, residual], training=True))
            self.assertIn(out.min(), (0.0, 1.0))
            self.assertEqual(out.min(), out.max())  # one decision per batch
            kept.append(out.max())
        # Binomial(2000, 0.3): std of the mean is 0.0102; 4 sigma.
        self.assertAllClose(np.mean(kept), 0.3, atol=0.041)

    def test_row_mode_decides_per_example(self):
        layer = StochasticDepth(0.5, mode="row", seed=3)
        out = np.asarray(
            layer([np.zeros((4000, 3), "float32"), np.ones((4000, 3), "float32")], training=True)
        )
        self.assertAllEqual(out.min(axis=1), out.max(axis=1))  # whole rows
        self.assertAllClose(out[:, 0].mean(), 0.5, atol=0.032)  # 4 sigma

    def test_training_mean_equals_inference_output(self):
        layer = StochasticDepth(0.6, mode="row", seed=5)
        shortcut = np.full((20000, 1), 2.0, "float32")
        residual = np.full((20000, 1), 3.0, "float32")
        train_mean = np.asarray(layer([shortcut, residual], training=True)).mean()
        inference = np.asarray(layer([shortcut, residual], training=False)).mean()
        self.assertAllClose(train_mean, inference, atol=0.05)

    def test_seed_makes_draws_repeatable(self):
        inputs = [np.zeros((64, 1), "float32"), np.ones((64, 1), "float32")]
        a = StochasticDepth(0.5, mode="row", seed=42)(inputs, training=True)
        b = StochasticDepth(0.5, mode="row", seed=42)(inputs, training=True)
        self.assertAllEqual(a, b)

    def test_gradients_at_inference(self):
        layer = StochasticDepth(0.8, dtype="float64")
        assert_gradients_match(
            self, layer, [self.rng.standard_normal((2, 3)), self.rng.standard_normal((2, 3))]
        )

    @rejects_bad_input(StochasticDepth)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `survival_probability`.*Received: survival_probability=0"
        ):
            StochasticDepth(0.0)
        with self.assertRaisesRegex(ValueError, r"argument `survival_probability`.*1.5"):
            StochasticDepth(1.5)
        with self.assertRaisesRegex(
            ValueError, r"argument `mode`.*'batch', 'row'.*Received: mode='sample'"
        ):
            StochasticDepth(mode="sample")
        with self.assertRaisesRegex(ValueError, r"list \[shortcut, residual\]"):
            StochasticDepth()(keras.Input((3,)))
        with self.assertRaisesRegex(ValueError, r"same shape"):
            StochasticDepth()([keras.Input((3,)), keras.Input((4,))])

    def test_serialization(self):
        layer = StochasticDepth(0.8, mode="row", seed=7, name="drop_path")
        assert_config_round_trip(self, layer)
        x = keras.Input((6,))
        y = layer([x, keras.layers.Dense(6)(x)])
        model = keras.Model(x, y)
        assert_model_round_trip(self, model, self.rng.standard_normal((5, 6)).astype("float32"))
