import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import PoincareNormalize


class PoincareNormalizeTest(tf.test.TestCase):
    def test_long_vectors_go_to_the_ball_edge_short_ones_stay(self):
        x = np.array([[3.0, 4.0], [0.3, 0.4], [0.0, 0.0]])
        out = np.asarray(PoincareNormalize(epsilon=0.1, dtype="float64")(x))
        self.assertAllClose(out, [[0.54, 0.72], [0.3, 0.4], [0.0, 0.0]])

    def test_norm_over_several_axes(self):
        x = np.random.default_rng(0).standard_normal((3, 4, 5))
        out = np.asarray(PoincareNormalize(axis=[1, 2], dtype="float64")(x))
        self.assertAllClose(np.linalg.norm(out, axis=(1, 2)), np.full(3, 1 - 1e-5))
        direction = out / np.linalg.norm(out, axis=(1, 2), keepdims=True)
        self.assertAllClose(direction, x / np.linalg.norm(x, axis=(1, 2), keepdims=True))

    @rejects_bad_input(PoincareNormalize)
    def test_bad_arguments(self):
        for epsilon in (0.0, 1.0):
            with self.assertRaisesRegex(
                ValueError, r"argument `epsilon`. Expected a number in \(0, 1\)"
            ):
                PoincareNormalize(epsilon=epsilon)
        with self.assertRaisesRegex(
            TypeError, r"argument `axis`. Expected an integer or a list of integers"
        ):
            PoincareNormalize(axis="last")

    def test_serialization(self):
        assert_config_round_trip(self, PoincareNormalize(axis=[1, 2], epsilon=1e-3))
