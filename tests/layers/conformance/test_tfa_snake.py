"""TFA's tests of the Snake layer (tensorflow_addons/layers/tests/snake_test.py), ported."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.activations import snake
from tfx_ext.layers import Snake

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)


class TFASnakeLayerTest(tf.test.TestCase):
    def test_layer(self):
        keras.utils.set_random_seed(0)
        for dtype in (np.float16, np.float32, np.float64):
            x = np.random.rand(2, 5).astype(dtype)
            a = np.random.randn()
            val = np.asarray(snake(x, a))
            kwargs = {"frequency_initializer": keras.initializers.Constant(a), "dtype": dtype}
            run_layer_test(
                self,
                Snake,
                kwargs,
                input_data=x,
                expected_output=val,
                run_eagerly=dtype != np.float32,
            )
