import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import NoisyDense


def _np(v):
    return np.asarray(keras.ops.convert_to_numpy(v), "float64")


class NoisyDenseTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = np.random.default_rng(0).standard_normal((4, 6)).astype("float32")

    def test_output_is_the_noisy_affine_map(self):
        layer = NoisyDense(3, activation="relu")
        out = layer(self.x)
        kernel = _np(layer.mu_kernel) + _np(layer.sigma_kernel) * _np(layer.eps_kernel)
        bias = _np(layer.mu_bias) + _np(layer.sigma_bias) * _np(layer.eps_bias)
        self.assertAllClose(out, np.maximum(self.x @ kernel + bias, 0), atol=1e-5)
        self.assertNotAllClose(_np(layer.eps_kernel), np.zeros((6, 3)))

    @pytest.mark.tf_only("many random and shape-distinct ops: slow on JAX, run on TensorFlow")
    def test_factorised_noise_is_an_outer_product_and_initial_sigma(self):
        layer = NoisyDense(3, sigma=0.4)
        layer.build((None, 6))
        eps_kernel, eps_bias = _np(layer.eps_kernel), _np(layer.eps_bias)
        self.assertEqual(np.linalg.matrix_rank(eps_kernel, tol=1e-5), 1)
        # eps_kernel[i, j] = f(e_in[i]) * f(e_out[j]) and eps_bias = f(e_out)
        self.assertAllClose(
            eps_kernel / eps_bias, np.repeat(eps_kernel[:, :1] / eps_bias[0], 3, axis=1)
        )
        self.assertAllClose(_np(layer.sigma_kernel), np.full((6, 3), 0.4 / np.sqrt(6)))
        bound = 1 / np.sqrt(6)
        self.assertTrue(np.all(np.abs(_np(layer.mu_kernel)) <= bound))
        independent = NoisyDense(3, use_factorised=False)
        independent.build((None, 6))
        self.assertAllClose(_np(independent.sigma_bias), np.full(3, 0.017))
        self.assertGreater(np.linalg.matrix_rank(_np(independent.eps_kernel), tol=1e-5), 1)

    def test_remove_noise_leaves_the_mean_weights(self):
        layer = NoisyDense(3, use_bias=False)
        layer(self.x)
        layer.remove_noise()
        self.assertAllClose(layer(self.x), self.x @ _np(layer.mu_kernel), atol=1e-5)
        self.assertLen(layer.trainable_weights, 2)

    @rejects_bad_input(NoisyDense)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `units`.*Received: units=0"):
            NoisyDense(0)
        with self.assertRaisesRegex(ValueError, r"argument `sigma`.*Received: sigma=-1"):
            NoisyDense(2, sigma=-1)
        with self.assertRaisesRegex(
            TypeError, r"argument `use_factorised`. Expected True or False \(a bool\)"
        ):
            NoisyDense(2, use_factorised="yes")
        with self.assertRaisesRegex(
            ValueError, "last dimension of the inputs to `NoisyDense` should be defined"
        ):
            NoisyDense(2).build((None, None))

    def test_serialization(self):
        assert_config_round_trip(
            self,
            NoisyDense(
                3,
                sigma=0.3,
                use_factorised=False,
                activation="relu",
                kernel_regularizer="l2",
                name="nd",
            ),
        )
