import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import TLU


class TLUTest(tf.test.TestCase):
    def setUp(self):
        self.rng = np.random.default_rng(0)

    def test_matches_the_formula_with_one_threshold_per_element(self):
        x = self.rng.standard_normal((4, 3, 2))
        layer = TLU(affine=True, dtype="float64")
        layer.build(x.shape)
        tau, alpha = self.rng.standard_normal((2, 3, 2))
        layer.tau.assign(tau)
        layer.alpha.assign(alpha)
        self.assertAllClose(layer(x), np.maximum(x, alpha * x + tau))
        plain = TLU(tau_initializer=keras.initializers.Constant(0.5), dtype="float64")
        self.assertAllClose(plain(x), np.maximum(x, 0.5))
        self.assertLen(plain.weights, 1)

    @pytest.mark.tf_only(
        "finite differences call the layer once per element: slow on JAX, run on TensorFlow"
    )
    def test_gradients(self):
        layer = TLU(
            affine=True,
            tau_initializer="random_normal",
            alpha_initializer="random_normal",
            dtype="float64",
        )
        assert_gradients_match(self, layer, self.rng.standard_normal((3, 4)))

    @rejects_bad_input(TLU)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            TypeError, r"argument `affine`. Expected True or False \(a bool\)"
        ):
            TLU(affine=1)
        with self.assertRaisesRegex(ValueError, "non-batch sizes to be known"):
            TLU()(keras.Input((None, 3)))

    def test_serialization(self):
        assert_config_round_trip(
            self, TLU(affine=True, tau_regularizer="l2", alpha_initializer="ones")
        )
