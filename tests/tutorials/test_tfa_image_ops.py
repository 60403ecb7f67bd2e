"""TFA's tutorial `image_ops.ipynb` with `import tfx_ext as tfa`: `tfa.image` runs as
written (`tfx_ext.image`), and the Keras 3 operations the README also names are checked
against NumPy on a generated image (the tutorial downloads the TF logo).
"""

import keras
import numpy as np
import tensorflow as tf

import tfx_ext as tfa


class ImageOpsReplacementTest(tf.test.TestCase):
    def setUp(self):
        self.img = np.random.default_rng(0).random((1, 20, 24, 3)).astype("float32")

    def test_mean_filter2d_as_written(self):
        # The tutorial's line; away from the borders it is the 5x5 average (TFA reflect-pads).
        mean = tfa.image.mean_filter2d(self.img, filter_shape=5)
        interior = keras.ops.average_pool(self.img, pool_size=5, strides=1, padding="valid")
        self.assertEqual(tuple(mean.shape), self.img.shape)
        self.assertAllClose(np.asarray(mean)[:, 2:-2, 2:-2], interior, atol=1e-6)

    def test_rgb_to_grayscale(self):
        bw_img = 1.0 - keras.ops.image.rgb_to_grayscale(self.img)
        expected = 1.0 - (self.img @ np.array([0.2989, 0.587, 0.114], "float32"))[..., None]
        self.assertAllClose(bw_img, expected, atol=1e-3)

    def test_mean_filter_as_average_pooling(self):
        # tfa.image.mean_filter2d(img, filter_shape=5) away from the borders
        # (TFA pads by reflection; pooling with padding="valid" has no border).
        mean = keras.ops.average_pool(self.img, pool_size=5, strides=1, padding="valid")
        windows = np.lib.stride_tricks.sliding_window_view(self.img, (5, 5), axis=(1, 2))
        self.assertAllClose(mean, windows.mean(axis=(-2, -1)), atol=1e-6)

    def test_transform_as_affine_transform(self):
        # tfa.image.transform(img, [1, 1, -t, 0, 1, 0, 0, 0]): output (x, y) reads input (x + y - t, y).
        t = 10.0
        transformed = keras.ops.image.affine_transform(
            self.img,
            np.array([1.0, 1.0, -t, 0.0, 1.0, 0.0, 0.0, 0.0], "float32"),
            interpolation="nearest",
            fill_mode="constant",
        )
        expected = np.zeros_like(self.img)
        for y in range(20):
            for x in range(24):
                source = int(x + y - t)
                if 0 <= source < 24:
                    expected[0, y, x] = self.img[0, y, source]
        self.assertAllClose(transformed, expected)

    def test_rotate_as_affine_transform(self):
        # tfa.image.rotate(img, angle): counterclockwise about the image centre, i.e.
        # affine_transform with [cos, -sin, x0, sin, cos, y0, 0, 0] (centre offsets x0, y0).
        img = self.img[:, :20, :20]
        n = 20

        def rotate(images, angle):
            cos, sin = np.cos(angle), np.sin(angle)
            x0 = ((n - 1) - (cos * (n - 1) - sin * (n - 1))) / 2
            y0 = ((n - 1) - (sin * (n - 1) + cos * (n - 1))) / 2
            transform = np.array([cos, -sin, x0, sin, cos, y0, 0.0, 0.0], "float32")
            return keras.ops.image.affine_transform(images, transform, interpolation="nearest")

        self.assertAllClose(rotate(img, np.pi / 2), np.rot90(img, k=1, axes=(1, 2)))
        self.assertAllClose(rotate(img, np.pi), np.rot90(img, k=2, axes=(1, 2)))
