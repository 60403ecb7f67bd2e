import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import InstanceNormalization


class InstanceNormalizationTest(tf.test.TestCase):
    def test_normalizes_each_channel_of_each_example(self):
        x = np.random.default_rng(0).normal(3.0, 2.0, (2, 5, 6, 3))
        layer = InstanceNormalization(epsilon=1e-3, dtype="float64")
        mean = x.mean(axis=(1, 2), keepdims=True)
        var = x.var(axis=(1, 2), keepdims=True)
        self.assertAllClose(layer(x), (x - mean) / np.sqrt(var + 1e-3))
        first = InstanceNormalization(axis=1, dtype="float64")(np.moveaxis(x, -1, 1))
        self.assertAllClose(first, np.moveaxis((x - mean) / np.sqrt(var + 1e-3), -1, 1))

    def test_defaults_are_tfas(self):
        # TFA's GroupNormalization defaults, which Keras's GroupNormalization shares.
        config = InstanceNormalization().get_config()
        expected = {"axis": -1, "epsilon": 1e-3, "center": True, "scale": True}
        self.assertEqual({k: config[k] for k in expected}, expected)
        self.assertEqual(config["beta_initializer"]["class_name"], "Zeros")
        self.assertEqual(config["gamma_initializer"]["class_name"], "Ones")
        self.assertNotIn("groups", config)

    @rejects_bad_input(InstanceNormalization)
    def test_bad_arguments(self):
        with self.assertWarnsRegex(UserWarning, "groups will be overwritten"):
            self.assertEqual(InstanceNormalization(groups=4).groups, -1)
        with self.assertRaisesRegex(ValueError, "should have a defined dimension"):
            InstanceNormalization()(keras.Input((4, None)))

    def test_serialization(self):
        layer = InstanceNormalization(axis=1, epsilon=1e-5, center=False)
        layer.build((None, 3, 4))
        assert_config_round_trip(self, layer)
