import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import Maxout


def reference_maxout(x, num_units, axis=-1):
    """Unit j is the max of features j, j + num_units, ... (TFA's grouping)."""
    x = np.moveaxis(x, axis, -1)
    pieces = x.shape[-1] // num_units
    out = x.reshape(x.shape[:-1] + (pieces, num_units)).max(axis=-2)
    return np.moveaxis(out, -1, axis)


class MaxoutTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_matches_reference_on_dense_features(self):
        x = self.rng.standard_normal((5, 12)).astype("float32")
        self.assertAllClose(Maxout(4)(x), reference_maxout(x, 4))

    def test_worked_example(self):
        self.assertAllClose(Maxout(2)(np.array([[1.0, 5.0, 3.0, 2.0]])), [[3.0, 5.0]])

    def test_matches_reference_on_feature_maps_and_other_axis(self):
        x = self.rng.standard_normal((2, 6, 3, 4)).astype("float32")
        self.assertAllClose(Maxout(2)(x), reference_maxout(x, 2))
        self.assertAllClose(Maxout(3, axis=1)(x), reference_maxout(x, 3, axis=1))

    def test_symbolic_shape_with_unknown_dims(self):
        y = Maxout(3)(keras.Input((None, 9)))
        self.assertEqual(tuple(y.shape), (None, None, 3))

    def test_dynamic_batch_in_compiled_function(self):
        model = keras.Sequential([keras.Input((None, 8)), Maxout(4)])
        for n, t in [(1, 3), (7, 2)]:
            x = self.rng.standard_normal((n, t, 8)).astype("float32")
            self.assertAllClose(model.predict(x, verbose=0), reference_maxout(x, 4))

    def test_gradients(self):
        x = self.rng.standard_normal((3, 6))
        assert_gradients_match(self, Maxout(3, dtype="float64"), x)

    @rejects_bad_input(Maxout)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `num_units`.*Received: num_units=0"):
            Maxout(0)
        with self.assertRaisesRegex(TypeError, r"argument `num_units`.*an integer"):
            Maxout(2.5)
        with self.assertRaisesRegex(
            ValueError, r"divisor of the number of features.*\(10\).*num_units=4"
        ):
            Maxout(4)(np.zeros((2, 10), "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `axis`.*non-batch axis"):
            Maxout(2, axis=0)(np.zeros((2, 4), "float32"))

    def test_serialization(self):
        layer = Maxout(3, axis=-1, name="maxout")
        assert_config_round_trip(self, layer)
        model = keras.Sequential([keras.Input((12,)), keras.layers.Dense(12), layer])
        assert_model_round_trip(self, model, self.rng.standard_normal((4, 12)).astype("float32"))
