"""TFA's activation tests (tensorflow_addons/activations/tests/*_test.py), ported to tfx_ext.

Same inputs, expected values and tolerances (`assert_allclose_according_to_type`).
Deliberate differences:
- rrelu in training: TFA's expected numbers are draws of TensorFlow's
  stateful RNG (`tf.random.set_seed` + op seed, or `tf.random.Generator`);
  Keras's backend-neutral RNG draws other numbers. The ported test checks the
  law instead: each slope in [lower, upper), reproducible for a seed or a
  `keras.random.SeedGenerator` (our `rng`).
- serialization: TFA looked functions up as `"Addons>name"` through
  `tf.keras.activations.get`; Keras 3's `get` only knows its own names, so the
  registered name `"tfx_ext>name"` goes through `keras.saving`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.gradients import assert_gradients_match
from tests.layers.conformance.layer_harness import assert_allclose_according_to_type
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

pytestmark = pytest.mark.tf_only(
    "TFA's case list (dtypes x shapes) runs on TensorFlow: JAX compiles each new shape eagerly, beyond the JAX time budget; tests/backends/test_cross_backend.py checks these layers on JAX"
)

DTYPES = (np.float16, np.float32, np.float64)
ALL_ACTIVATIONS = [
    "gelu",
    "hardshrink",
    "lisht",
    "mish",
    "rrelu",
    "softshrink",
    "sparsemax",
    "tanhshrink",
    "snake",
]
TEST_OBS = 17


def _np_sparsemax(z):
    """TFA's NumPy reference."""
    z = z - np.mean(z, axis=1)[:, np.newaxis]
    z_sorted = np.sort(z, axis=1)[:, ::-1]
    z_cumsum = np.cumsum(z_sorted, axis=1)
    k = np.arange(1, z.shape[1] + 1)
    z_check = 1 + k * z_sorted > z_cumsum
    k_z = z.shape[1] - np.argmax(z_check[:, ::-1], axis=1)
    tau_sum = z_cumsum[np.arange(0, z.shape[0]), k_z - 1]
    tau_z = ((tau_sum - 1) / k_z).reshape(-1, 1)
    return np.maximum(0, z - tau_z)


def _x(values, dtype):
    return np.array(values, dtype=dtype)


class TFAElementwiseActivationsTest(tf.test.TestCase):
    def test_gelu(self):
        for dtype in DTYPES:
            x = _x([-2.0, -1.0, 0.0, 1.0, 2.0], dtype)
            assert_allclose_according_to_type(
                gelu(x), _x([-0.04540229, -0.158808, 0.0, 0.841192, 1.9545977], dtype)
            )
            assert_allclose_according_to_type(
                gelu(x, False), _x([-0.04550028, -0.15865526, 0.0, 0.8413447, 1.9544997], dtype)
            )

    def test_hardshrink(self):
        for dtype in DTYPES:
            x = _x([-2.0, -0.5, 0.0, 0.5, 2.0], dtype)
            expected = _x([-2.0, 0.0, 0.0, 0.0, 2.0], dtype)
            assert_allclose_according_to_type(hardshrink(x), expected)
            assert_allclose_according_to_type(hardshrink(x, lower=-1.0, upper=1.0), expected)

    def test_softshrink(self):
        for dtype in DTYPES:
            x = _x([-2.0, -1.0, 0.0, 1.0, 2.0], dtype)
            assert_allclose_according_to_type(softshrink(x), _x([-1.5, -0.5, 0.0, 0.5, 1.5], dtype))
            assert_allclose_according_to_type(
                softshrink(x, lower=-1.0, upper=1.0), _x([-1.0, 0.0, 0.0, 0.0, 1.0], dtype)
            )

    def test_lisht(self):
        for dtype in DTYPES:
            x = _x([-2.0, -1.0, 0.0, 1.0, 2.0], dtype)
            assert_allclose_according_to_type(
                lisht(x), _x([1.9280552, 0.7615942, 0.0, 0.7615942, 1.9280552], dtype)
            )

    def test_mish(self):
        for dtype in DTYPES:
            x = _x([-2.0, -1.0, 0.0, 1.0, 2.0], dtype)
            assert_allclose_according_to_type(
                mish(x), _x([-0.2525015, -0.30340144, 0.0, 0.86509836, 1.943959], dtype)
            )

    def test_tanhshrink(self):
        for dtype in DTYPES:
            x = _x([-1.0, 0.0, 1.0], dtype)
            assert_allclose_according_to_type(
                tanhshrink(x), _x([-0.23840582, 0.0, 0.238405825], dtype)
            )

    def test_snake(self):
        np.random.seed(0)
        for dtype in DTYPES:
            x = dtype(np.random.rand(2, 5))
            a = dtype(np.random.randn())
            expected = x + np.power(np.sin(a * x), 2) / a
            assert_allclose_according_to_type(snake(x, a), expected)

    def test_rrelu_inference(self):
        # TFA's test_rrelu_old and test_rrelu, training=False: slope (lower + upper) / 2.
        for dtype in DTYPES:
            x = _x([-2.0, -1.0, 0.0, 1.0, 2.0], dtype)
            expected = [-0.30000001192092896, -0.15000000596046448, 0, 1, 2]
            assert_allclose_according_to_type(
                rrelu(x, 0.1, 0.2, training=False, seed=111111), expected
            )
            rng = keras.random.SeedGenerator(111111)
            assert_allclose_according_to_type(rrelu(x, 0.1, 0.2, training=False, rng=rng), expected)

    def test_rrelu_training(self):
        # Deliberate difference (module docstring): the law of the draws, not TF's numbers.
        for dtype in DTYPES:
            x = _x([-2.0, -1.0, 0.0, 1.0, 2.0], dtype)
            for kwargs in ({"seed": 111111}, {"rng": keras.random.SeedGenerator(111111)}):
                out = np.asarray(rrelu(x, 0.1, 0.2, training=True, **kwargs), "float64")
                slopes = out[:2] / x[:2].astype("float64")
                tol = 1e-3 if dtype == np.float16 else 1e-7
                self.assertTrue(np.all((slopes >= 0.1 - tol) & (slopes <= 0.2 + tol)), slopes)
                self.assertAllEqual(out[2:], [0, 1, 2])
            first = rrelu(x, 0.1, 0.2, training=True, seed=7)
            self.assertAllEqual(rrelu(x, 0.1, 0.2, training=True, seed=7), first)

    def test_serialization(self):
        for name in ALL_ACTIVATIONS:
            fn = getattr(activations, name)
            config = keras.saving.serialize_keras_object(fn)
            self.assertIs(keras.saving.deserialize_keras_object(config), fn, name)
            self.assertIs(keras.saving.get_registered_object(f"tfx_ext>{name}"), fn, name)

    def test_serialization_with_layers(self):
        for name in ALL_ACTIVATIONS:
            layer = keras.layers.Dense(3, activation=getattr(activations, name))
            restored = keras.layers.deserialize(keras.layers.serialize(layer))
            self.assertEqual(type(restored).__name__, type(layer).__name__)
            self.assertEqual(restored.activation.__name__, name)


