import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import SpatialPyramidPooling2D


def reference_spp(x, bins):
    """Loops over the cells of each bin, with TFA's cropping of the leftover rows and columns."""
    n, h, w, c = x.shape
    out = []
    for rows, cols in bins:
        ch, cw = h // rows, w // cols
        for i in range(rows):
            for j in range(cols):
                out.append(x[:, i * ch : (i + 1) * ch, j * cw : (j + 1) * cw, :].mean(axis=(1, 2)))
    return np.stack(out, axis=1)


class SpatialPyramidPoolingTest(tf.test.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(0).standard_normal((2, 7, 5, 3)).astype("float32")

    def test_matches_reference_on_sizes_that_do_not_divide(self):
        out = SpatialPyramidPooling2D([1, 2, [3, 2]])(self.x)
        self.assertAllClose(out, reference_spp(self.x, [(1, 1), (2, 2), (3, 2)]), atol=1e-6)
        first = SpatialPyramidPooling2D([1, 2], data_format="channels_first")(
            np.transpose(self.x, (0, 3, 1, 2))
        )
        self.assertAllClose(
            first, np.transpose(reference_spp(self.x, [(1, 1), (2, 2)]), (0, 2, 1)), atol=1e-6
        )

    def test_any_image_size_in_one_compiled_model(self):
        model = keras.Sequential([keras.Input((None, None, 3)), SpatialPyramidPooling2D([1, 2])])
        for shape in ((2, 7, 5, 3), (1, 4, 9, 3)):
            x = np.random.default_rng(1).standard_normal(shape).astype("float32")
            self.assertAllClose(
                model.predict(x, verbose=0), reference_spp(x, [(1, 1), (2, 2)]), atol=1e-6
            )

    @rejects_bad_input(SpatialPyramidPooling2D)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `bins`. Expected a non-empty list"):
            SpatialPyramidPooling2D([])
        with self.assertRaisesRegex(
            ValueError, r"argument `bins`. Expected an integer or a sequence of 2 integers >= 1"
        ):
            SpatialPyramidPooling2D([1, 0])
        with self.assertRaisesRegex(ValueError, r"argument `bins`.*Received: bins=\[1, 2, 3\]"):
            SpatialPyramidPooling2D([[1, 2, 3]])
        with self.assertRaisesRegex(TypeError, r"argument `bins`"):
            SpatialPyramidPooling2D(3)
        with self.assertRaisesRegex(ValueError, r"argument `data_format`"):
            SpatialPyramidPooling2D([1], data_format="NHWC")

    def test_serialization(self):
        assert_config_round_trip(
            self, SpatialPyramidPooling2D([1, [2, 3]], data_format="channels_first")
        )
