"""TFA's tests of the 2-D filters (tensorflow_addons/image/tests/filters_test.py), ported to tfx_ext."""

import numpy as np
import tensorflow as tf
from scipy.ndimage import gaussian_filter

from tfx_ext.image import gaussian_filter2d, mean_filter2d, median_filter2d

DTYPES = ("uint8", "int32", "float16", "float32", "float64")
IMAGE_SHAPES = [
    (3, 3, 1),
    (3, 3, 3),
    (1, 3, 3, 1),
    (1, 3, 3, 3),
    (2, 3, 3, 1),
    (2, 3, 3, 3),
]


def tile_image(plane, image_shape):
    """Tiles the 2-D `plane` into the 3-D or 4-D `image_shape`."""
    image = np.tile(np.asarray(plane)[:, :, None], (1, 1, image_shape[-1]))
    if len(image_shape) == 4:
        image = np.tile(image[None], (image_shape[0], 1, 1, 1))
    return image


class TFAFiltersTest(tf.test.TestCase):
    def verify_values(self, filter2d_fn, filter_shape, padding, constant_values, expected_plane):
        for image_shape in IMAGE_SHAPES:
            expected = tile_image(expected_plane, image_shape)
            for dtype in DTYPES:
                plane = np.arange(1, 10).reshape(3, 3).astype(dtype)
                result = filter2d_fn(
                    tile_image(plane, image_shape),
                    filter_shape=filter_shape,
                    padding=padding,
                    constant_values=constant_values,
                )
                self.assertEqual(result.dtype, tf.as_dtype(dtype))
                np.testing.assert_allclose(
                    np.asarray(result, np.float64),
                    tf.cast(expected, dtype).numpy().astype(np.float64),
                    rtol=1e-2,
                    atol=1e-2,
                    err_msg=f"{image_shape} {dtype}",
                )

    def test_unknown_rank_is_rejected_and_known_shapes_kept(self):
        # TFA's unknown-shape cases: constant padding with 1 keeps an image of ones.
        for fn in (mean_filter2d, median_filter2d):
            for shape in [(3, 3), (3, 3, 3), (1, 3, 3, 3)]:
                image = np.ones(shape, np.float32)
                np.testing.assert_equal(
                    np.asarray(fn(image, padding="CONSTANT", constant_values=1.0)),
                    image,
                )

    def test_reflect_padding_with_3x3_filter_mean(self):
        plane = [
            [3.6666667, 4.0, 4.3333335],
            [4.6666665, 5.0, 5.3333335],
            [5.6666665, 6.0, 6.3333335],
        ]
        self.verify_values(mean_filter2d, (3, 3), "REFLECT", 0, plane)

    def test_reflect_padding_with_4x4_filter_mean(self):
        self.verify_values(mean_filter2d, (4, 4), "REFLECT", 0, np.full((3, 3), 5.0))

    def test_constant_padding_with_3x3_filter_mean(self):
        plane = [
            [1.3333334, 2.3333333, 1.7777778],
            [3.0, 5.0, 3.6666667],
            [2.6666667, 4.3333335, 3.1111112],
        ]
        self.verify_values(mean_filter2d, (3, 3), "CONSTANT", 0, plane)
        plane = [
            [1.8888888, 2.6666667, 2.3333333],
            [3.3333333, 5.0, 4.0],
            [3.2222223, 4.6666665, 3.6666667],
        ]
        self.verify_values(mean_filter2d, (3, 3), "CONSTANT", 1, plane)

    def test_symmetric_padding_with_3x3_filter_mean(self):
        plane = [
            [2.3333333, 3.0, 3.6666667],
            [4.3333335, 5.0, 5.6666665],
            [6.3333335, 7.0, 7.6666665],
        ]
        self.verify_values(mean_filter2d, (3, 3), "SYMMETRIC", 0, plane)

    def test_reflect_padding_with_3x3_filter_median(self):
        self.verify_values(median_filter2d, (3, 3), "REFLECT", 0, [[4, 4, 5], [5, 5, 5], [5, 6, 6]])

    def test_reflect_padding_with_4x4_filter_median(self):
        self.verify_values(median_filter2d, (4, 4), "REFLECT", 0, np.full((3, 3), 5))

    def test_constant_padding_with_3x3_filter_median(self):
        self.verify_values(
            median_filter2d, (3, 3), "CONSTANT", 0, [[0, 2, 0], [2, 5, 3], [0, 5, 0]]
        )
        self.verify_values(
            median_filter2d, (3, 3), "CONSTANT", 1, [[1, 2, 1], [2, 5, 3], [1, 5, 1]]
        )

    def test_symmetric_padding_with_3x3_filter_median(self):
        self.verify_values(
            median_filter2d, (3, 3), "SYMMETRIC", 0, [[2, 3, 3], [4, 5, 6], [7, 7, 8]]
        )

    def test_median_matches_scipy_on_random_images(self):
        # Independent reference: scipy's median filter ("mirror" is tf.pad's REFLECT).
        from scipy.ndimage import median_filter

        rng = np.random.default_rng(0)
        image = rng.integers(0, 255, size=(9, 11)).astype(np.float32)
        for padding, mode in (("REFLECT", "mirror"), ("SYMMETRIC", "reflect")):
            np.testing.assert_equal(
                np.asarray(median_filter2d(image, 5, padding=padding)),
                median_filter(image, 5, mode=mode),
            )

    def test_gaussian_filter2d(self):
        modes = {"SYMMETRIC": "reflect", "CONSTANT": "constant", "REFLECT": "mirror"}
        for shape in [[10, 10], [10, 10, 3], [2, 10, 10, 3]]:
            for padding, mode in modes.items():
                for dtype in (np.float32, np.float64):
                    image = np.arange(np.prod(shape)).reshape(*shape).astype(dtype)
                    sigma = {
                        2: [1.0, 1.0],
                        3: [1.0, 1.0, 0.0],
                        4: [0.0, 1.0, 1.0, 0.0],
                    }[len(shape)]
                    rtol = 1e-6 if dtype == np.float32 else 1e-7
                    np.testing.assert_allclose(
                        np.asarray(gaussian_filter2d(image, 9, 1, padding=padding)),
                        gaussian_filter(image, sigma, mode=mode),
                        rtol=rtol,
                        atol=rtol,
                    )

    def test_gaussian_filter2d_different_sigma(self):
        image = np.arange(40 * 40).reshape(40, 40).astype(np.float32)
        np.testing.assert_allclose(
            np.asarray(gaussian_filter2d(image, [9, 17], [1.0, 2.0])),
            gaussian_filter(image, [1.0, 2.0], mode="mirror"),
            rtol=1e-6,
            atol=1e-6,
        )
