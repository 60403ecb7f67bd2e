"""TFA's tests of the Sparsemax layer (tensorflow_addons/layers/tests/sparsemax_test.py), ported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.activations.conformance.test_tfa_activations import TEST_OBS, _np_sparsemax
from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import Sparsemax

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)


class TFASparsemaxLayerTest(tf.test.TestCase):
    def test_sparsemax_layer_against_numpy(self):
        keras.utils.set_random_seed(0)
        for dtype in (np.float32, np.float64):
            z = np.random.RandomState(1).uniform(low=-3, high=3, size=(TEST_OBS, 10)).astype(dtype)
            run_layer_test(
                self,
                Sparsemax,
                {"dtype": dtype},
                input_data=z,
                expected_output=_np_sparsemax(z).astype(dtype),
                run_eagerly=dtype != np.float32,
            )
