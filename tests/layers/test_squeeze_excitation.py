import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import SqueezeExcitation


def reference_se(x, w1, b1, w2, b2, channel_axis=-1):
    x = np.moveaxis(x, channel_axis, -1)
    squeezed = x.reshape(x.shape[0], -1, x.shape[-1]).mean(axis=1)
    hidden = np.maximum(squeezed @ w1 + b1, 0.0)
    gate = 1.0 / (1.0 + np.exp(-(hidden @ w2 + b2)))
    out = x * gate.reshape((x.shape[0],) + (1,) * (x.ndim - 2) + (x.shape[-1],))
    return np.moveaxis(out, -1, channel_axis)


class SqueezeExcitationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def _check_against_reference(self, layer, x, channel_axis=-1):
        out = layer(x)
        w1, b1 = (np.asarray(w) for w in layer.bottleneck.weights)
        w2, b2 = (np.asarray(w) for w in layer.gate.weights)
        self.assertAllClose(out, reference_se(x, w1, b1, w2, b2, channel_axis), atol=1e-5)

    def test_matches_reference_2d(self):
        x = self.rng.standard_normal((3, 5, 4, 8)).astype("float32")
        layer = SqueezeExcitation(ratio=4)
        self._check_against_reference(layer, x)
        self.assertEqual(layer.bottleneck.units, 2)

    def test_matches_reference_1d_3d_and_channels_first(self):
        self._check_against_reference(
            SqueezeExcitation(2), self.rng.standard_normal((2, 7, 6)).astype("float32")
        )
        self._check_against_reference(
            SqueezeExcitation(2), self.rng.standard_normal((2, 3, 3, 3, 4)).astype("float32")
        )
        self._check_against_reference(
            SqueezeExcitation(2, data_format="channels_first"),
            self.rng.standard_normal((2, 6, 4, 5)).astype("float32"),
            channel_axis=1,
        )

    def test_bottleneck_has_at_least_one_unit(self):
        layer = SqueezeExcitation(ratio=16)
        layer(np.zeros((1, 2, 2, 4), "float32"))
        self.assertEqual(layer.bottleneck.units, 1)

    def test_gate_scales_each_channel_into_unit_interval(self):
        x = np.abs(self.rng.standard_normal((2, 4, 4, 6))).astype("float32") + 0.1
        ratio = np.asarray(SqueezeExcitation(2)(x)) / x
        self.assertTrue(np.all((ratio > 0) & (ratio < 1)))
        # one factor per (example, channel)
        self.assertAllClose(ratio.std(axis=(1, 2)), np.zeros((2, 6)), atol=1e-6)

    def test_gradients(self):
        layer = SqueezeExcitation(ratio=2, dtype="float64")
        assert_gradients_match(self, layer, self.rng.standard_normal((2, 3, 3, 4)))

    @rejects_bad_input(SqueezeExcitation)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `ratio`.*Received: ratio=0"):
            SqueezeExcitation(0)
        with self.assertRaisesRegex(
            ValueError, r"argument `data_format`.*Received: data_format='nhwc'"
        ):
            SqueezeExcitation(data_format="nhwc")
        with self.assertRaisesRegex(ValueError, r"rank 3, 4 or 5"):
            SqueezeExcitation()(keras.Input((8,)))

    def test_serialization(self):
        layer = SqueezeExcitation(ratio=4, activation="swish", name="se")
        assert_config_round_trip(self, layer)
        model = keras.Sequential(
            [
                keras.Input((6, 6, 3)),
                keras.layers.Conv2D(8, 3),
                layer,
                keras.layers.GlobalAveragePooling2D(),
            ]
        )
        assert_model_round_trip(
            self, model, self.rng.standard_normal((2, 6, 6, 3)).astype("float32")
        )
