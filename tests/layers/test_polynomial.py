import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip
from tfx_ext.layers import PolynomialCrossing


class PolynomialCrossingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.x0, self.x = rng.standard_normal((2, 3, 6))

    def test_matches_the_cross_formula(self):
        full = PolynomialCrossing(diag_scale=0.5, dtype="float64")
        out = full([self.x0, self.x])
        w, b = np.asarray(full.kernel), np.asarray(full.bias)
        self.assertAllClose(out, self.x0 * (self.x @ w + 0.5 * self.x) + b + self.x)
        low = PolynomialCrossing(projection_dim=2, use_bias=False, dtype="float64")
        out = low([self.x0, self.x])
        u, v = np.asarray(low.kernel_u), np.asarray(low.kernel_v)
        self.assertAllClose(out, self.x0 * (self.x @ u @ v) + self.x)
        self.assertLen(low.weights, 2)

    @pytest.mark.tf_only(
        "finite differences call the layer once per element: slow on JAX, run on TensorFlow"
    )
    def test_gradients(self):
        layer = PolynomialCrossing(projection_dim=1, diag_scale=1.0, dtype="float64")
        assert_gradients_match(self, layer, [self.x0[:2, :3], self.x[:2, :3]])

    @rejects_bad_input(PolynomialCrossing)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `projection_dim`.*Received: projection_dim=-1"
        ):
            PolynomialCrossing(projection_dim=-1)
        with self.assertRaisesRegex(
            ValueError, r"argument `diag_scale`.*Received: diag_scale=-0.5"
        ):
            PolynomialCrossing(diag_scale=-0.5)
        with self.assertRaisesRegex(
            TypeError, r"argument `use_bias`. Expected True or False \(a bool\)"
        ):
            PolynomialCrossing(use_bias="yes")
        with self.assertRaisesRegex(ValueError, "must be a tuple or list of size 2"):
            PolynomialCrossing()(self.x)

    def test_serialization(self):
        assert_config_round_trip(
            self, PolynomialCrossing(projection_dim=2, diag_scale=0.1, kernel_regularizer="l2")
        )
