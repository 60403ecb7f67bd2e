"""TFA's tests of MaxUnpooling2D and MaxUnpooling2DV2
(tensorflow_addons/layers/tests/max_unpooling_2d_test.py and max_unpooling_2d_v2_test.py), ported.

`tf.nn.max_pool_with_argmax` still makes the pooled inputs (it returns
NumPy-convertible tensors, so this runs on every backend). Deliberate
difference: TFA's symbolic tests passed a tf.keras Input through
`tf.nn.max_pool_with_argmax`, which a Keras 3 `keras.Input` cannot go through;
the unpooling layer is called on symbolic `updates` and `mask` directly.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.layers import MaxUnpooling2D, MaxUnpooling2DV2

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

# fmt: off
BATCH_INPUT = np.arange(1, 33, dtype=np.float32).reshape((2, 2, 4, 2))
BATCH_INDICES = np.array([
    2, 23, 8, 9, 12, 15, 40, 43, 44, 47, 72, 75, 80, 79, 62, 65, 0, 1, 30, 7,
    14, 35, 42, 21, 68, 69, 50, 51, 56, 5, 86, 63,
]).astype(np.float32).reshape((2, 2, 4, 2))
BATCH_SAME = np.array([
    0, 0, 1, 0, 0, 0, 0, 0, 3, 4, 0, 0, 5, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 2, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 8, 9, 0, 0, 10, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 16, 0, 0, 0, 0, 0, 0, 11,
    0, 0, 12, 0, 0, 0, 14, 13, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    17, 18, 0, 0, 0, 30, 0, 20, 0, 0, 0, 0, 0, 0, 21, 0, 0, 0, 0, 0, 0, 24, 0,
    0, 0, 0, 0, 0, 0, 0, 19, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 0,
    0, 0, 0, 27, 28, 0, 0, 0, 0, 29, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 25, 26,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 31, 0, 0, 0, 0, 0, 0, 0,
    0, 0,
]).astype(np.float32).reshape((2, 4, 12, 2))
BATCH_VALID = np.array([
    0, 0, 1, 0, 0, 0, 0, 0, 3, 4, 0, 0, 5, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0, 2, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 8, 9, 0, 0, 10, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 0, 0, 16, 0, 0, 0, 0, 0, 0, 11,
    0, 0, 12, 0, 0, 0, 14, 13, 0, 0, 0, 0, 0, 0, 0, 17, 18, 0, 0, 0, 30, 0,
    20, 0, 0, 0, 0, 0, 0, 21, 0, 0, 0, 0, 0, 0, 24, 0, 0, 0, 0, 0, 0, 0, 0,
    19, 0, 0, 0, 0, 22, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 0, 0, 0, 0, 27, 28, 0,
    0, 0, 0, 29, 0, 0, 0, 0, 0, 0, 32, 0, 0, 0, 0, 25, 26, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 31, 0,
]).astype(np.float32).reshape((2, 4, 11, 2))
POOL_INPUT = np.array([1, 2, 4, 3, 8, 6, 7, 5, 9, 10, 12, 11, 13, 16, 15, 14]).astype(np.float32).reshape((1, 4, 4, 1))
POOL_2X2 = np.array([0, 0, 0, 0, 8, 0, 7, 0, 0, 0, 0, 0, 0, 16, 15, 0]).astype(np.float32).reshape((1, 4, 4, 1))
# fmt: on
SIMPLE_INPUT = np.array([13, 4]).astype(np.float32).reshape((1, 1, 2, 1))
SIMPLE_INDICES = np.array([1, 6]).astype(np.float32).reshape((1, 1, 2, 1))
SIMPLE_OUTPUT = np.array([0, 13, 0, 0, 0, 0, 4, 0]).astype(np.float32).reshape((1, 2, 4, 1))
STRIDES_INPUT = np.arange(1, 9, dtype=np.float32).reshape((1, 2, 2, 2))
STRIDES_INDICES = np.array([0, 3, 4, 7, 8, 11, 12, 15]).astype(np.float32).reshape((1, 2, 2, 2))
STRIDES_OUTPUT = (
    np.array([1, 0, 0, 2, 3, 0, 0, 4, 5, 0, 0, 6, 7, 0, 0, 8])
    .astype(np.float32)
    .reshape((1, 4, 2, 2))
)


def _pool(x, ksize, strides, padding):
    updates, indices = tf.nn.max_pool_with_argmax(x, ksize=ksize, strides=strides, padding=padding)
    return np.asarray(updates), np.asarray(indices)


class TFAMaxUnpooling2DTest(tf.test.TestCase):
    def test_simple(self):
        self.assertAllEqual(SIMPLE_OUTPUT, MaxUnpooling2D()(SIMPLE_INPUT, SIMPLE_INDICES))

    def test_strides2x1(self):
        self.assertAllEqual(
            STRIDES_OUTPUT, MaxUnpooling2D(strides=(2, 1))(STRIDES_INPUT, STRIDES_INDICES)
        )

    def test_strides2x2(self):
        valid_input = np.arange(1, 9, dtype=np.float32).reshape((1, 2, 4, 1))
        indices = np.array([0, 5, 10, 13, 19, 20, 27, 31]).astype(np.float32).reshape((1, 2, 4, 1))
        # fmt: off
        expected = np.array([
            1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0, 4, 0, 0, 0, 0, 0, 5, 6, 0, 0, 0, 0,
            0, 0, 7, 0, 0, 0, 8,
        ]).astype(np.float32).reshape((1, 4, 8, 1))
        # fmt: on
        self.assertAllEqual(expected, MaxUnpooling2D()(valid_input, indices))

    def test_batch(self):
        self.assertAllEqual(BATCH_SAME, MaxUnpooling2D(strides=(2, 3))(BATCH_INPUT, BATCH_INDICES))

    def test_batch_and_padding_valid(self):
        output = MaxUnpooling2D(strides=(2, 3), padding="VALID")(BATCH_INPUT, BATCH_INDICES)
        self.assertAllEqual(BATCH_VALID, output)

    def test_with_pooling_simple(self):
        valid_input = np.arange(1, 9, dtype=np.float32).reshape((1, 2, 4, 1))
        updates, indices = _pool(valid_input, [2, 2], [2, 2], "SAME")
        expected = np.array([0, 0, 0, 0, 0, 6, 0, 8]).astype(np.float32).reshape(valid_input.shape)
        self.assertAllEqual(expected, MaxUnpooling2D()(updates, indices))

    def test_with_pooling(self):
        updates, indices = _pool(POOL_INPUT, [2, 2], [2, 2], "SAME")
        self.assertAllEqual(POOL_2X2, MaxUnpooling2D()(updates, indices))

    def test_strides_different_from_filter(self):
        updates, indices = _pool(POOL_INPUT, [1, 2, 2, 1], [1, 4, 4, 1], "SAME")
        expected = (
            np.array([0, 0, 0, 0, 8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
            .astype(np.float32)
            .reshape((1, 4, 4, 1))
        )
        self.assertAllEqual(expected, MaxUnpooling2D(strides=(4, 4))(updates, indices))

    def test_padding_valid(self):
        updates, indices = _pool(POOL_INPUT, [2, 2], [2, 2], "VALID")
        self.assertAllEqual(POOL_2X2, MaxUnpooling2D(padding="VALID")(updates, indices))

    def test_padding_valid_complex(self):
        valid_input = (
            np.array([1, 2, 4, 3, 8, 6, 7, 5, 9, 10, 12, 11, 13, 16, 15, 14, 20, 18, 17, 19])
            .astype(np.float32)
            .reshape((1, 4, 5, 1))
        )
        updates, indices = _pool(valid_input, [2, 3], [2, 2], "VALID")
        expected = (
            np.array([0, 0, 0, 0, 0, 0, 7, 0, 0, 10, 0, 0, 0, 0, 0, 0, 20, 0, 0, 19])
            .astype(np.float32)
            .reshape(valid_input.shape)
        )
        self.assertAllEqual(
            expected, MaxUnpooling2D(pool_size=(2, 3), padding="VALID")(updates, indices)
        )

    def test_symbolic_tensor_shape(self):
        updates = keras.Input((None, None, 1))
        indices = keras.Input((None, None, 1), dtype="int64")
        output = MaxUnpooling2D(pool_size=(2, 2), strides=(2, 2), padding="SAME")(updates, indices)
        self.assertEqual((None, None, None, 1), tuple(output.shape))


class TFAMaxUnpooling2DV2Test(tf.test.TestCase):
    def test_simple(self):
        self.assertAllEqual(
            SIMPLE_OUTPUT, MaxUnpooling2DV2((1, 2, 4, 1))(SIMPLE_INPUT, SIMPLE_INDICES)
        )

    def test_complex(self):
        self.assertAllEqual(
            STRIDES_OUTPUT, MaxUnpooling2DV2((1, 4, 2, 2))(STRIDES_INPUT, STRIDES_INDICES)
        )

    def test_batch(self):
        self.assertAllEqual(BATCH_SAME, MaxUnpooling2DV2((2, 4, 12, 2))(BATCH_INPUT, BATCH_INDICES))

    def test_with_pooling_simple(self):
        valid_input = np.arange(1, 9, dtype=np.float32).reshape((1, 2, 4, 1))
        updates, indices = _pool(valid_input, [2, 2], [2, 2], "SAME")
        expected = np.array([0, 0, 0, 0, 0, 6, 0, 8]).astype(np.float32).reshape(valid_input.shape)
        self.assertAllEqual(expected, MaxUnpooling2DV2(valid_input.shape)(updates, indices))

    def test_with_pooling(self):
        updates, indices = _pool(POOL_INPUT, [2, 2], [2, 2], "SAME")
        self.assertAllEqual(POOL_2X2, MaxUnpooling2DV2(POOL_INPUT.shape)(updates, indices))

    def test_symbolic_tensor_shape(self):
        with self.assertRaises(ValueError):
            MaxUnpooling2DV2(keras.Input((None, None, 1)).shape)
