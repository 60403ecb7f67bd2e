"""TFA's tests of NoisyDense (tensorflow_addons/layers/tests/noisy_dense_test.py), ported.

Deliberate differences: `keras.backend.variable` (gone in Keras 3) becomes a
NumPy array; `compute_output_signature` (tf.keras) becomes
`compute_output_spec`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import NoisyDense

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)


def _int_inputs(dtype="float32"):
    return keras.ops.convert_to_tensor(np.random.randint(low=0, high=7, size=(2, 2)), dtype=dtype)


class TFANoisyDenseTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_noisy_dense(self):
        for i, input_shape in enumerate([(3, 2), (3, 4, 2), (None, None, 2), (3, 4, 5, 2)]):
            run_layer_test(
                self, NoisyDense, {"units": 3}, input_shape=input_shape, run_eagerly=i > 0
            )

    def test_noisy_dense_dtype(self):
        for dtype in ("float16", "float32", "float64"):
            layer = NoisyDense(5, dtype=dtype, name="noisy_dense_" + dtype)
            outputs = layer(_int_inputs(dtype))
            self.assertEqual(keras.backend.standardize_dtype(outputs.dtype), dtype)

    def test_noisy_dense_with_policy(self):
        layer = NoisyDense(5, dtype="mixed_float16", name="noisy_dense_policy")
        outputs = layer(_int_inputs())
        spec = layer.compute_output_spec(keras.KerasTensor((2, 2), dtype="float16"))
        self.assertEqual(spec.dtype, "float16")
        self.assertEqual(tuple(spec.shape), (2, 5))
        self.assertEqual(keras.backend.standardize_dtype(outputs.dtype), "float16")
        self.assertEqual(layer.mu_kernel.dtype, "float32")
        self.assertEqual(layer.sigma_kernel.dtype, "float32")

    def test_noisy_dense_regularization(self):
        layer = NoisyDense(
            3,
            kernel_regularizer=keras.regularizers.l1(0.01),
            bias_regularizer="l1",
            activity_regularizer="l2",
            name="noisy_dense_reg",
        )
        layer(np.ones((2, 4), "float32"))
        self.assertLen(layer.losses, 5)

    def test_noisy_dense_constraints(self):
        k_constraint = keras.constraints.max_norm(0.01)
        b_constraint = keras.constraints.max_norm(0.01)
        layer = NoisyDense(3, kernel_constraint=k_constraint, bias_constraint=b_constraint)
        layer(np.ones((2, 4), "float32"))
        self.assertIs(layer.mu_kernel.constraint, k_constraint)
        self.assertIs(layer.sigma_kernel.constraint, k_constraint)
        self.assertIs(layer.mu_bias.constraint, b_constraint)
        self.assertIs(layer.sigma_bias.constraint, b_constraint)

    def _check_reset(self, layer):
        inputs = _int_inputs()
        layer(inputs)
        initial_kernel = np.array(layer.eps_kernel)
        initial_bias = np.array(layer.eps_bias)
        layer.reset_noise()
        layer(inputs)
        self.assertNotAllEqual(initial_kernel, np.array(layer.eps_kernel))
        self.assertNotAllEqual(initial_bias, np.array(layer.eps_bias))

    def test_noisy_dense_reset_noise(self):
        self._check_reset(NoisyDense(5, name="noise_dense_auto_reset_noise"))

    def test_noisy_dense_reset_noise_independent(self):
        self._check_reset(
            NoisyDense(5, use_factorised=False, name="noise_dense_auto_reset_noise_independent")
        )

    def test_noisy_dense_remove_noise(self):
        inputs = _int_inputs()
        layer = NoisyDense(5, name="noise_dense_manual_reset_noise")
        layer(inputs)
        initial_kernel = np.array(layer.eps_kernel)
        initial_bias = np.array(layer.eps_bias)
        layer.remove_noise()
        layer(inputs)
        self.assertNotAllEqual(initial_kernel, np.array(layer.eps_kernel))
        self.assertNotAllEqual(initial_bias, np.array(layer.eps_bias))
        self.assertAllEqual(np.zeros(initial_kernel.shape), np.array(layer.eps_kernel))
        self.assertAllEqual(np.zeros(initial_bias.shape), np.array(layer.eps_bias))
