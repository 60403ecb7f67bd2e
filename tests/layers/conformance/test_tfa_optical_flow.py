"""TFA's tests of CorrelationCost (tensorflow_addons/layers/tests/optical_flow_test.py), ported.

Deliberate differences: TFA's gradient test compared `tf.test.compute_gradient`'s
Jacobians on a (2, 3, 5, 6) input (TFA's own op had a hand-written gradient
kernel); ours is autodiff through `keras.ops`, checked by central finite
differences on one 3x4 example with one channel (finite differences cost one
call per element). The GPU device leg is not run (CPU only).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.gradients import assert_gradients_match
from tfx_ext.layers import CorrelationCost

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, "
    "beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

DATA_FORMATS = ("channels_first", "channels_last")
PARAMS = {"kernel_size": 1, "max_displacement": 2, "stride_1": 1, "stride_2": 2, "pad": 4}


def _create_test_data(data_format):
    val_a = np.array(
        [
            [
                [[0, -6, 9, 5], [1, -5, 10, 3], [2, -4, 11, 1]],
                [[3, -3, 12, -1], [4, -2, 13, -3], [5, -1, 14, -5]],
            ],
            [
                [[6, 0, 15, -7], [7, 1, 16, -9], [8, 2, 17, -11]],
                [[9, 3, 18, -13], [10, 4, 19, -15], [11, 5, 20, -17]],
            ],
        ],
        dtype=np.float32,
    )
    val_b = val_a.transpose(2, 3, 0, 1).reshape(2, 2, 3, 4)
    if data_format == "channels_last":
        val_a = np.moveaxis(val_a, 1, -1)
        val_b = np.moveaxis(val_b, 1, -1)
    return val_a, val_b


class TFACorrelationCostTest(tf.test.TestCase):
    def test_forward_simple(self):
        for data_format in DATA_FORMATS:
            val_a, val_b = _create_test_data(data_format)
            actual = np.asarray(CorrelationCost(data_format=data_format, **PARAMS)([val_a, val_b]))
            if data_format == "channels_last":
                actual = np.transpose(actual, [0, 3, 1, 2])
            zeros = np.argwhere(actual == 0)
            np.testing.assert_allclose(zeros[:, 0], np.concatenate([np.zeros(464), np.ones(464)]))
            counts = [54, 52, 54, 50, 44, 50, 54, 52, 54]
            expected_ids = np.concatenate([k * np.ones(v) for k, v in enumerate(counts)])
            np.testing.assert_allclose(zeros[:, 1], np.concatenate([expected_ids, expected_ids]))
            self.assertEqual(actual.shape, (2, 9, 7, 8))

    def test_gradients(self):
        rng = np.random.default_rng(0)
        for data_format in DATA_FORMATS:
            input_a, input_b = rng.standard_normal((2, 1, 1, 3, 4))
            if data_format == "channels_last":
                input_a, input_b = (
                    np.transpose(input_a, [0, 2, 3, 1]),
                    np.transpose(input_b, [0, 2, 3, 1]),
                )
            layer = CorrelationCost(data_format=data_format, dtype="float64", **PARAMS)
            assert_gradients_match(self, layer, [input_a, input_b])

    def test_keras(self):
        for data_format in DATA_FORMATS:
            val_a, val_b = _create_test_data(data_format)
            input_a = keras.Input(shape=val_a.shape[1:])
            input_b = keras.Input(shape=val_b.shape[1:])
            layer = CorrelationCost(data_format=data_format, **PARAMS)
            expected_output_shape = tuple(
                layer.compute_output_shape([input_a.shape, input_b.shape])
            )
            y = layer([input_a, input_b])
            model = keras.Model([input_a, input_b], y)
            actual_output = model([val_a, val_b])
            self.assertEqual(keras.backend.standardize_dtype(y.dtype), "float32")
            self.assertEqual(tuple(actual_output.shape[1:]), expected_output_shape[1:])
