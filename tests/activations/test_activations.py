import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_model_round_trip
from tfx_ext import activations
from tfx_ext.activations import (
    gelu,
    hardshrink,
    lisht,
    mish,
    rrelu,
    snake,
    softshrink,
    sparsemax,
    tanhshrink,
)

X = np.linspace(-3, 3, 13)


class ActivationFormulaTest(tf.test.TestCase):
    """Each activation against its formula in NumPy."""

    def test_elementwise_formulas(self):
        erf = np.vectorize(__import__("math").erf)
        expected = {
            lisht: X * np.tanh(X),
            tanhshrink: X - np.tanh(X),
            mish: X * np.tanh(np.log1p(np.exp(X))),
            (lambda x: gelu(x, approximate=False)): X * 0.5 * (1 + erf(X / np.sqrt(2))),
            gelu: 0.5 * X * (1 + np.tanh(np.sqrt(2 / np.pi) * (X + 0.044715 * X**3))),
            (lambda x: snake(x, 2.0)): X + np.sin(2.0 * X) ** 2 / 2.0,
        }
        for fn, want in expected.items():
            self.assertAllClose(fn(X), want, atol=1e-6)

    def test_asymmetric_shrink_bounds(self):
        # TFA's bounds need not be symmetric; Keras's threshold is: both paths agree with the formula.
        for lower, upper in ((-1.0, 0.5), (-0.5, 0.5), (0.2, 1.0)):
            inside = (X >= lower) & (X <= upper)
            self.assertAllClose(hardshrink(X, lower, upper), np.where(inside, 0.0, X))
            soft = np.where(X < lower, X - lower, 0.0) + np.where(X > upper, X - upper, 0.0)
            self.assertAllClose(softshrink(X, lower, upper), soft)

    def test_rrelu_slope_is_the_mean_at_inference(self):
        self.assertAllClose(rrelu(X, 0.2, 0.4), np.where(X >= 0, X, 0.3 * X))

    def test_sparsemax_rows_are_on_the_simplex(self):
        z = np.random.default_rng(0).standard_normal((5, 7, 4))
        p = np.asarray(sparsemax(z, axis=1))
        self.assertAllClose(p.sum(axis=1), np.ones((5, 4)))
        self.assertTrue(np.all(p >= 0))
        self.assertGreater(np.mean(p == 0), 0.1)  # sparse, unlike softmax

    @pytest.mark.tf_only("registration and saving do not depend on the backend; slow on JAX")
    def test_activations_survive_a_keras_file(self):
        keras.utils.set_random_seed(0)
        x = np.random.default_rng(1).standard_normal((4, 5)).astype("float32")
        inputs = keras.Input((5,))
        h = inputs
        for name in activations.__all__:
            if name != "rrelu":  # random in training, so not a Dense activation; covered above
                h = keras.layers.Dense(5, activation=getattr(activations, name))(h)
        assert_model_round_trip(self, keras.Model(inputs, h), x, saved_model=False)

    @rejects_bad_input(
        gelu, hardshrink, lisht, mish, rrelu, snake, softshrink, sparsemax, tanhshrink
    )
    def test_bad_arguments(self):
        ints = np.arange(3)
        for fn in (gelu, hardshrink, lisht, mish, rrelu, snake, softshrink, tanhshrink):
            with self.assertRaisesRegex(
                TypeError, r"argument `x`. Expected a floating-point tensor"
            ):
                fn(ints)
        with self.assertRaisesRegex(
            TypeError, r"argument `logits`. Expected a floating-point tensor"
        ):
            sparsemax(ints)
        with self.assertRaisesRegex(ValueError, r"argument `axis`.*rank 2.*Received: axis=2"):
            sparsemax(np.zeros((2, 3)), axis=2)
        with self.assertRaisesRegex(ValueError, r"argument `axis`.*rank 0"):
            sparsemax(np.float32(1.0))
        for fn in (hardshrink, softshrink, rrelu):
            with self.assertRaisesRegex(
                ValueError, r"argument `upper`. Expected a number >= lower \(1.0\)"
            ):
                fn(X, lower=1.0, upper=0.5)
        with self.assertRaisesRegex(
            TypeError, r"argument `approximate`. Expected True or False \(a bool\)"
        ):
            gelu(X, approximate="yes")
        with self.assertRaisesRegex(
            ValueError, r"argument `frequency`. Expected a non-zero number"
        ):
            snake(X, 0)
        with self.assertRaisesRegex(ValueError, "Either seed or rng should be specified"):
            rrelu(X, training=True, seed=1, rng=keras.random.SeedGenerator(1))
        with self.assertRaisesRegex(
            TypeError, r"argument `rng`. Expected a keras.random.SeedGenerator"
        ):
            rrelu(X, training=True, rng=np.random.default_rng(0))
