"""TFA's tests of euclidean_dist_transform (tensorflow_addons/image/tests/distance_transform_test.py), ported."""

import numpy as np
import tensorflow as tf
from scipy.ndimage import distance_transform_edt

from tfx_ext.image import euclidean_dist_transform

SQUARE = [
    [0, 0, 0, 0, 0],
    [0, 1, 1, 1, 0],
    [0, 1, 1, 1, 0],
    [0, 1, 1, 1, 0],
    [0, 0, 0, 0, 0],
]
SQUARE_DISTANCES = [
    0,
    0,
    0,
    0,
    0,
    0,
    1,
    1,
    1,
    0,
    0,
    1,
    2,
    1,
    0,
    0,
    1,
    1,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
]


class TFADistanceTransformTest(tf.test.TestCase):
    def test_single_binary_image(self):
        image = np.array(
            [
                [1, 1, 1, 1, 1],
                [1, 1, 1, 1, 1],
                [0, 1, 0, 1, 0],
                [1, 0, 1, 0, 1],
                [0, 1, 0, 1, 0],
            ],
            np.uint8,
        )[..., None]
        expected = [2, 2.23606801, 2, 2.23606801, 2, 1, 1.41421354, 1, 1.41421354, 1]
        expected += [0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]
        for dtype in (tf.float16, tf.float32, tf.float64):
            output = euclidean_dist_transform(image, dtype=dtype)
            self.assertEqual(output.dtype, dtype)
            self.assertEqual(tuple(output.shape), (5, 5, 1))
            rtol = 1e-3 if dtype == tf.float16 else 1e-6
            np.testing.assert_allclose(np.asarray(output).reshape(-1), expected, rtol=rtol)

    def test_batch_binary_images(self):
        images = np.array([SQUARE] * 3, np.uint8)[..., None]
        for dtype in ("float16", "float32", "float64"):
            output = euclidean_dist_transform(images, dtype=dtype)
            self.assertEqual(tuple(output.shape), (3, 5, 5, 1))
            np.testing.assert_allclose(np.asarray(output).reshape(-1), SQUARE_DISTANCES * 3)

    def test_image_with_invalid_dtype(self):
        for dtype in (tf.uint8, tf.int32, tf.int64):
            with self.assertRaisesRegex(TypeError, "`dtype` must be float16, float32 or float64"):
                euclidean_dist_transform(np.array(SQUARE, np.uint8), dtype=dtype)

    def test_all_zeros(self):
        for dtype in ("float16", "float32", "float64"):
            np.testing.assert_allclose(
                np.asarray(euclidean_dist_transform(np.zeros([10, 10], np.uint8), dtype=dtype)),
                np.zeros([10, 10]),
            )

    def test_all_ones(self):
        output = euclidean_dist_transform(np.ones([10, 10, 1], np.uint8))
        np.testing.assert_allclose(
            np.asarray(output), np.full([10, 10, 1], np.sqrt(np.finfo(np.float32).max))
        )

    def test_multi_channels(self):
        # TFA uses a batch of 2048; 16 checks the same per-channel independence.
        image = np.tile(np.array(SQUARE, np.uint8)[..., None], [1, 1, 3])
        output = euclidean_dist_transform(np.array([image] * 16), dtype=tf.float32)
        self.assertEqual(tuple(output.shape), (16, 5, 5, 3))
        np.testing.assert_allclose(
            np.asarray(output).reshape(-1, 3),
            np.tile(np.array(SQUARE_DISTANCES)[:, None], [16, 3]),
        )

    def test_matches_scipy_on_random_images(self):
        # Independent reference: scipy's exact Euclidean distance transform.
        image = (np.random.default_rng(0).uniform(size=(2, 13, 17, 2)) > 0.2).astype(np.uint8)
        output = np.asarray(euclidean_dist_transform(image, dtype="float64"))
        for n in range(2):
            for c in range(2):
                np.testing.assert_allclose(
                    output[n, :, :, c],
                    distance_transform_edt(image[n, :, :, c]),
                    rtol=1e-12,
                )
