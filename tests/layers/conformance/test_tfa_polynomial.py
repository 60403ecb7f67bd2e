"""TFA's tests of PolynomialCrossing (tensorflow_addons/layers/tests/polynomial_test.py), ported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.layers import PolynomialCrossing

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

X0 = np.asarray([[0.1, 0.2, 0.3]]).astype(np.float32)
X = np.asarray([[0.4, 0.5, 0.6]]).astype(np.float32)


class TFAPolynomialCrossingTest(tf.test.TestCase):
    def test_full_matrix(self):
        layer = PolynomialCrossing(projection_dim=None, kernel_initializer="ones")
        np.testing.assert_allclose([[0.55, 0.8, 1.05]], layer([X0, X]), rtol=1e-6)

    def test_low_rank_matrix(self):
        layer = PolynomialCrossing(projection_dim=1, kernel_initializer="ones")
        np.testing.assert_allclose([[0.55, 0.8, 1.05]], layer([X0, X]), rtol=1e-6)

    def test_invalid_proj_dim(self):
        with self.assertRaisesRegex(ValueError, "should be smaller than last_dim / 2"):
            PolynomialCrossing(projection_dim=6)(
                [np.random.random((12, 5)), np.random.random((12, 5))]
            )

    def test_invalid_inputs(self):
        with self.assertRaisesRegex(ValueError, "must be a tuple or list of size 2"):
            x0, x, x1 = (np.random.random((12, 5)) for _ in range(3))
            PolynomialCrossing(projection_dim=6)([x0, x, x1])

    def test_serialization(self):
        layer = PolynomialCrossing(projection_dim=None)
        new_layer = keras.layers.deserialize(keras.layers.serialize(layer))
        self.assertEqual(layer.get_config(), new_layer.get_config())

    def test_diag_scale(self):
        layer = PolynomialCrossing(projection_dim=None, diag_scale=1.0, kernel_initializer="ones")
        np.testing.assert_allclose([[0.59, 0.9, 1.23]], layer([X0, X]), rtol=1e-6)
