import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.diagnostics import check_gradients


def cube(scale):
    """x ** 3 whose gradient is declared as `scale` times the true one (3 x ** 2)."""

    @keras.ops.custom_gradient
    def fn(x):
        def grad(upstream):
            return upstream * scale * 3.0 * x**2

        return x**3, grad

    return fn


class ScaledGradient(keras.layers.Layer):
    """y = x * w, with the gradient for `w` declared `scale` times too large."""

    def __init__(self, scale, **kwargs):
        super().__init__(**kwargs)
        self.scale = scale

    def build(self, input_shape):
        self.w = self.add_weight(shape=(input_shape[-1],), initializer="random_normal", name="w")

    def call(self, x):
        scale = self.scale

        @keras.ops.custom_gradient
        def product(x, w):
            def grad(upstream):
                return upstream * w, scale * keras.ops.sum(upstream * x, axis=0)

            return x * w, grad

        return product(x, self.w.value)


class GradientCheckTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_correct_layer_has_tiny_errors(self):
        layer = keras.layers.Dense(3, dtype="float64")
        errors = check_gradients(layer, self.rng.standard_normal((4, 5)))
        self.assertEqual(set(errors), {"input_0"} | {v.path for v in layer.trainable_variables})
        self.assertLen(errors, 3)  # input, kernel, bias
        for name, error in errors.items():
            self.assertLess(error, 1e-6, msg=name)

    def test_variables_are_left_unchanged(self):
        layer = keras.layers.Dense(3, activation="tanh", dtype="float64")
        x = self.rng.standard_normal((4, 5))
        layer(x)
        before = [np.array(keras.ops.convert_to_numpy(v)) for v in layer.weights]
        errors = check_gradients(layer, x)
        self.assertLess(max(errors.values()), 1e-6)
        for v, value in zip(layer.weights, before):
            self.assertAllEqual(keras.ops.convert_to_numpy(v), value)

    def test_several_inputs(self):
        x, y = self.rng.standard_normal((2, 3)), self.rng.standard_normal((2, 3))
        errors = check_gradients(lambda xs: keras.ops.sin(xs[0]) * xs[1] ** 2, [x, y])
        self.assertEqual(set(errors), {"input_0", "input_1"})
        self.assertLess(max(errors.values()), 1e-6)

    def test_wrong_input_gradient_is_caught(self):
        x = self.rng.standard_normal((3, 4))
        self.assertLess(check_gradients(cube(1.0), x)["input_0"], 1e-6)
        error = check_gradients(cube(2.0), x)["input_0"]
        self.assertGreater(error, 0.1)
        # ||2g - g|| / (||2g|| + ||g||) = 1/3 for any true gradient g.
        self.assertAllClose(error, 1 / 3, atol=1e-6)

    def test_wrong_variable_gradient_is_caught(self):
        x = self.rng.standard_normal((3, 4))
        right = ScaledGradient(1.0, dtype="float64")
        errors = check_gradients(right, x)
        self.assertEqual(set(errors), {"input_0", right.w.path})
        self.assertLess(max(errors.values()), 1e-6)

        wrong = ScaledGradient(2.0, dtype="float64")
        errors = check_gradients(wrong, x)
        self.assertLess(errors["input_0"], 1e-6)
        self.assertAllClose(errors[wrong.w.path], 1 / 3, atol=1e-6)

    def test_non_finite_gradient_is_an_infinite_error(self):
        # sqrt at 0: autodiff gives inf, the central difference NaN. Both are
        # wrong, and an error of NaN would hide in max(errors.values()).
        errors = check_gradients(
            lambda xs: keras.ops.sin(xs[0]) + keras.ops.sqrt(xs[1]),
            [self.rng.standard_normal((2, 2)), np.zeros((2, 2))],
        )
        self.assertLess(errors["input_0"], 1e-6)
        self.assertEqual(errors["input_1"], float("inf"))
        self.assertEqual(max(errors.values()), float("inf"))

    @rejects_bad_input(check_gradients)
    def test_bad_arguments(self):
        layer = keras.layers.Dense(2, dtype="float64")
        x = self.rng.standard_normal((2, 3))
        for epsilon in (0, -1e-6, float("nan")):
            with (
                self.subTest(epsilon=epsilon),
                self.assertRaisesRegex(ValueError, r"argument `epsilon`.*> 0"),
            ):
                check_gradients(layer, x, epsilon=epsilon)
        with self.assertRaisesRegex(TypeError, r"argument `epsilon`"):
            check_gradients(layer, x, epsilon="1e-6")
        with self.assertRaisesRegex(ValueError, r"argument `inputs`.*finite"):
            check_gradients(layer, np.array([[1.0, np.nan, 0.0]]))
        with self.assertRaisesRegex(ValueError, r"argument `inputs`.*non-empty"):
            check_gradients(layer, np.zeros((0, 3)))
        with self.assertRaisesRegex(ValueError, r"argument `inputs`"):
            check_gradients(layer, [])
        with self.assertRaisesRegex(TypeError, r"argument `fn`"):
            check_gradients("dense", x)

    @rejects_bad_input(check_gradients)
    def test_float32_layer_is_rejected(self):
        with self.assertRaisesRegex(
            ValueError, r"needs float64 variables.*dtype='float64'.*float32"
        ):
            check_gradients(keras.layers.Dense(3), self.rng.standard_normal((2, 4)))
