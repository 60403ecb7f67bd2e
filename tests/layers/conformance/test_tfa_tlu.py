"""TFA's tests of TLU (tensorflow_addons/layers/tests/tlu_test.py), ported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import TLU

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

DTYPES = (np.float16, np.float32, np.float64)


class TFATLUTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_random(self):
        for dtype in DTYPES:
            x = np.array([[-2.5, 0.0, 0.3]]).astype(dtype)
            val = np.array([[0.0, 0.0, 0.3]]).astype(dtype)
            run_layer_test(
                self,
                TLU,
                {"dtype": dtype},
                input_data=x,
                expected_output=val,
                run_eagerly=dtype != np.float32,
            )

    def test_affine(self):
        for dtype in DTYPES:
            x = np.array([[-2.5, 0.0, 0.3]]).astype(dtype)
            val = np.array([[-1.5, 1.0, 1.3]]).astype(dtype)
            kwargs = {
                "affine": True,
                "dtype": dtype,
                "alpha_initializer": "ones",
                "tau_initializer": "ones",
            }
            run_layer_test(
                self,
                TLU,
                kwargs,
                input_data=x,
                expected_output=val,
                run_eagerly=dtype != np.float32,
            )

    def test_serialization(self):
        for dtype in DTYPES:
            tlu = TLU(affine=True, alpha_initializer="ones", tau_initializer="ones", dtype=dtype)
            new_layer = keras.layers.deserialize(keras.layers.serialize(tlu))
            self.assertEqual(tlu.get_config(), new_layer.get_config())
