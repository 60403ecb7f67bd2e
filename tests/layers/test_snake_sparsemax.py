import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip
from tfx_ext.activations import sparsemax
from tfx_ext.layers import Snake, Sparsemax


class SnakeTest(tf.test.TestCase):
    def test_matches_the_formula_with_its_frequency(self):
        x = np.linspace(-3, 3, 12).reshape(3, 4)
        layer = Snake(frequency_initializer=keras.initializers.Constant(1.7), dtype="float64")
        self.assertAllClose(layer(x), x + np.sin(1.7 * x) ** 2 / 1.7)
        self.assertEqual(tuple(layer.frequency.shape), ())
        self.assertTrue(layer.frequency.trainable)

    @pytest.mark.tf_only(
        "finite differences call the layer once per element: slow on JAX, run on TensorFlow"
    )
    def test_gradients(self):
        layer = Snake(frequency_initializer=keras.initializers.Constant(0.8), dtype="float64")
        assert_gradients_match(self, layer, np.random.default_rng(0).standard_normal((2, 3)))

    @rejects_bad_input(Snake)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "Could not interpret initializer identifier"):
            Snake(frequency_initializer="no_such_initializer")
        with self.assertRaisesRegex(TypeError, r"argument `x`. Expected a floating-point tensor"):
            Snake()(np.arange(3))

    def test_serialization(self):
        assert_config_round_trip(self, Snake(frequency_initializer="zeros"))


class SparsemaxLayerTest(tf.test.TestCase):
    def test_matches_the_activation_on_its_axis(self):
        x = np.random.default_rng(0).standard_normal((3, 5, 4))
        self.assertAllClose(Sparsemax(axis=1, dtype="float64")(x), sparsemax(x, axis=1))

    @rejects_bad_input(Sparsemax)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, r"argument `axis`. Expected an integer"):
            Sparsemax(axis=1.5)
        with self.assertRaisesRegex(ValueError, r"argument `axis`.*rank 2"):
            Sparsemax(axis=3)(np.zeros((2, 3), "float32"))

    def test_serialization(self):
        assert_config_round_trip(self, Sparsemax(axis=1))
