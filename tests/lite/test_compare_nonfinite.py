"""A NaN or infinite output fails a parity report, whichever side it comes from.

Before, `compare` reported `max_abs_diff=nan` and `assert_within(0.05)`
passed (`nan > 0.05` is False), with a meaningless top-1 agreement (the argmax
of a NaN row is 0).
"""

import contextlib
import dataclasses
import functools

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tests.datasets import digits
from tests.lite.models import run_tflite
from tfx_ext.lite import ParityReport, compare, convert


@functools.lru_cache(maxsize=None)
def digit_models():
    """Untrained digits models sharing one softmax Dense: finite, NaN and infinite outputs.

    `log(p - 0.2)` is NaN where a probability is below 0.2 (in Keras and in
    TFLite's LOG alike); `p / floor(2 p)` divides by zero where p < 0.5.
    """
    keras.utils.set_random_seed(0)
    dense = keras.layers.Dense(10, activation="softmax", name="classes")
    inputs = keras.Input((64,))
    probabilities = dense(inputs)
    nan = keras.layers.Lambda(lambda p: ops.log(p - 0.2), name="log_shift")(probabilities)
    inf = keras.layers.Lambda(lambda p: p / ops.floor(2.0 * p), name="divide_by_zero")(
        probabilities
    )
    return {
        "finite": keras.Model(inputs, probabilities),
        "nan": keras.Model(inputs, nan),
        "inf": keras.Model(inputs, inf),
    }


@functools.lru_cache(maxsize=None)
def tflite(name):
    return convert(digit_models()[name]).content


def x_test():
    return digits()[2][:60]


class NonFiniteReportTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def make(self, keras_name, tflite_name, labels=None):
        finite = (keras_name, tflite_name) == ("finite", "finite")
        with (
            contextlib.nullcontext()
            if finite
            else self.assertWarnsRegex(RuntimeWarning, "NaN or infinite")
        ):
            return compare(digit_models()[keras_name], tflite(tflite_name), x_test(), labels)

    def expected_counts(self, keras_name, tflite_name):
        keras_out = digit_models()[keras_name].predict(x_test(), verbose=0)
        tflite_out = run_tflite(tflite(tflite_name), x_test())
        return int(np.sum(~np.isfinite(keras_out))), int(np.sum(~np.isfinite(tflite_out)))

    def check_fails(self, report, keras_count, tflite_count):
        self.assertFalse(report.finite)
        self.assertEqual(
            (report.keras_nonfinite, report.tflite_nonfinite), (keras_count, tflite_count)
        )
        # Every threshold comparison a caller may write fails, in both directions.
        self.assertEqual(report.max_abs_diff, float("inf"))
        self.assertEqual(report.mean_abs_diff, float("inf"))
        self.assertFalse(report.max_abs_diff <= 0.05)
        self.assertTrue(report.max_abs_diff > 0.05)
        for limits in ({}, {"max_abs_diff": 0.05}, {"max_abs_diff": 1e9}):
            with self.assertRaisesRegex(AssertionError, "NaN or infinite") as raised:
                report.assert_within(**limits)
            for side, count in (("Keras", keras_count), ("TFLite", tflite_count)):
                if count:
                    self.assertIn(
                        f"{side} model: {count} of its output values are NaN or infinite",
                        str(raised.exception),
                    )
                else:
                    self.assertNotIn(f"{side} model:", str(raised.exception))
        self.assertIn("FAILED", str(report))

    def test_nan_in_keras_outputs_only(self):
        keras_count, tflite_count = self.expected_counts("nan", "finite")
        self.assertGreater(keras_count, 0)
        self.assertEqual(tflite_count, 0)
        self.check_fails(self.make("nan", "finite"), keras_count, 0)

    def test_nan_in_tflite_outputs_only(self):
        keras_count, tflite_count = self.expected_counts("finite", "nan")
        self.assertEqual(keras_count, 0)
        self.assertGreater(tflite_count, 0)
        self.check_fails(self.make("finite", "nan"), 0, tflite_count)

    def test_inf_in_tflite_outputs(self):
        _, tflite_count = self.expected_counts("finite", "inf")
        self.assertGreater(tflite_count, 0)
        self.check_fails(self.make("finite", "inf"), 0, tflite_count)

    def test_nan_on_both_sides(self):
        keras_count, tflite_count = self.expected_counts("nan", "nan")
        self.assertGreater(keras_count, 0)
        self.assertEqual(keras_count, tflite_count)  # the same LOG of negatives on both sides
        report = self.make("nan", "nan")
        self.check_fails(report, keras_count, tflite_count)

    def test_rows_with_nonfinite_values_count_as_disagreement_and_errors(self):
        labels = digits()[3][:60]
        report = self.make("finite", "nan", labels)
        keras_out = digit_models()["finite"].predict(x_test(), verbose=0)
        tflite_out = run_tflite(tflite("nan"), x_test())
        ok = np.isfinite(tflite_out).all(-1)
        self.assertLess(ok.mean(), 1.0)
        agree = (keras_out.argmax(-1) == tflite_out.argmax(-1)) & ok
        self.assertAllClose(report.top1_agreement, agree.mean())
        self.assertAllClose(report.tflite_accuracy, ((tflite_out.argmax(-1) == labels) & ok).mean())
        self.assertAllClose(report.keras_accuracy, (keras_out.argmax(-1) == labels).mean())
        with self.assertRaises(AssertionError):
            report.assert_within(max_accuracy_drop=1.0)

    def test_finite_outputs_still_pass(self):
        report = self.make("finite", "finite")
        self.assertTrue(report.finite)
        self.assertEqual((report.keras_nonfinite, report.tflite_nonfinite), (0, 0))
        self.assertLess(report.max_abs_diff, 1e-5)
        report.assert_within(max_abs_diff=1e-5)
        self.assertNotIn("non-finite", str(report))

    def test_nan_limits_of_a_made_up_report_fail(self):
        # A report built by hand (or replaced) with a NaN difference fails too.
        report = ParityReport(100, 0.01, 0.001, 0.99, 0.9, 0.9, 10, 10, 0.1, 0.1)
        report.assert_within(max_abs_diff=0.05, max_accuracy_drop=0.01)
        with self.assertRaisesRegex(AssertionError, "max abs difference nan"):
            dataclasses.replace(report, max_abs_diff=float("nan")).assert_within(max_abs_diff=0.05)
        with self.assertRaisesRegex(AssertionError, "accuracy drop nan"):
            dataclasses.replace(report, tflite_accuracy=float("nan")).assert_within(
                max_accuracy_drop=0.01
            )
