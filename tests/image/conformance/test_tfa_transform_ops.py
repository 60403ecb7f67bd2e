"""TFA's tests of the transform and translate ops
(tensorflow_addons/image/tests/transform_ops_test.py, translate_ops_test.py), ported to tfx_ext.

TFA's shear tests compare against scikit-image's `warp`, which this
environment lacks: the same inverse mapping is written out in NumPy here.
"""

import keras
import numpy as np
import scipy.ndimage
import tensorflow as tf
from PIL import Image

from tfx_ext import image as tfx_image

DTYPES = ("uint8", "int32", "int64", "float16", "float32", "float64")
TRANSLATE_RIGHT_1 = [1, 0, -1, 0, 1, 0, 0, 0]


def _grid(dtype):
    return np.arange(16).reshape(4, 4).astype(dtype)


def _nearest_affine(image, matrix, fill):
    """Output pixel (x, y) takes input pixel round(matrix @ (x, y, 1)), `fill` outside."""
    out = np.empty(image.shape, np.float64)
    height, width = image.shape[:2]
    for y in range(height):
        for x in range(width):
            sx, sy, _ = matrix @ np.array([x, y, 1.0])
            ix, iy = int(np.floor(sx + 0.5)), int(np.floor(sy + 0.5))
            out[y, x] = image[iy, ix] if 0 <= ix < width and 0 <= iy < height else fill
    return out


class TFATransformOpsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_compose(self):
        for dtype in DTYPES:
            image = np.array([[1, 1, 1, 0], [1, 0, 0, 0], [1, 1, 1, 0], [0, 0, 0, 0]], dtype)
            rotation = tfx_image.angles_to_projective_transforms(np.pi / 2, 4, 4)
            composed = tfx_image.compose_transforms([rotation, TRANSLATE_RIGHT_1])
            result = tfx_image.transform(image, composed)
            self.assertEqual(result.dtype, tf.as_dtype(dtype))
            np.testing.assert_equal(
                [[0, 0, 0, 0], [0, 1, 0, 1], [0, 1, 0, 1], [0, 1, 1, 1]],
                np.asarray(result),
            )

    def test_extreme_projective_transform(self):
        for dtype in DTYPES:
            image = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype)
            result = tfx_image.transform(image, [1, 0, 0, 0, 1, 0, -1, 0])
            np.testing.assert_equal(
                [[1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]],
                np.asarray(result),
            )

    def test_transform_constant_fill_mode(self):
        for dtype in DTYPES:
            for fill_value in (0.0, 1.0):
                expected = np.asarray(
                    [
                        [fill_value, 0, 1, 2],
                        [fill_value, 4, 5, 6],
                        [fill_value, 8, 9, 10],
                        [fill_value, 12, 13, 14],
                    ],
                    dtype,
                )
                result = tfx_image.transform(
                    _grid(dtype),
                    TRANSLATE_RIGHT_1,
                    fill_mode="constant",
                    fill_value=fill_value,
                )
                np.testing.assert_equal(np.asarray(result), expected)

    def test_transform_reflect_wrap_nearest_fill_modes(self):
        expected = {
            "reflect": (
                [[0, 0, 1, 2], [4, 4, 5, 6], [8, 8, 9, 10], [12, 12, 13, 14]],
                TRANSLATE_RIGHT_1,
            ),
            "wrap": (
                [[3, 0, 1, 2], [7, 4, 5, 6], [11, 8, 9, 10], [15, 12, 13, 14]],
                TRANSLATE_RIGHT_1,
            ),
            "nearest": (
                [[0, 0, 0, 1], [4, 4, 4, 5], [8, 8, 8, 9], [12, 12, 12, 13]],
                [1, 0, -2, 0, 1, 0, 0, 0],
            ),
        }
        for dtype in DTYPES:
            for mode, (values, transform) in expected.items():
                result = tfx_image.transform(_grid(dtype), transform, fill_mode=mode)
                np.testing.assert_equal(
                    np.asarray(result),
                    np.asarray(values, dtype),
                    err_msg=f"{mode} {dtype}",
                )

    def test_transform_static_output_shape(self):
        image = tf.constant([[1.0, 2.0], [3.0, 4.0]])
        result = tfx_image.transform(image, tf.random.uniform([8], -1, 1), output_shape=[3, 5])
        self.assertEqual((3, 5), tuple(result.shape))

    def test_output_shape_crops_like_the_kernel(self):
        # Independent expectation: translating right by 1 then keeping the
        # top-left 3x2 window is a slice of the same-size result.
        image = np.arange(20.0).reshape(4, 5)
        full = np.asarray(tfx_image.transform(image, TRANSLATE_RIGHT_1))
        cropped = np.asarray(tfx_image.transform(image, TRANSLATE_RIGHT_1, output_shape=[3, 2]))
        np.testing.assert_equal(cropped, full[:3, :2])

    def _check_grad(self, input_shape, output_shape=None):
        size = int(np.prod(input_shape))
        image = tf.reshape(tf.range(size, dtype=tf.float32), input_shape) / size * 0.01

        def transform_fn(x):
            rotation = tfx_image.angles_to_projective_transforms(np.pi / 2, 4, 4)
            return tfx_image.transform(images=x, transforms=rotation, output_shape=output_shape)

        theoretical, numerical = tf.test.compute_gradient(transform_fn, [image])
        np.testing.assert_almost_equal(theoretical[0], numerical[0], decimal=6)

    def test_grad(self):
        # TFA uses 8x8 images; 4x4 keeps the finite differences cheap.
        self._check_grad([4, 4])
        self._check_grad([4, 4], [3, 3])

    def test_transform_data_types(self):
        for dtype in DTYPES:
            image = np.array([[1, 2], [3, 4]], dtype)
            np.testing.assert_equal(
                np.array([[4, 4], [4, 4]], dtype),
                np.asarray(tfx_image.transform(image, [1] * 8)),
            )

    def test_zeros(self):
        for dtype in DTYPES:
            for shape in [(5, 5), (24, 24), (2, 24, 24, 3)]:
                for angle in [0, 1, np.pi / 2.0]:
                    result = tfx_image.rotate(np.zeros(shape, dtype), angle)
                    np.testing.assert_equal(np.asarray(result), np.zeros(shape, dtype))

    def test_rotate_even(self):
        for dtype in DTYPES:
            image = np.arange(36).reshape(6, 6).astype(dtype)
            batch = np.tile(image[None, :, :, None], [3, 1, 1, 1])
            rotated = tfx_image.rotate(batch, tf.constant([0.0, np.pi / 4.0, np.pi / 2.0]))
            np.testing.assert_equal(
                np.asarray(rotated)[:, :, :, 0],
                [
                    image,
                    [
                        [0, 3, 4, 11, 17, 0],
                        [2, 3, 9, 16, 23, 23],
                        [1, 8, 15, 21, 22, 29],
                        [6, 13, 20, 21, 27, 34],
                        [12, 18, 19, 26, 33, 33],
                        [0, 18, 24, 31, 32, 0],
                    ],
                    [
                        [5, 11, 17, 23, 29, 35],
                        [4, 10, 16, 22, 28, 34],
                        [3, 9, 15, 21, 27, 33],
                        [2, 8, 14, 20, 26, 32],
                        [1, 7, 13, 19, 25, 31],
                        [0, 6, 12, 18, 24, 30],
                    ],
                ],
            )

    def test_rotate_odd(self):
        for dtype in DTYPES:
            image = np.arange(25).reshape(5, 5).astype(dtype)
            batch = np.tile(image[None, :, :, None], [3, 1, 1, 1])
            rotated = tfx_image.rotate(batch, tf.constant([np.pi / 4.0, 1.0, -np.pi / 2.0]))
            np.testing.assert_equal(
                np.asarray(rotated)[:, :, :, 0],
                [
                    [
                        [0, 3, 8, 9, 0],
                        [1, 7, 8, 13, 19],
                        [6, 6, 12, 18, 18],
                        [5, 11, 16, 17, 23],
                        [0, 15, 16, 21, 0],
                    ],
                    [
                        [0, 3, 9, 14, 0],
                        [2, 7, 8, 13, 19],
                        [1, 6, 12, 18, 23],
                        [5, 11, 16, 17, 22],
                        [0, 10, 15, 21, 0],
                    ],
                    [
                        [20, 15, 10, 5, 0],
                        [21, 16, 11, 6, 1],
                        [22, 17, 12, 7, 2],
                        [23, 18, 13, 8, 3],
                        [24, 19, 14, 9, 4],
                    ],
                ],
            )

    def test_bilinear(self):
        image = np.array(
            [
                [0, 0, 0, 0, 0],
                [0, 1, 1, 1, 0],
                [0, 1, 0, 1, 0],
                [0, 1, 1, 1, 0],
                [0, 0, 0, 0, 0],
            ],
            np.float32,
        )
        # TFA: matches scipy.ndimage.rotate(image, 45, order=1, reshape=False).
        reference = scipy.ndimage.rotate(image, 45, order=1, reshape=False)
        transformed = tfx_image.rotate(image, np.pi / 4.0, interpolation="BILINEAR")
        expected = [
            [0.000, 0.000, 0.343, 0.000, 0.000],
            [0.000, 0.586, 0.914, 0.586, 0.000],
            [0.343, 0.914, 0.000, 0.914, 0.343],
            [0.000, 0.586, 0.914, 0.586, 0.000],
            [0.000, 0.000, 0.343, 0.000, 0.000],
        ]
        np.testing.assert_allclose(np.asarray(transformed), expected, atol=0.001)
        np.testing.assert_allclose(np.asarray(transformed), reference, atol=0.001)
        transformed = tfx_image.rotate(image, np.pi / 4.0, interpolation="NEAREST")
        np.testing.assert_allclose(
            np.asarray(transformed),
            [
                [0, 0, 1, 0, 0],
                [0, 1, 1, 1, 0],
                [1, 1, 0, 1, 1],
                [0, 1, 1, 1, 0],
                [0, 0, 1, 0, 0],
            ],
        )

    def test_bilinear_uint8(self):
        image = np.array(
            [
                [0, 0, 0, 0, 0],
                [0, 255, 255, 255, 0],
                [0, 255, 0, 255, 0],
                [0, 255, 255, 255, 0],
                [0, 0, 0, 0, 0],
            ],
            np.uint8,
        )
        transformed = tfx_image.rotate(image, np.pi / 4.0, interpolation="BILINEAR")
        np.testing.assert_equal(
            np.asarray(transformed),
            [
                [0, 0, 87, 0, 0],
                [0, 149, 233, 149, 0],
                [87, 233, 0, 233, 87],
                [0, 149, 233, 149, 0],
                [0, 0, 87, 0, 0],
            ],
        )

    def test_rotate_static_shape(self):
        image = tf.linalg.diag([1.0, 2.0, 3.0])
        result = tfx_image.rotate(image, tf.random.uniform((), -1, 1), interpolation="BILINEAR")
        self.assertEqual(image.shape, result.shape)

    def test_shear_x_and_y(self):
        rng = np.random.default_rng(0)
        color = [255, 0, 255]
        for dtype in set(DTYPES) - {"float16"}:
            image = rng.integers(0, 255, size=(4, 4, 3)).astype(dtype)
            level = float(rng.uniform(0, 1))
            sheared = tfx_image.shear_x(
                tf.constant(image), level, replace=tf.constant(color, tf.int32)
            )
            expected = _nearest_affine(
                image, np.array([[1, level, 0], [0, 1, 0], [0, 0, 1]]), color
            )
            np.testing.assert_equal(np.asarray(sheared), expected)
            sheared = tfx_image.shear_y(
                image=tf.constant(image),
                level=level,
                replace=tf.constant(color, tf.int32),
            )
            expected = _nearest_affine(
                image, np.array([[1, 0, 0], [level, 1, 0], [0, 0, 1]]), color
            )
            np.testing.assert_equal(np.asarray(sheared), expected)


class TFATranslateOpsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_translate(self):
        for dtype in DTYPES:
            image = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], dtype)
            translated = tfx_image.translate(image, tf.constant([-1, -1], tf.float32))
            np.testing.assert_equal(
                np.asarray(translated),
                [[1, 0, 1, 0], [0, 1, 0, 0], [1, 0, 1, 0], [0, 0, 0, 0]],
            )

    def test_translations_to_projective_transforms(self):
        transform = tfx_image.translations_to_projective_transforms(
            tf.constant([-1, -1], tf.float32)
        )
        np.testing.assert_equal(np.asarray(transform), [[1, 0, 1, 0, 1, 1, 0, 0]])

    def test_translate_xy(self):
        rng = np.random.default_rng(0)
        image = rng.integers(0, 255, size=(4, 4, 3), dtype=np.uint8)
        shift = rng.integers(0, 4, size=(2,), dtype=np.uint8)
        color = np.array([255, 0, 255], np.uint8)
        translated = tfx_image.translate_xy(
            image=tf.constant(image), translate_to=tf.constant(shift), replace=color
        )
        expected = Image.fromarray(image).rotate(
            angle=0,
            resample=Image.NEAREST,
            translate=tuple(int(v) for v in shift),
            fillcolor=tuple(int(c) for c in color),
        )
        np.testing.assert_equal(np.asarray(translated), np.asarray(expected))

    def test_translate_xy_scalar_replace(self):
        rng = np.random.default_rng(1)
        for dtype in set(DTYPES) - {"float16"}:
            image = rng.integers(0, 128, size=(4, 4, 3)).astype(dtype)
            shift = rng.integers(0, 4, size=(2,))
            result = tfx_image.translate_xy(image=image, translate_to=shift, replace=1)
            expected = scipy.ndimage.shift(
                image, shift=(shift[1], shift[0], 0), order=0, mode="constant", cval=1
            )
            np.testing.assert_equal(np.asarray(result), expected)
