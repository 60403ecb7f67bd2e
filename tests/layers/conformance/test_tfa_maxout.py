"""TFA's tests of Maxout (tensorflow_addons/layers/tests/maxout_test.py), ported to tfx_ext."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.layers.conformance.layer_harness import run_layer_test
from tfx_ext.layers import Maxout


class TFAMaxoutTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_simple(self):
        run_layer_test(self, Maxout, {"num_units": 3}, input_shape=(5, 4, 2, 18))

    def test_nchw(self):
        run_layer_test(self, Maxout, {"num_units": 4, "axis": 1}, input_shape=(2, 20, 3, 6))
        run_layer_test(self, Maxout, {"num_units": 4, "axis": -3}, input_shape=(2, 20, 3, 6))

    def test_unknown(self):
        inputs = np.random.random((5, 4, 2, 18)).astype("float32")
        run_layer_test(
            self, Maxout, {"num_units": 3}, input_shape=(5, 4, 2, None), input_data=inputs
        )
        run_layer_test(
            self, Maxout, {"num_units": 3}, input_shape=(None, None, None, None), input_data=inputs
        )

    @rejects_bad_input(Maxout)
    def test_invalid_shape(self):
        with self.assertRaisesRegex(ValueError, "number of features"):
            run_layer_test(self, Maxout, {"num_units": 3}, input_shape=(5, 4, 2, 7))
