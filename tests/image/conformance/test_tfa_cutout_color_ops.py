"""TFA's tests of cutout, blend, sharpness and equalize
(tensorflow_addons/image/tests/cutout_ops_test.py, compose_ops_test.py, color_ops_test.py), ported to tfx_ext.

TFA's `equalize` check against scikit-image (absent here) is left out; PIL's
`ImageOps.equalize`, the reference TFA's op reproduces, is kept.
"""

import keras
import numpy as np
import tensorflow as tf
from PIL import Image, ImageEnhance, ImageOps

from tfx_ext.image import blend, cutout, equalize, random_cutout, sharpness

DTYPES = ("uint8", "int32", "int64", "float16", "float32", "float64")
SHAPES = [(5, 5), (5, 5, 1), (5, 5, 3), (4, 5, 5), (4, 5, 5, 1), (4, 5, 5, 3)]


def _corner_cut(dtype, channels=1):
    area = np.pad(np.zeros((4, 4), dtype), ((0, 36), (0, 36)), constant_values=1)
    return np.tile(area[None, :, :, None], (1, 1, 1, channels))


class TFACutoutTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(1234)

    def test_different_dtypes(self):
        for dtype in ("float16", "float32", "uint8"):
            result = cutout(np.ones([1, 40, 40, 1], dtype), 4, [2, 2])
            np.testing.assert_allclose(np.asarray(result), _corner_cut(dtype))
            self.assertEqual(result.dtype, tf.as_dtype(dtype))

    def test_different_channels(self):
        for channel in [0, 1, 3, 4]:
            result = random_cutout(np.ones([1, 40, 40, channel], np.uint8), 20, seed=1234)
            self.assertEqual(tuple(result.shape), (1, 40, 40, channel))

    def test_batch_size(self):
        images = np.random.default_rng(0).uniform(size=(10, 40, 40, 1)).astype(np.float32)
        result = random_cutout(images, 20, seed=1234)
        self.assertEqual(tuple(result.shape), (10, 40, 40, 1))
        self.assertLen(set(np.mean(np.asarray(result), axis=(1, 2, 3))), 10)

    def test_with_tf_function(self):
        result = tf.function(random_cutout)(tf.ones([1, 40, 40, 1], tf.uint8), 2)
        self.assertEqual(tuple(result.shape), (1, 40, 40, 1))

    def test_mask_applied(self):
        images = np.ones([10, 40, 40, 1], np.uint8)
        result = np.asarray(random_cutout(images, 20, seed=1234))
        self.assertEqual(
            int(np.sum(result, dtype=np.int64)) + 20 * 20 * 10,
            int(np.sum(images, dtype=np.int64)),
        )
        # Each mask is a whole 20x20 square inside its image.
        for mask in result[..., 0] == 0:
            rows, cols = np.nonzero(mask)
            self.assertEqual((rows.max() - rows.min() + 1, cols.max() - cols.min() + 1), (20, 20))

    def test_mask_larger_than_image(self):
        result = random_cutout(np.ones([10, 40, 40, 1], np.uint8), 60, seed=1234)
        self.assertEqual(int(np.sum(np.asarray(result))), 0)

    def test_keras_layer(self):
        inputs = keras.Input(shape=(40, 40, 1), dtype="uint8")
        outputs = keras.layers.Lambda(lambda x: cutout(x, 4, [2, 2]))(inputs)
        model = keras.Model(inputs=inputs, outputs=outputs)
        x = np.ones([10, 40, 40, 1], np.uint8)
        np.testing.assert_equal(np.asarray(cutout(x, 4, [2, 2])), np.asarray(model(x)))

    def test_invalid_mask_size(self):
        with self.assertRaisesRegex(ValueError, "mask_size should be divisible by 2"):
            cutout(np.ones([10, 40, 40, 1], np.uint8), 3, [2, 2])

    def test_per_image_offsets_and_clipping(self):
        # Independent expectation: the rectangle [r - 2, r + 2) x [c - 1, c + 1), clipped.
        images = np.ones([2, 6, 7, 1], np.float32)
        offsets = [[0, 0], [4, 6]]
        result = np.asarray(cutout(images, (4, 2), offsets, constant_values=-1))
        expected = images.copy()
        for k, (r, c) in enumerate(offsets):
            expected[k, max(0, r - 2) : r + 2, max(0, c - 1) : c + 1] = -1
        np.testing.assert_equal(result, expected)


def blend_np(image1, image2, factor):
    temp = image1.astype("float32") + factor * (image2.astype("float32") - image1.astype("float32"))
    if 0.0 <= factor <= 1.0:
        return np.round(temp)
    return np.round(np.clip(temp, 0.0, 255.0))


class TFAColorOpsTest(tf.test.TestCase):
    def test_blend(self):
        for dtype in DTYPES:
            blended = blend(np.zeros((4, 4), dtype), np.full((4, 4), 255, dtype), 0.5)
            np.testing.assert_equal(np.asarray(blended), np.full((4, 4), 128))
        rng = np.random.default_rng(0)
        image1 = rng.integers(0, 255, (3, 5, 5)).astype(np.uint8)
        image2 = rng.integers(0, 255, (3, 5, 5)).astype(np.uint8)
        for factor in (float(rng.uniform()), 1.7, -0.4):
            blended = np.asarray(
                blend(tf.constant(image1), tf.constant(image2), tf.constant(factor))
            )
            expected = blend_np(image1, image2, np.float32(factor))
            np.testing.assert_equal(blended, expected)
            self.assertEqual(blended.dtype, expected.dtype)

    def test_equalize_dtype_shape(self):
        for dtype in DTYPES:
            for shape in SHAPES:
                image = np.ones(shape, dtype)
                equalized = np.asarray(equalize(tf.constant(image)))
                np.testing.assert_equal(equalized, image)
                self.assertEqual(equalized.dtype, image.dtype)

    def test_equalize_with_PIL(self):
        image = np.random.default_rng(0).integers(0, 255, size=(4, 3, 3, 3)).astype(np.uint8)
        expected = np.stack([np.asarray(ImageOps.equalize(Image.fromarray(i))) for i in image])
        np.testing.assert_equal(np.asarray(equalize(tf.constant(image))), expected)
        # Larger images, where the histogram has many levels (TFA's case is 3x3).
        image = np.random.default_rng(1).integers(0, 200, size=(2, 16, 16, 3)).astype(np.uint8)
        expected = np.stack([np.asarray(ImageOps.equalize(Image.fromarray(i))) for i in image])
        np.testing.assert_equal(np.asarray(equalize(image)), expected)

    def test_sharpness_dtype_shape(self):
        for dtype in DTYPES:
            for shape in SHAPES:
                image = np.ones(shape, dtype)
                sharp = np.asarray(sharpness(tf.constant(image), 0))
                np.testing.assert_equal(sharp, image)
                self.assertEqual(sharp.dtype, image.dtype)

    def test_sharpness_with_PIL(self):
        image = np.random.default_rng(0).integers(0, 255, size=(10, 5, 5, 3)).astype(np.uint8)
        for factor in [0, 0.25, 0.5, 0.75, 1]:
            expected = np.stack(
                [
                    np.asarray(ImageEnhance.Sharpness(Image.fromarray(i)).enhance(factor))
                    for i in image
                ]
            )
            np.testing.assert_allclose(
                np.asarray(sharpness(tf.constant(image), factor)).astype(np.int32),
                expected.astype(np.int32),
                atol=1,
            )
