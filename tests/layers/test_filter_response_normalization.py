import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import FilterResponseNormalization


class FilterResponseNormalizationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_matches_the_formula_with_trained_weights(self):
        x = self.rng.standard_normal((2, 4, 5, 3))
        layer = FilterResponseNormalization(epsilon=-1e-3, learned_epsilon=True, dtype="float64")
        layer.build(x.shape)
        gamma, beta = self.rng.standard_normal((2, 1, 1, 1, 3))
        layer.gamma.assign(gamma)
        layer.beta.assign(beta)
        layer.eps_learned.assign([-0.2])
        nu2 = (x**2).mean(axis=(1, 2), keepdims=True)
        self.assertAllClose(layer(x), gamma * x / np.sqrt(nu2 + 1e-3 + 0.2) + beta)

    def test_each_example_is_normalized_on_its_own(self):
        x = self.rng.standard_normal((3, 4, 4, 2)).astype("float32")
        layer = FilterResponseNormalization()
        self.assertAllClose(layer(x)[1:2], layer(x[1:2]), atol=1e-6)

    @pytest.mark.tf_only(
        "finite differences call the layer once per element: slow on JAX, run on TensorFlow"
    )
    def test_gradients(self):
        layer = FilterResponseNormalization(learned_epsilon=True, dtype="float64")
        assert_gradients_match(self, layer, self.rng.standard_normal((1, 2, 2, 2)))

    @rejects_bad_input(FilterResponseNormalization)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `axis`. Expected the list \[1, 2\].*Received: axis=\[1, 3\]"
        ):
            FilterResponseNormalization(axis=[1, 3])
        with self.assertRaisesRegex(TypeError, r"argument `axis`"):
            FilterResponseNormalization(axis=1)
        with self.assertRaisesRegex(TypeError, r"argument `epsilon`"):
            FilterResponseNormalization(epsilon="small")
        with self.assertRaisesRegex(ValueError, "4-D inputs"):
            FilterResponseNormalization()(keras.Input((4, 3)))
        with self.assertRaisesRegex(ValueError, "should have a defined dimension"):
            FilterResponseNormalization()(keras.Input((None, 4, 3)))

    def test_serialization(self):
        layer = FilterResponseNormalization(
            epsilon=1e-4, learned_epsilon=True, gamma_regularizer="l2"
        )
        clone = assert_config_round_trip(self, layer)
        self.assertLen(clone.weights, 1)  # learned_epsilon is created with the layer
