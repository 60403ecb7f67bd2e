import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import LatentKLDivergence, Sampling


def gaussian_kl(mean, log_var):
    """KL(N(mean, sigma^2) || N(0, 1)) per coordinate, in its textbook form, summed per row."""
    sigma = np.exp(log_var / 2)
    return np.sum(-np.log(sigma) + (sigma**2 + mean**2) / 2 - 0.5, axis=-1)


def log_density(z, mean, var):
    return np.sum(-0.5 * np.log(2 * np.pi * var) - (z - mean) ** 2 / (2 * var), axis=-1)


class LatentKLDivergenceTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.mean = rng.standard_normal((6, 4)).astype("float32")
        self.log_var = rng.uniform(-2, 1, (6, 4)).astype("float32")

    def test_adds_the_closed_form_times_weight_and_passes_inputs_through(self):
        layer = LatentKLDivergence(weight=0.25)
        mean, log_var = layer([self.mean, self.log_var])
        self.assertAllEqual(mean, self.mean)
        self.assertAllEqual(log_var, self.log_var)
        self.assertLen(layer.losses, 1)
        expected = 0.25 * gaussian_kl(self.mean, self.log_var).mean()
        self.assertAllClose(keras.ops.convert_to_numpy(layer.losses[0]), expected, rtol=1e-5)
        # The unit Gaussian against itself: no loss.
        zero = LatentKLDivergence()
        zero([np.zeros((3, 4), "float32"), np.zeros((3, 4), "float32")])
        self.assertAllClose(keras.ops.convert_to_numpy(zero.losses[0]), 0.0)

    def test_matches_a_monte_carlo_estimate_with_samples_from_sampling(self):
        # KL(q || p) = E_q[log q(z) - log p(z)], estimated with z from Sampling.
        samples = 40000
        mean, log_var = self.mean[:2], self.log_var[:2]
        layer = LatentKLDivergence()
        layer([mean, log_var])
        closed_form = float(keras.ops.convert_to_numpy(layer.losses[0]))
        sampler = Sampling(seed=5)
        estimates = []
        for row in range(2):
            m = np.tile(mean[row : row + 1], (samples, 1))
            v = np.tile(log_var[row : row + 1], (samples, 1))
            z = keras.ops.convert_to_numpy(sampler([m, v], training=True)).astype("float64")
            terms = log_density(z, m, np.exp(v)) - log_density(z, 0.0, 1.0)
            estimates.append((terms.mean(), terms.std() / np.sqrt(samples)))
        estimate = np.mean([e for e, _ in estimates])
        error = np.sqrt(sum(s**2 for _, s in estimates)) / 2
        self.assertAllClose(estimate, closed_form, atol=5 * error)

    def test_model_adds_the_loss_in_fit(self):
        x = keras.Input((3,))
        mean, log_var = LatentKLDivergence(weight=2.0)(
            [keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)]
        )
        model = keras.Model(x, keras.layers.Concatenate()([mean, log_var]))
        model.compile(loss="mse", optimizer="sgd")
        inputs = np.random.default_rng(2).standard_normal((8, 3)).astype("float32")
        targets = np.zeros((8, 4), "float32")
        outputs = keras.ops.convert_to_numpy(model(inputs))
        expected = np.mean(outputs**2) + 2.0 * gaussian_kl(outputs[:, :2], outputs[:, 2:]).mean()
        self.assertAllClose(model.evaluate(inputs, targets, verbose=0), expected, rtol=1e-5)

    def test_serialization(self):
        clone = assert_config_round_trip(self, LatentKLDivergence(weight=1 / 64))
        self.assertEqual(clone.weight, 1 / 64)
        x = keras.Input((6,))
        mean, log_var = LatentKLDivergence(0.5)(
            [keras.layers.Dense(2)(x), keras.layers.Dense(2)(x)]
        )
        model = keras.Model(x, keras.layers.Add()([mean, log_var]))
        assert_model_round_trip(self, model, np.ones((3, 6), "float32"))

    @rejects_bad_input(LatentKLDivergence)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, "`weight`. Expected a number >= 0.0. Received: weight=-1"
        ):
            LatentKLDivergence(weight=-1)
        with self.assertRaisesRegex(TypeError, "`weight`"):
            LatentKLDivergence(weight="0.1")
        x = np.zeros((2, 3), "float32")
        with self.assertRaisesRegex(
            ValueError, "`inputs`. Expected mean and log_var of the same shape"
        ):
            LatentKLDivergence()([x, np.zeros((2, 4), "float32")])
        with self.assertRaisesRegex(ValueError, "`inputs`. Expected a list \\[mean, log_var\\]"):
            LatentKLDivergence()([x, x, x])
