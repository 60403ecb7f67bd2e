"""`integer_friendly_selu`: equal to SELU in float, and converted to int8 without
float ops, duplicated layers or a clipped positive side."""

import collections

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.lite import compare, convert
from tfx_ext.lite.integer_selu import integer_friendly_selu
from tfx_ext.lite.interpreter import make_interpreter


def _op_counts(content):
    interpreter = make_interpreter(content, delegates=False, allocate=False)
    return collections.Counter(op["op_name"] for op in interpreter._get_ops_details())


class IntegerFriendlySeluTest(tf.test.TestCase):
    def test_equals_keras_selu_in_float(self):
        x = np.concatenate(
            [np.linspace(-12.0, 12.0, 2001), [-1e-7, 0.0, 1e-7, -30.0, 30.0]]
        ).astype("float32")
        expected = np.where(
            x > 0, 1.0507009873554805 * x, 1.0507009873554805 * 1.6732632423543772 * np.expm1(x)
        )
        self.assertAllClose(integer_friendly_selu(x), expected, atol=1e-6, rtol=1e-6)
        self.assertAllClose(integer_friendly_selu(x), keras.activations.selu(x), atol=1e-6)
        # The negative side is exact where it matters: x + relu(-x) is exactly 0 there.
        negative = x[x < 0]
        self.assertAllEqual(negative + keras.ops.relu(negative * -1.0), np.zeros_like(negative))

    def test_int8_has_one_dense_op_per_layer_and_keeps_both_sides(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.normal(size=(500, 16)).astype("float32")
        inputs = keras.Input((16,))
        hidden = keras.layers.Dense(32, activation=integer_friendly_selu)(inputs)
        model = keras.Model(inputs, keras.layers.Dense(8, activation=integer_friendly_selu)(hidden))
        result = convert(model, "int8", representative_data=x)
        self.assertEqual(result.float_ops, [])
        ops = _op_counts(result.content)
        self.assertEqual(ops["FULLY_CONNECTED"], 2)  # no copy made to fuse a RELU
        self.assertNotIn("MINIMUM", ops)
        outputs = model.predict(x[:200], verbose=0)
        # Both sides are present and kept: int8 error small against the output's range.
        self.assertGreater(outputs.max(), 1.0)
        self.assertLess(outputs.min(), -0.5)
        report = compare(model, result, x[:200])
        self.assertLess(report.max_abs_diff, 0.05 * (outputs.max() - outputs.min()))
