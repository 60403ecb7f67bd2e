import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import MinibatchStandardDeviation


class MinibatchStandardDeviationTest(tf.test.TestCase):
    def test_appends_the_mean_batch_standard_deviation_as_a_channel(self):
        x = np.random.default_rng(0).standard_normal((5, 4, 4, 3)).astype("float32")
        out = keras.ops.convert_to_numpy(MinibatchStandardDeviation()(x))
        self.assertEqual(out.shape, (5, 4, 4, 4))
        self.assertAllEqual(out[..., :3], x)
        expected = np.mean(np.sqrt(x.var(axis=0) + 1e-8))  # population std over the batch
        self.assertAllClose(out[..., 3], np.full((5, 4, 4), expected), rtol=1e-5)

    def test_identical_examples_give_a_zero_feature(self):
        # Mode collapse: all samples alike, the discriminator sees ~0.
        x = np.tile(np.random.default_rng(1).standard_normal((1, 6)).astype("float32"), (8, 1))
        out = keras.ops.convert_to_numpy(MinibatchStandardDeviation()(x))
        self.assertAllClose(out[:, -1], np.full(8, 1e-4), atol=1e-6)

    def test_serialization(self):
        clone = assert_config_round_trip(self, MinibatchStandardDeviation(epsilon=1e-6))
        self.assertEqual(clone.epsilon, 1e-6)
        x = keras.Input((6,))
        model = keras.Model(
            x, keras.layers.Dense(1)(MinibatchStandardDeviation()(keras.layers.Dense(3)(x)))
        )
        assert_model_round_trip(
            self, model, np.random.default_rng(2).standard_normal((4, 6)).astype("float32")
        )

    @rejects_bad_input(MinibatchStandardDeviation)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, "`epsilon`. Expected a number > 0.0. Received: epsilon=0"
        ):
            MinibatchStandardDeviation(epsilon=0)
        with self.assertRaisesRegex(ValueError, "`inputs`. Expected a tensor of rank >= 2"):
            MinibatchStandardDeviation()(np.zeros((3,), "float32"))
