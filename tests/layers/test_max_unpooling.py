import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import MaxUnpooling2D, MaxUnpooling2DV2


def pool_with_argmax(x, size):
    """Non-overlapping max pooling with flat (height, width, channel) argmax indices, in NumPy."""
    n, h, w, c = x.shape
    pooled = np.zeros((n, h // size, w // size, c), x.dtype)
    argmax = np.zeros(pooled.shape, "int64")
    for b in range(n):
        for i in range(h // size):
            for j in range(w // size):
                for f in range(c):
                    window = x[b, i * size : (i + 1) * size, j * size : (j + 1) * size, f]
                    r, s = np.unravel_index(np.argmax(window), window.shape)
                    pooled[b, i, j, f] = window[r, s]
                    argmax[b, i, j, f] = ((i * size + r) * w + j * size + s) * c + f
    return pooled, argmax


def keep_window_maxima(x, size):
    n, h, w, c = x.shape
    windows = x.reshape(n, h // size, size, w // size, size, c)
    is_max = windows == windows.max(axis=(2, 4), keepdims=True)
    return np.where(is_max, windows, 0).reshape(x.shape)


class MaxUnpoolingTest(tf.test.TestCase):
    def setUp(self):
        self.x = (
            np.random.default_rng(0)
            .permutation(2 * 4 * 6 * 3)
            .reshape(2, 4, 6, 3)
            .astype("float32")
        )

    def test_unpooling_undoes_pooling_at_the_maxima(self):
        pooled, argmax = pool_with_argmax(self.x, 2)
        expected = keep_window_maxima(self.x, 2)
        self.assertAllEqual(MaxUnpooling2D()(pooled, argmax), expected)
        self.assertAllEqual(MaxUnpooling2DV2(self.x.shape)(pooled, argmax), expected)

    def test_dynamic_batch_in_a_compiled_model(self):
        updates = keras.Input((None, None, 3))
        mask = keras.Input((None, None, 3), dtype="int64")
        model = keras.Model([updates, mask], MaxUnpooling2D()(updates, mask))
        for rows in (1, 2):
            pooled, argmax = pool_with_argmax(self.x[:rows], 2)
            self.assertAllEqual(
                model.predict([pooled, argmax], verbose=0), keep_window_maxima(self.x[:rows], 2)
            )

    def test_valid_padding_output_size(self):
        layer = MaxUnpooling2D(pool_size=3, strides=2, padding="VALID")
        self.assertEqual(layer.compute_output_shape((2, 4, 5, 3), (2, 4, 5, 3)), (2, 9, 11, 3))
        self.assertEqual(layer.compute_output_shape([(2, 4, 5, 3), (2, 4, 5, 3)]), (2, 9, 11, 3))

    @rejects_bad_input(MaxUnpooling2D, MaxUnpooling2DV2)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `padding`. Expected one of 'SAME', 'VALID'.*'same'"
        ):
            MaxUnpooling2D(padding="same")
        with self.assertRaisesRegex(ValueError, r"argument `pool_size`.*Received: pool_size=0"):
            MaxUnpooling2D(pool_size=0)
        with self.assertRaisesRegex(
            ValueError, r"argument `strides`. Expected an integer or a sequence of 2"
        ):
            MaxUnpooling2D(strides=(1, 2, 3))
        with self.assertRaisesRegex(
            ValueError, r"argument `output_size`. Expected an integer or a sequence of 4"
        ):
            MaxUnpooling2DV2((1, 4, 4))
        with self.assertRaisesRegex(ValueError, r"argument `output_size`.*None"):
            MaxUnpooling2DV2((None, 4, 4, 1))

    def test_serialization(self):
        assert_config_round_trip(self, MaxUnpooling2D(pool_size=3, strides=(2, 1), padding="VALID"))
        assert_config_round_trip(self, MaxUnpooling2DV2((2, 4, 6, 3)))
