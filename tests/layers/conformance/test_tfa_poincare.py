"""TFA's tests of PoincareNormalize (tensorflow_addons/layers/tests/poincare_test.py), ported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import PoincareNormalize

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)


def _poincare_normalize(x, dim, epsilon=1e-5):
    """TFA's NumPy reference."""
    if isinstance(dim, list):
        norm = np.linalg.norm(x, axis=tuple(dim))
        for d in dim:
            norm = np.expand_dims(norm, d)
    else:
        norm = np.expand_dims(np.apply_along_axis(np.linalg.norm, dim, x), dim)
    norm_x = ((1.0 - epsilon) * x) / norm
    return np.where(norm > 1.0 - epsilon, norm_x, x)


class TFAPoincareTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def _check(self, dim):
        x_shape, epsilon, tol = [20, 7, 3], 1e-5, 1e-6
        np.random.seed(1)
        inputs = np.random.random_sample(x_shape).astype(np.float32)
        expected = _poincare_normalize(inputs, dim, epsilon)
        outputs = run_layer_test(
            self,
            PoincareNormalize,
            {"axis": dim, "epsilon": epsilon},
            input_data=inputs,
            expected_output=expected,
            run_eagerly=dim != 1,
        )
        for y in expected, outputs:
            norm = np.linalg.norm(y, axis=tuple(dim) if isinstance(dim, list) else dim)
            self.assertLessEqual(norm.max(), 1.0 - epsilon + tol)

    def test_poincare_normalize(self):
        for dim in range(3):
            self._check(dim)

    def test_poincare_normalize_dim_array(self):
        self._check([1, 2])
