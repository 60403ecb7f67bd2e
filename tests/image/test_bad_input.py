"""Bad input to tfx_ext.image: each error names the argument and what was expected."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext import image as tfx_image

IMAGE = np.zeros((4, 4, 3), np.float32)


class TransformBadInputTest(tf.test.TestCase):
    @rejects_bad_input(tfx_image.transform)
    def test_transform(self):
        with self.assertRaisesRegex(TypeError, "`images`.*dtype"):
            tfx_image.transform(np.array([["a"]]), [1] * 8)
        with self.assertRaisesRegex(ValueError, "`images`.*rank 2"):
            tfx_image.transform(np.zeros((1, 2, 2, 1, 1)), [1] * 8)
        with self.assertRaisesRegex(ValueError, "`transforms`.*\\(N, 8\\)"):
            tfx_image.transform(IMAGE, [1] * 6)
        with self.assertRaisesRegex(ValueError, "`interpolation`.*'bilinear'"):
            tfx_image.transform(IMAGE, [1] * 8, interpolation="bicubic")
        with self.assertRaisesRegex(ValueError, "`fill_mode`.*'reflect'"):
            tfx_image.transform(IMAGE, [1] * 8, fill_mode="mirror")
        with self.assertRaisesRegex(ValueError, "`output_shape`"):
            tfx_image.transform(IMAGE, [1] * 8, output_shape=[3])
        with self.assertRaisesRegex(ValueError, "`transforms`.*one per image"):
            tfx_image.transform(np.zeros((2, 4, 4, 1)), np.ones((3, 8)))

    @rejects_bad_input(tfx_image.compose_transforms)
    def test_compose_transforms(self):
        with self.assertRaisesRegex(ValueError, "`transforms`.*non-empty"):
            tfx_image.compose_transforms([])
        with self.assertRaisesRegex(ValueError, "`transforms`"):
            tfx_image.compose_transforms([[1, 2, 3]])

    @rejects_bad_input(tfx_image.angles_to_projective_transforms, tfx_image.rotate)
    def test_angles(self):
        with self.assertRaisesRegex(ValueError, "`angles`.*rank 0 or 1"):
            tfx_image.angles_to_projective_transforms(np.zeros((2, 2)), 4, 4)
        with self.assertRaisesRegex(ValueError, "`image_height`"):
            tfx_image.angles_to_projective_transforms(0.0, [4, 4], 4)
        with self.assertRaisesRegex(ValueError, "`angles`"):
            tfx_image.rotate(IMAGE, np.zeros((1, 1)))
        with self.assertRaisesRegex(ValueError, "`fill_mode`"):
            tfx_image.rotate(IMAGE, 0.5, fill_mode="edge")

    @rejects_bad_input(tfx_image.shear_x, tfx_image.shear_y)
    def test_shear(self):
        for shear in (tfx_image.shear_x, tfx_image.shear_y):
            with self.assertRaisesRegex(ValueError, "`image`.*3D"):
                shear(np.zeros((4, 4)), 0.5, 0)
            with self.assertRaisesRegex(ValueError, "`level`.*finite"):
                shear(IMAGE, float("nan"), 0)
            with self.assertRaisesRegex(ValueError, "`replace`.*3 values"):
                shear(IMAGE, 0.5, [1, 2])

    @rejects_bad_input(
        tfx_image.translate,
        tfx_image.translations_to_projective_transforms,
        tfx_image.translate_xy,
    )
    def test_translate(self):
        with self.assertRaisesRegex(ValueError, "`translations`.*\\(N, 2\\)"):
            tfx_image.translations_to_projective_transforms([1, 2, 3])
        with self.assertRaisesRegex(ValueError, "`translations`"):
            tfx_image.translate(IMAGE, [[[1, 2]]])
        with self.assertRaisesRegex(ValueError, "`interpolation`"):
            tfx_image.translate(IMAGE, [1, 2], interpolation="cubic")
        with self.assertRaisesRegex(ValueError, "`translate_to`.*two values"):
            tfx_image.translate_xy(IMAGE, [1, 2, 3], 0)
        with self.assertRaisesRegex(ValueError, "`image`.*3D"):
            tfx_image.translate_xy(np.zeros((1, 4, 4, 3)), [1, 2], 0)


class FiltersBadInputTest(tf.test.TestCase):
    @rejects_bad_input(
        tfx_image.mean_filter2d, tfx_image.median_filter2d, tfx_image.gaussian_filter2d
    )
    def test_filters(self):
        for fn in (
            tfx_image.mean_filter2d,
            tfx_image.median_filter2d,
            tfx_image.gaussian_filter2d,
        ):
            # TFA's invalid cases: rank 1 and rank 5 images, 3-value and None filter shapes, padding "TEST".
            for shape in [(1,), (16, 28, 28, 1, 1)]:
                with self.assertRaisesRegex(ValueError, "`image`.*rank 2"):
                    fn(np.ones(shape, np.float32))
            for filter_shape in [(3, 3, 3), (3, None)]:
                with self.assertRaisesRegex(ValueError, "`filter_shape`"):
                    fn(IMAGE, filter_shape=filter_shape)
            with self.assertRaisesRegex(TypeError, "`filter_shape`"):
                fn(IMAGE, filter_shape=None)
            with self.assertRaisesRegex(ValueError, "`padding`.*'symmetric'"):
                fn(IMAGE, padding="TEST")
            with self.assertRaisesRegex(TypeError, "`constant_values`"):
                fn(IMAGE, padding="CONSTANT", constant_values="zero")
        with self.assertRaisesRegex(ValueError, "`sigma`"):
            tfx_image.gaussian_filter2d(IMAGE, sigma=[1.0, 2.0, 3.0])
        with self.assertRaisesRegex(ValueError, "`sigma`.*positive"):
            tfx_image.gaussian_filter2d(IMAGE, sigma=-1.0)


class CutoutColorBadInputTest(tf.test.TestCase):
    @rejects_bad_input(tfx_image.cutout, tfx_image.random_cutout)
    def test_cutout(self):
        batch = np.ones((2, 8, 8, 1), np.float32)
        for fn in (tfx_image.cutout, tfx_image.random_cutout):
            with self.assertRaisesRegex(ValueError, "`mask_size`.*even"):
                fn(batch, 3)
            with self.assertRaisesRegex(ValueError, "`mask_size`"):
                fn(batch, (2, 2, 2))
            with self.assertRaisesRegex(TypeError, "`mask_size`"):
                fn(batch, None)
            with self.assertRaisesRegex(ValueError, "`images`.*NHWC"):
                fn(IMAGE, 2)
        with self.assertRaisesRegex(ValueError, "`offset`"):
            tfx_image.cutout(batch, 2, offset=[1, 2, 3])
        with self.assertRaisesRegex(TypeError, "`seed`"):
            tfx_image.random_cutout(batch, 2, seed="a")

    @rejects_bad_input(tfx_image.blend, tfx_image.sharpness, tfx_image.equalize)
    def test_color(self):
        with self.assertRaisesRegex(TypeError, "`factor`"):
            tfx_image.blend(IMAGE, IMAGE, "half")
        with self.assertRaisesRegex(ValueError, "`image2`.*shape"):
            tfx_image.blend(IMAGE, np.zeros((2, 2, 3)), 0.5)
        with self.assertRaisesRegex(ValueError, "`factor`"):
            tfx_image.sharpness(IMAGE, float("nan"))
        with self.assertRaisesRegex(ValueError, "`image`.*rank 2"):
            tfx_image.sharpness(np.zeros((4,)), 0.5)
        with self.assertRaisesRegex(ValueError, "`bins`"):
            tfx_image.equalize(IMAGE, bins=1)
        with self.assertRaisesRegex(TypeError, "`bins`"):
            tfx_image.equalize(IMAGE, bins=2.5)
        with self.assertRaisesRegex(TypeError, "`image`.*dtype"):
            tfx_image.equalize(np.zeros((4, 4), bool))


class WarpBadInputTest(tf.test.TestCase):
    @rejects_bad_input(tfx_image.interpolate_bilinear, tfx_image.dense_image_warp)
    def test_warp(self):
        grid = np.zeros((1, 4, 3, 1), np.float32)
        points = np.zeros((1, 5, 2), np.float32)
        with self.assertRaisesRegex(ValueError, "`indexing`.*'xy'"):
            tfx_image.interpolate_bilinear(grid, points, indexing="yx")
        with self.assertRaisesRegex(ValueError, "`grid`.*4-D"):
            tfx_image.interpolate_bilinear(grid[0], points)
        with self.assertRaisesRegex(TypeError, "`grid`.*float"):
            tfx_image.interpolate_bilinear(grid.astype(np.int32), points)
        with self.assertRaisesRegex(ValueError, "`query_points`.*last dimension 2"):
            tfx_image.interpolate_bilinear(grid, np.zeros((1, 5, 3), np.float32))
        with self.assertRaisesRegex(ValueError, "`flow`.*\\[batch, 4, 3, 2\\]"):
            tfx_image.dense_image_warp(grid, np.zeros((1, 4, 3, 1), np.float32))
        with self.assertRaisesRegex(ValueError, "`image`.*4-D"):
            tfx_image.dense_image_warp(grid[0], np.zeros((1, 4, 3, 2), np.float32))


class DistanceTransformBadInputTest(tf.test.TestCase):
    @rejects_bad_input(tfx_image.euclidean_dist_transform)
    def test_euclidean_dist_transform(self):
        with self.assertRaisesRegex(TypeError, "`images`.*uint8"):
            tfx_image.euclidean_dist_transform(np.zeros((4, 4), np.float32))
        with self.assertRaisesRegex(TypeError, "`dtype`"):
            tfx_image.euclidean_dist_transform(np.zeros((4, 4), np.uint8), dtype="int32")
        with self.assertRaisesRegex(ValueError, "`images`.*rank 2"):
            tfx_image.euclidean_dist_transform(np.zeros((4,), np.uint8))


@pytest.mark.backend_neutral
class ProjectiveBackendTest(tf.test.TestCase):
    def test_projective_terms_need_tensorflow(self):
        image = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [1, 0, 1, 0], [0, 1, 0, 1]], np.float32)
        if keras.backend.backend() == "tensorflow":
            # TFA's extreme projective case (its expected values).
            result = tfx_image.transform(image, [1, 0, 0, 0, 1, 0, -1, 0])
            np.testing.assert_equal(
                np.asarray(result),
                [[1, 0, 0, 0], [0, 0, 0, 0], [1, 0, 0, 0], [0, 0, 0, 0]],
            )
        else:
            with self.assertRaisesRegex(
                ValueError, "`transforms`.*projective ones need TensorFlow"
            ):
                tfx_image.transform(image, [1, 0, 0, 0, 1, 0, -1, 0])
        # An affine transform works on every backend: translate right by 1.
        result = tfx_image.transform(image, [1, 0, -1, 0, 1, 0, 0, 0])
        np.testing.assert_equal(np.asarray(result), np.pad(image[:, :3], ((0, 0), (1, 0))))


class ResamplerBadInputTest(tf.test.TestCase):
    @rejects_bad_input(tfx_image.resampler)
    def test_resampler(self):
        with self.assertRaisesRegex(TypeError, "`data`.*float"):
            tfx_image.resampler(np.zeros((1, 4, 4, 1), np.int32), np.zeros((1, 3, 2), np.float32))
        with self.assertRaisesRegex(ValueError, "`data`.*4-D"):
            tfx_image.resampler(np.zeros((4, 4, 1), np.float32), np.zeros((1, 3, 2), np.float32))
        with self.assertRaisesRegex(ValueError, "`warp`.*\\(x, y\\)"):
            tfx_image.resampler(np.zeros((1, 4, 4, 1), np.float32), np.zeros((1, 3, 3), np.float32))
