"""TFA's tests of resampler (tensorflow_addons/image/tests/resampler_ops_test.py), ported to tfx_ext."""

import numpy as np
import tensorflow as tf

from tfx_ext.image import resampler


def _bilinearly_interpolate(data, x, y):
    """TFA's NumPy reference: zero-pad by one pixel, then bilinear (0 outside the padded image)."""
    shape = x.shape
    x = np.asarray(x) + 1
    y = np.asarray(y) + 1
    data = np.pad(data, 1, "constant", constant_values=0)
    x_0 = np.floor(x).astype(int)
    x_1 = x_0 + 1
    y_0 = np.floor(y).astype(int)
    y_1 = y_0 + 1
    x_0 = np.clip(x_0, 0, data.shape[1] - 1)
    x_1 = np.clip(x_1, 0, data.shape[1] - 1)
    y_0 = np.clip(y_0, 0, data.shape[0] - 1)
    y_1 = np.clip(y_1, 0, data.shape[0] - 1)
    samples = (
        (x_1 - x) * (y_1 - y) * data[y_0, x_0]
        + (x_1 - x) * (y - y_0) * data[y_1, x_0]
        + (x - x_0) * (y_1 - y) * data[y_0, x_1]
        + (x - x_0) * (y - y_0) * data[y_1, x_1]
    )
    return samples.reshape(shape)


def _make_warp(rng, batch_size, warp_height, warp_width, dtype):
    x, y = np.meshgrid(
        np.linspace(0, warp_width - 1, warp_width),
        np.linspace(0, warp_height - 1, warp_height),
    )
    warp = np.stack([x, y], axis=2)[None]
    warp = np.tile(warp, [batch_size, 1, 1, 1]) + rng.standard_normal(
        (batch_size, warp_height, warp_width, 2)
    )
    return warp.astype(dtype)


class TFAResamplerTest(tf.test.TestCase):
    def test_op_forward_pass(self):
        rng = np.random.default_rng(0)
        for dtype in (np.float16, np.float32, np.float64):
            warp = _make_warp(rng, 10, 8, 4, dtype)
            data = rng.uniform(size=(10, 9, 7, 5)).astype(dtype)
            outputs = np.asarray(resampler(data=tf.constant(data), warp=tf.constant(warp)))
            self.assertEqual(outputs.shape, (10, 8, 4, 5))
            reference = np.zeros(outputs.shape, np.float64)
            for b in range(10):
                for c in range(5):
                    reference[b, :, :, c] = _bilinearly_interpolate(
                        data[b, :, :, c].astype(np.float64),
                        warp[b, :, :, 0].astype(np.float64),
                        warp[b, :, :, 1].astype(np.float64),
                    )
            tolerance = 5e-3 if dtype == np.float16 else 1e-5
            np.testing.assert_allclose(outputs, reference, rtol=tolerance, atol=tolerance)

    def test_op_errors(self):
        with self.assertRaisesRegex(
            ValueError, "(?i)only bilinear interpolation of 2-D data is supported"
        ):
            resampler(np.zeros((10, 9, 7, 3, 5)), np.zeros((10, 8, 4, 2)))
        with self.assertRaisesRegex(ValueError, "warp should be at least a matrix"):
            resampler(np.zeros((10, 9, 7, 5)), np.zeros((10,)))

    def test_gradients_match_finite_differences(self):
        rng = np.random.default_rng(1)
        data = tf.constant(rng.uniform(size=(1, 3, 4, 1)))
        # One point inside, one in the fading band left of the image.
        warp = tf.constant([[[1.3, 1.6], [-0.4, 0.7]]])
        theoretical, numerical = tf.test.compute_gradient(
            lambda d, w: resampler(d, w), [data, warp]
        )
        for t, n in zip(theoretical, numerical):
            np.testing.assert_allclose(t, n, atol=1e-6)
