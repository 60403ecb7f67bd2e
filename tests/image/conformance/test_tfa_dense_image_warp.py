"""TFA's tests of interpolate_bilinear and dense_image_warp
(tensorflow_addons/image/tests/dense_image_warp_test.py), ported to tfx_ext."""

import math

import numpy as np
import tensorflow as tf

from tfx_ext.image import dense_image_warp, interpolate_bilinear

GRID = np.arange(12.0, dtype=np.float32).reshape(1, 4, 3, 1)


def _expected_value(image, flows, b, y, x):
    """TFA's hand computation of one warped pixel."""
    height, width = image.shape[1], image.shape[2]
    float_y = y - flows[b, y, x, 0]
    float_x = x - flows[b, y, x, 1]
    floor_y = int(max(min(height - 2, math.floor(float_y)), 0))
    floor_x = int(max(min(width - 2, math.floor(float_x)), 0))
    alpha_y = min(max(0.0, float_y - floor_y), 1.0)
    alpha_x = min(max(0.0, float_x - floor_x), 1.0)
    tl, tr = image[b, floor_y, floor_x], image[b, floor_y, floor_x + 1]
    bl, br = image[b, floor_y + 1, floor_x], image[b, floor_y + 1, floor_x + 1]
    top = alpha_x * (tr - tl) + tl
    bottom = alpha_x * (br - bl) + bl
    return alpha_y * (bottom - top) + top


class TFADenseImageWarpTest(tf.test.TestCase):
    def test_interpolate_small_grid_ij(self):
        queries = np.array(
            [[[0.0, 0.0], [1.0, 0.0], [2.0, 0.5], [1.5, 1.5], [3.0, 2.0]]], np.float32
        )
        expected = np.reshape([0.0, 3.0, 6.5, 6.0, 11.0], [1, 5, 1])
        np.testing.assert_allclose(expected, np.asarray(interpolate_bilinear(GRID, queries)))

    def test_interpolate_small_grid_xy(self):
        queries = np.array(
            [[[0.0, 0.0], [0.0, 1.0], [0.5, 2.0], [1.5, 1.5], [2.0, 3.0]]], np.float32
        )
        expected = np.reshape([0.0, 3.0, 6.5, 6.0, 11.0], [1, 5, 1])
        np.testing.assert_allclose(
            expected, np.asarray(interpolate_bilinear(GRID, queries, indexing="xy"))
        )

    def test_interpolate_small_grid_batched(self):
        grid = np.array([[[0.0, 1.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]], np.float32).reshape(
            2, 2, 2, 1
        )
        queries = np.array(
            [
                [[0.0, 0.0], [1.0, 0.0], [0.5, 0.5]],
                [[0.5, 0.0], [1.0, 0.0], [1.0, 1.0]],
            ],
            np.float32,
        )
        expected = np.reshape([[0.0, 3.0, 2.0], [6.0, 7.0, 8.0]], [2, 3, 1])
        np.testing.assert_allclose(expected, np.asarray(interpolate_bilinear(grid, queries)))

    def test_shapes(self):
        # TFA's unknown-shape case with the shapes known: [batch, N, channels] out.
        queries = np.array([[[0.0, 0.0], [0.0, 1.0], [0.5, 2.0], [1.5, 1.5]]], np.float32)
        for shape in (1, 2, 4, 3), (1, 6, 2, 4):
            result = interpolate_bilinear(np.ones(shape, np.float32), queries)
            self.assertEqual(tuple(result.shape), (shape[0], 4, shape[3]))

    def test_zero_flows(self):
        rng = np.random.default_rng(0)
        for shape in [[3, 4, 5, 6], [1, 2, 2, 1]]:
            image = rng.normal(size=shape).astype(np.float32)
            flows = np.zeros(shape[:3] + [2], np.float32)
            np.testing.assert_allclose(
                image, np.asarray(dense_image_warp(image, flows)), rtol=1e-6, atol=1e-6
            )

    def test_gradients_exist(self):
        image = tf.random.normal([4, 5, 6, 7], seed=0)
        flows = tf.Variable(tf.random.normal([4, 5, 6, 2], seed=1) * 0.25)
        with tf.GradientTape() as tape:
            warped = dense_image_warp(image, flows)
        self.assertNotEqual(float(tf.reduce_sum(tf.abs(tape.gradient(warped, flows)))), 0.0)

    def test_interpolation(self):
        rng = np.random.default_rng(0)
        for image_type in ["float32", "float64", "float16"]:
            for flow_type in ["float32", "float64", "float16"]:
                low_precision = "float16" in (image_type, flow_type)
                tolerance = (
                    {"atol": 1e-2, "rtol": 1e-3} if low_precision else {"atol": 1e-6, "rtol": 1e-6}
                )
                for shape in [[3, 4, 5, 6], [1, 2, 2, 1]]:
                    image = rng.normal(size=shape).astype(image_type)
                    flows = (rng.normal(size=shape[:3] + [2]) * 3).astype(flow_type)
                    warped = np.asarray(dense_image_warp(image, flows))
                    self.assertEqual(warped.dtype, np.dtype(image_type))
                    for _ in range(5):
                        b, y, x = (int(rng.integers(0, n)) for n in shape[:3])
                        np.testing.assert_allclose(
                            _expected_value(
                                image.astype(np.float64),
                                flows.astype(np.float64),
                                b,
                                y,
                                x,
                            ),
                            warped[b, y, x],
                            **tolerance,
                        )

    def test_size_exception(self):
        with self.assertRaisesRegex(ValueError, "Grid width must be at least 2."):
            dense_image_warp(np.zeros([1, 2, 1, 1], np.float32), np.zeros([1, 2, 1, 2], np.float32))

    def test_in_tf_function(self):
        # TFA's tf.data case: the warp traced once, batch size unknown.
        fn = tf.function(dense_image_warp).get_concrete_function(
            tf.TensorSpec([None, 4, 5, 6], tf.float32),
            tf.TensorSpec([None, 4, 5, 2], tf.float32),
        )
        image = np.random.default_rng(1).normal(size=(3, 4, 5, 6)).astype(np.float32)
        flows = np.random.default_rng(2).normal(size=(3, 4, 5, 2)).astype(np.float32)
        np.testing.assert_allclose(
            np.asarray(fn(tf.constant(image), tf.constant(flows))),
            np.asarray(dense_image_warp(image, flows)),
            atol=1e-6,
        )
