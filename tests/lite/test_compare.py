import dataclasses
import gzip
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.lite import models
from tests.lite.models import image_digits, run_tflite
from tfx_ext.lite import ParityReport, compare, convert

ROWS = [
    "examples",
    "max abs difference",
    "mean abs difference",
    "top-1 agreement",
    "keras accuracy",
    "tflite accuracy",
    "accuracy drop (points)",
    "size raw / gzip (bytes)",
    "latency mean / p95 (ms)",
]


def made_up_report(**changes):
    values = dict(
        examples=100,
        max_abs_diff=0.04,
        mean_abs_diff=0.001,
        top1_agreement=0.99,
        keras_accuracy=0.95,
        tflite_accuracy=0.94,
        raw_bytes=5000,
        gzip_bytes=3000,
        latency_mean_ms=0.01,
        latency_p95_ms=0.02,
    )
    values.update(changes)
    return ParityReport(**values)


class CompareTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.model = models.cnn()
        _, _, self.x, self.y = image_digits()
        self.result = models.converted("cnn", "int8")

    def test_numbers_match_an_independent_computation(self):
        report = compare(self.model, self.result, self.x, self.y)
        expected = self.model.predict(self.x, verbose=0)
        got = run_tflite(self.result.content, self.x)
        diff = np.abs(got - expected)
        self.assertEqual(report.examples, len(self.x))
        self.assertAllClose(report.max_abs_diff, diff.max(), atol=1e-6)
        self.assertAllClose(report.mean_abs_diff, diff.mean(), atol=1e-7)
        self.assertGreater(report.max_abs_diff, 0.0)  # int8: not bit-exact
        keras_classes, tflite_classes = expected.argmax(-1), got.argmax(-1)
        self.assertAllClose(report.top1_agreement, np.mean(keras_classes == tflite_classes))
        self.assertAllClose(report.keras_accuracy, np.mean(keras_classes == self.y))
        self.assertAllClose(report.tflite_accuracy, np.mean(tflite_classes == self.y))
        self.assertAllClose(report.accuracy_drop, report.keras_accuracy - report.tflite_accuracy)
        self.assertEqual(report.raw_bytes, len(self.result.content))
        self.assertEqual(
            report.gzip_bytes, len(gzip.compress(self.result.content, compresslevel=9))
        )
        self.assertGreater(report.latency_mean_ms, 0.0)
        self.assertGreater(report.latency_p95_ms, 0.0)
        self.assertLess(report.latency_mean_ms, 100.0)

    def test_float32_model_is_exact_enough(self):
        report = models.report("cnn", "float32")
        self.assertLessEqual(report.max_abs_diff, 1e-5)
        self.assertEqual(report.top1_agreement, 1.0)
        self.assertEqual(report.accuracy_drop, 0.0)
        report.assert_within(max_abs_diff=1e-5, max_accuracy_drop=0.0)

    def test_accuracy_only_with_labels(self):
        report = compare(self.model, self.result, self.x[:50])
        self.assertIsNone(report.keras_accuracy)
        self.assertIsNone(report.tflite_accuracy)
        self.assertIsNone(report.accuracy_drop)
        names = [name for name, _ in report.rows()]
        self.assertEqual(names, [n for n in ROWS if "accuracy" not in n])
        with_labels = compare(
            self.model, self.result, self.x[:50], self.y[:50].reshape((50, 1))
        )  # (n, 1) labels
        self.assertEqual([name for name, _ in with_labels.rows()], ROWS)
        self.assertAllClose(with_labels.max_abs_diff, report.max_abs_diff)

    def test_str_is_a_table_of_every_row(self):
        report = models.report("cnn", "int8")
        text = str(report)
        lines = text.splitlines()
        self.assertLen(lines, len(ROWS))
        for name, line in zip(ROWS, lines):
            self.assertStartsWith(line, name)
        self.assertIn(f"{report.raw_bytes:,} / {report.gzip_bytes:,}", text)
        self.assertIn(f"{report.top1_agreement:.2%}", text)
        # Values start in one column.
        starts = {len(line) - len(line[len(name) :].lstrip()) for name, line in zip(ROWS, lines)}
        self.assertLen(starts, 1)

    def test_accepts_bytes_path_and_result(self):
        x, y = self.x[:60], self.y[:60]
        by_result = compare(self.model, self.result, x, y)
        by_bytes = compare(self.model, self.result.content, x, y)
        by_bytearray = compare(self.model, bytearray(self.result.content), x, y)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "cnn.tflite")
            with open(path, "wb") as f:
                f.write(self.result.content)
            by_path = compare(self.model, path, x, y)
        for report in (by_bytes, by_bytearray, by_path):
            for field in (
                "examples",
                "max_abs_diff",
                "mean_abs_diff",
                "top1_agreement",
                "keras_accuracy",
                "tflite_accuracy",
                "raw_bytes",
                "gzip_bytes",
            ):
                self.assertEqual(getattr(report, field), getattr(by_result, field), field)

    def test_binary_classifier_threshold(self):
        x, y = self.x[:80].reshape((80, 64)), (self.y[:80] % 2)
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(1, activation="sigmoid")])
        result = convert(model, "float16")
        report = compare(model, result, x, y)
        expected = model.predict(x, verbose=0)[:, 0] > 0.5
        got = run_tflite(result.content, x)[:, 0] > 0.5
        self.assertAllClose(report.top1_agreement, np.mean(expected == got))
        self.assertAllClose(report.keras_accuracy, np.mean(expected == y))

    @rejects_bad_input(compare)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError,
            r"argument `labels`.*450 labels \(one per example\).*Received: labels='449 labels'",
        ):
            compare(self.model, self.result, self.x, self.y[:-1])
        with self.assertRaisesRegex(ValueError, r"argument `data`.*non-empty batch"):
            compare(self.model, self.result, self.x[:0])
        with self.assertRaisesRegex(ValueError, r"argument `data`"):
            compare(self.model, self.result, np.zeros(3, "float32"))
        with self.assertRaisesRegex(
            ValueError,
            r"argument `tflite_model`.*ConversionResult.*Received: tflite_model='/no/such.tflite'",
        ):
            compare(self.model, "/no/such.tflite", self.x)
        with self.assertRaisesRegex(ValueError, r"argument `tflite_model`"):
            compare(self.model, 42, self.x)

    @rejects_bad_input(compare)
    def test_bad_data_is_refused(self):
        nan_x = self.x[:20].copy()
        nan_x[3].flat[5] = np.nan
        # NaN in both models' outputs used to read "top-1 agreement 100.00%".
        with self.assertRaisesRegex(ValueError, r"argument `data`.*finite values.*1 NaN"):
            compare(self.model, self.result, nan_x)
        with self.assertRaisesRegex(ValueError, r"argument `data`.*examples of shape"):
            compare(
                self.model,
                self.result,
                self.x[:20, ..., :0] if self.x.ndim > 2 else self.x[:20, :10],
            )
        with self.assertRaisesRegex(TypeError, r"argument `labels`.*numeric"):
            compare(self.model, self.result, self.x[:3], ["a", "b", "c"])
        with self.assertRaisesRegex(ValueError, r"argument `num_threads`"):
            compare(self.model, self.result, self.x[:3], num_threads=0)
        with self.assertRaisesRegex(TypeError, r"argument `keras_model`"):
            compare("model.keras", self.result, self.x[:3])


class AssertWithinTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_passes_within_tolerance(self):
        report = made_up_report()
        report.assert_within()
        report.assert_within(max_abs_diff=0.04, max_accuracy_drop=0.0100001)
        report.assert_within(max_abs_diff=1.0)

    def test_raises_when_out_of_tolerance(self):
        report = made_up_report()
        with self.assertRaisesRegex(AssertionError, r"max abs difference 0\.04 > 0\.01") as raised:
            report.assert_within(max_abs_diff=0.01)
        self.assertIn(str(report), str(raised.exception))
        with self.assertRaisesRegex(AssertionError, r"accuracy drop 0\.0100 > 0\.0050"):
            report.assert_within(max_accuracy_drop=0.005)
        with self.assertRaisesRegex(AssertionError, r"max abs difference .*; accuracy drop"):
            report.assert_within(max_abs_diff=0.01, max_accuracy_drop=0.005)
        with self.assertRaisesRegex(AssertionError, "accuracy drop"):
            made_up_report(keras_accuracy=0.90, tflite_accuracy=0.80).assert_within(0.5, 0.05)

    def test_accuracy_drop_needs_labels(self):
        report = made_up_report(keras_accuracy=None, tflite_accuracy=None)
        self.assertIsNone(report.accuracy_drop)
        report.assert_within(max_abs_diff=0.05)
        with self.assertRaisesRegex(ValueError, "needs a report made with labels"):
            report.assert_within(max_accuracy_drop=0.01)

    def test_on_real_reports(self):
        report = models.report("cnn", "int8")
        report.assert_within(max_abs_diff=report.max_abs_diff, max_accuracy_drop=0.01)
        with self.assertRaises(AssertionError):
            report.assert_within(max_abs_diff=report.max_abs_diff / 2)
        worse = dataclasses.replace(report, tflite_accuracy=report.keras_accuracy - 0.02)
        with self.assertRaisesRegex(AssertionError, "accuracy drop 0.0200 > 0.0100"):
            worse.assert_within(max_accuracy_drop=0.01)