class TFASparsemaxTest(tf.test.TestCase):
    def test_sparsemax_against_numpy_axis(self):
        z = np.random.RandomState(1).uniform(low=-3, high=3, size=(TEST_OBS, 10))
        for dtype in ("float32", "float64"):
            out = np.asarray(sparsemax(z.astype(dtype), axis=0))
            expected = np.transpose(_np_sparsemax(np.transpose(z))).astype(dtype)
            assert_allclose_according_to_type(expected, out, half_atol=5e-3)
            self.assertEqual(expected.shape, out.shape)

    def test_sparsemax_against_numpy_low_rank(self):
        z = np.random.RandomState(1).uniform(low=-3, high=3, size=(10))
        for dtype in ("float32", "float64"):
            out = np.asarray(sparsemax(z.astype(dtype)))
            expected = np.reshape(_np_sparsemax(np.reshape(z, [1, 10])), [10]).astype(dtype)
            assert_allclose_according_to_type(expected, out, half_atol=5e-3)
            self.assertEqual(expected.shape, out.shape)

    def test_sparsemax_against_numpy(self):
        z = np.random.RandomState(1).uniform(low=-3, high=3, size=(TEST_OBS, 10))
        for dtype in ("float32", "float64"):
            assert_allclose_according_to_type(
                _np_sparsemax(z).astype(dtype), sparsemax(z.astype(dtype))
            )

    def test_sparsemax_against_numpy_high_rank(self):
        z = np.random.RandomState(1).uniform(low=-3, high=3, size=(TEST_OBS, TEST_OBS, 10))
        for dtype in ("float32", "float64"):
            expected = np.reshape(
                _np_sparsemax(np.reshape(z, [TEST_OBS * TEST_OBS, 10])), [TEST_OBS, TEST_OBS, 10]
            ).astype(dtype)
            assert_allclose_according_to_type(expected, sparsemax(z.astype(dtype)))

    def test_sparsemax_of_nan(self):
        for dtype in ("float32", "float64"):
            z = np.asarray([[0, np.nan, 0], [0, np.nan, np.nan], [np.nan, np.nan, np.nan]]).astype(
                dtype
            )
            np.testing.assert_equal(np.full((3, 3), np.nan), np.asarray(sparsemax(z)))

    def test_sparsemax_of_inf(self):
        for dtype in ("float32", "float64"):
            z_neg = np.asarray(
                [[0, -np.inf, 0], [0, -np.inf, -np.inf], [-np.inf, -np.inf, -np.inf]]
            ).astype(dtype)
            z_pos = np.asarray(
                [[0, np.inf, 0], [0, np.inf, np.inf], [np.inf, np.inf, np.inf]]
            ).astype(dtype)
            z_mix = np.asarray(
                [[0, np.inf, 0], [0, np.inf, -np.inf], [-np.inf, np.inf, -np.inf]]
            ).astype(dtype)
            np.testing.assert_equal(
                np.array([[0.5, 0, 0.5], [1, 0, 0], [np.nan, np.nan, np.nan]]),
                np.asarray(sparsemax(z_neg)),
            )
            np.testing.assert_equal(np.full((3, 3), np.nan), np.asarray(sparsemax(z_pos)))
            np.testing.assert_equal(np.full((3, 3), np.nan), np.asarray(sparsemax(z_mix)))

    def test_sparsemax_of_zero(self):
        for dtype in ("float32", "float64"):
            z = np.zeros((1, 10))
            assert_allclose_according_to_type(
                np.ones_like(z, dtype=dtype) / z.size, sparsemax(z.astype(dtype))
            )

    def test_sparsemax_of_to_inf(self):
        z = np.random.RandomState(4).uniform(low=-3, high=3, size=(TEST_OBS, 10))
        z_sort_arg = np.argsort(z, axis=1)[:, ::-1]
        z_sort = np.sort(z, axis=-1)[:, ::-1]
        epsilon = (0.99 * (z_sort[:, 0] - z_sort[:, 1])).reshape(-1, 1)
        for dtype in ("float32", "float64"):
            p_expected = np.zeros((TEST_OBS, 10), dtype=dtype)
            p_expected[np.arange(0, TEST_OBS), z_sort_arg[:, 0]] = 1
            assert_allclose_according_to_type(
                p_expected, sparsemax(((1 / epsilon) * z).astype(dtype))
            )

    def test_constant_add(self):
        for dtype in ("float32", "float64"):
            random = np.random.RandomState(5)
            z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10)).astype(dtype)
            c = random.uniform(low=-3, high=3, size=(TEST_OBS, 1)).astype(dtype)
            assert_allclose_according_to_type(sparsemax(z + c), sparsemax(z), half_atol=5e-3)

    def test_two_dimentional(self):
        for dtype in ("float32", "float64"):
            t = np.linspace(-2, 2, TEST_OBS, dtype=dtype)
            z = np.vstack([t, np.zeros(TEST_OBS, dtype=dtype)]).T
            out = np.asarray(sparsemax(z))
            p0_expected = np.select([t < -1, t <= 1, t > 1], [0, (t + 1) / 2, 1])
            assert_allclose_according_to_type(p0_expected, out[:, 0])
            assert_allclose_according_to_type(1 - p0_expected, out[:, 1])
            self.assertEqual(z.shape, out.shape)

    def test_diffrence(self):
        z = np.random.RandomState(7).uniform(low=-3, high=3, size=(TEST_OBS, 10))
        for dtype, etol in ((np.float32, 1e-6), (np.float64, 1e-9)):
            p = np.asarray(sparsemax(z.astype(dtype)))
            for val in range(TEST_OBS):
                for i in range(10):
                    for j in range(10):
                        if z[val, i] > z[val, j]:
                            continue
                        self.assertTrue(0 <= p[val, j] - p[val, i] <= z[val, j] - z[val, i] + etol)

    def test_permutation(self):
        for dtype in ("float32", "float64"):
            random = np.random.RandomState(6)
            z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10))
            p = np.asarray(sparsemax(z.astype(dtype)))
            for i in range(TEST_OBS):
                per = random.permutation(10)
                out = sparsemax(z[i, per].reshape(1, -1).astype(dtype))
                expected = p[i, per].reshape(1, -1)
                assert_allclose_according_to_type(expected, out, half_atol=5e-3)
                self.assertEqual(expected.shape, tuple(out.shape))

    def test_gradient_against_estimate(self):
        # TFA compared tf.test.compute_gradient's full Jacobian (float64, one
        # finite difference per element). Here autodiff meets central finite
        # differences on every backend, along the 10 directions that shift one
        # column of all 17 rows at once (20 evaluations instead of 340; the
        # output is projected on a random tensor, so every row counts).
        z = np.random.RandomState(9).uniform(low=-1, high=1, size=(TEST_OBS, 10))
        assert_gradients_match(
            self, lambda shift: sparsemax(keras.ops.convert_to_tensor(z) + shift), np.zeros(10)
        )
