import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import Sampling

N = 20000


def codings_model(**kwargs):
    x = keras.Input((6,))
    mean = keras.layers.Dense(3, name="mean")(x)
    log_var = keras.layers.Dense(3, name="log_var")(x)
    return keras.Model(x, Sampling(**kwargs)([mean, log_var]))


class SamplingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_samples_have_the_given_mean_and_variance(self):
        mean = np.tile(np.array([[1.0, -2.0, 0.5]], "float32"), (N, 1))
        log_var = np.tile(np.log(np.array([[1.0, 4.0, 0.25]], "float32")), (N, 1))
        z = keras.ops.convert_to_numpy(Sampling(seed=1)([mean, log_var], training=True))
        # Standard errors: sigma / sqrt(N) for the mean, sigma^2 * sqrt(2 / N) for the variance; 5 sigma.
        sigma = np.array([1.0, 2.0, 0.5])
        self.assertAllClose(z.mean(axis=0), [1.0, -2.0, 0.5], atol=5 * sigma.max() / np.sqrt(N))
        self.assertAllClose(z.var(axis=0), sigma**2, rtol=5 * np.sqrt(2 / N))
        # Independent coordinates: correlations near 0.
        correlation = np.corrcoef(z.T)
        self.assertAllClose(correlation, np.eye(3), atol=5 / np.sqrt(N))

    def test_inference_samples_by_default_and_returns_the_mean_when_asked(self):
        mean = np.zeros((4, 2), "float32")
        log_var = np.zeros((4, 2), "float32")
        sampled = keras.ops.convert_to_numpy(Sampling(seed=2)([mean, log_var], training=False))
        self.assertGreater(np.abs(sampled).min(), 0)  # the book's VAE samples at inference
        layer = Sampling(seed=2, sample_at_inference=False)
        self.assertAllEqual(layer([mean + 3, log_var], training=False), mean + 3)
        self.assertNotAllClose(layer([mean + 3, log_var], training=True), mean + 3)

    def test_seed_makes_draws_repeatable(self):
        inputs = [np.zeros((16, 2), "float32"), np.zeros((16, 2), "float32")]
        a = Sampling(seed=7)(inputs, training=True)
        b = Sampling(seed=7)(inputs, training=True)
        self.assertAllEqual(a, b)
        self.assertNotAllClose(a, Sampling(seed=8)(inputs, training=True))

    @pytest.mark.tf_only("tf.GradientTape")
    def test_gradients_flow_through_mean_and_log_var(self):
        # The reparameterization trick: z = mean + exp(log_var / 2) * eps gives
        # dz/dmean = 1 and dz/dlog_var = (z - mean) / 2.
        rng = np.random.default_rng(0)
        mean = tf.constant(rng.standard_normal((5, 3)), "float32")
        log_var = tf.constant(rng.standard_normal((5, 3)), "float32")
        with tf.GradientTape(persistent=True) as tape:
            tape.watch([mean, log_var])
            z = Sampling(seed=3)([mean, log_var], training=True)
        self.assertAllClose(tape.gradient(z, mean), np.ones((5, 3)))
        self.assertAllClose(tape.gradient(z, log_var), (z - mean) / 2, atol=1e-6)

    def test_serialization(self):
        clone = assert_config_round_trip(
            self, Sampling(seed=4, sample_at_inference=False, name="codings")
        )
        self.assertEqual((clone.seed, clone.sample_at_inference), (4, False))
        model = codings_model(seed=4, sample_at_inference=False)
        x = np.random.default_rng(1).standard_normal((5, 6)).astype("float32")
        assert_model_round_trip(self, model, x)

    @rejects_bad_input(Sampling)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            TypeError, "`seed`. Expected an integer or None. Received: seed='1'"
        ):
            Sampling(seed="1")
        with self.assertRaisesRegex(
            TypeError, "`sample_at_inference`. Expected True or False \\(a bool\\)"
        ):
            Sampling(sample_at_inference="yes")
        x = np.zeros((2, 3), "float32")
        with self.assertRaisesRegex(ValueError, "`inputs`. Expected a list \\[mean, log_var\\]"):
            Sampling()(x)
        with self.assertRaisesRegex(
            ValueError, "`inputs`. Expected mean and log_var of the same shape"
        ):
            Sampling()([x, np.zeros((2, 4), "float32")])
