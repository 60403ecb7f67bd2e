"""The data checks of the calibration metrics and HuberMetric (tfx_ext/metrics/input_checks.py)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.metrics.streaming import NUM_EXAMPLES, one_hot, scores_for, stream
from tests.metrics.test_brier_score import reference_brier
from tests.metrics.test_expected_calibration_error import reference_ece
from tests.roundtrip import assert_config_round_trip
from tfx_ext.metrics import BrierScore, ExpectedCalibrationError, HuberMetric

CALIBRATION_METRICS = (BrierScore, ExpectedCalibrationError)


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


class CalibrationInputTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)
        self.y = self.rng.integers(0, 4, NUM_EXAMPLES)
        self.logits = (self.rng.standard_normal((NUM_EXAMPLES, 4)) * 2).astype("float32")

    def test_from_logits_equals_softmax_probabilities(self):
        probabilities = softmax(self.logits.astype("float64"))
        ece = stream(ExpectedCalibrationError(10, from_logits=True), self.y, self.logits)
        self.assertAllClose(ece, reference_ece(self.y, probabilities, 10), atol=1e-5)
        brier = stream(BrierScore(from_logits=True), self.y, self.logits)
        self.assertAllClose(brier, reference_brier(self.y, probabilities), atol=1e-5)

    def test_binary_from_logits_is_a_sigmoid(self):
        z = self.logits[:, 0]
        y = self.y % 2
        p = 1 / (1 + np.exp(-z.astype("float64")))
        m = BrierScore(from_logits=True)
        m.update_state(y, z)
        self.assertAllClose(m.result(), np.mean((p - y) ** 2), atol=1e-6)

    def test_an_empty_batch_counts_nothing(self):
        for cls in CALIBRATION_METRICS:
            m = cls()
            m.update_state(self.y[:4], softmax(self.logits[:4]))
            before = float(m.result())
            m.update_state(np.zeros((0,), "int64"), np.zeros((0, 4), "float32"))
            self.assertAllClose(m.result(), before)

    def test_from_logits_round_trips(self):
        for cls in CALIBRATION_METRICS:
            clone = assert_config_round_trip(self, cls(from_logits=True))
            self.assertTrue(clone.from_logits)

    @rejects_bad_input(BrierScore, ExpectedCalibrationError)
    def test_logits_labels_and_shapes_are_refused(self):
        p = scores_for(self.rng, self.y[:8], 4)
        cases = [
            # Logits where probabilities are expected (the ECE 2.5 / Brier 9.6).
            (
                self.y[:8],
                self.logits[:8],
                r"`y_pred`.*probabilities.*from_logits=True.*values from",
            ),
            (self.y[:8], p * 2, r"`y_pred`.*each row summing to 1.*row sums from"),
            (self.y[:8] % 2, self.logits[:8, :1] + 3, r"`y_pred`.*probabilities of class 1"),
            # A label outside the columns of y_pred, and labels counted from 1.
            (
                np.array([0, 1, 2, 7, 0, 1, 2, 3]),
                p,
                r"`y_true`.*class ids in \[0, 4\).*from 0 to 7",
            ),
            (np.array([1, 2, 3, 4, 1, 2, 3, 4]), p, r"`y_true`.*ids from 1 to 4"),
            (np.array([0, -1, 2, 3, 0, 1, 2, 3]), p, r"`y_true`.*ids from -1"),
            (np.array([0.5, 1, 2, 3, 0, 1, 2, 3], "float32"), p, r"`y_true`.*class ids"),
            (np.array([0, 2, 1, 1, 0, 1, 1, 0]), p[:, :1], r"`y_true`.*\[0, 2\)"),
            # Shapes that do not describe the same examples.
            (self.y[:7], p, r"`y_true`.*one value per example.*\(8, 4\).*shape \(7,\)"),
            (one_hot(self.y[:8] % 3, 3), p, r"`y_true`.*one-hot rows of 4 columns.*shape \(8, 3\)"),
            (one_hot(self.y[:8], 4) * 2, p, r"`y_true`.*one-hot rows with values in \[0, 1\]"),
        ]
        for cls in CALIBRATION_METRICS:
            for y_true, y_pred, pattern in cases:
                with self.subTest(metric=cls.__name__, pattern=pattern):
                    with self.assertRaisesRegex(ValueError, pattern):
                        cls().update_state(y_true, y_pred)
            with self.assertRaisesRegex(
                TypeError, r"argument `from_logits`.*Received: from_logits='yes'"
            ):
                cls(from_logits="yes")
        with self.assertRaisesRegex(
            ValueError, r"`sample_weight` of ExpectedCalibrationError.*shape \(3, 1\)"
        ):
            ExpectedCalibrationError().update_state(self.y[:8], p, sample_weight=[1.0, 2.0, 3.0])

    @pytest.mark.tf_only(
        "in-graph tf.debugging checks raising InvalidArgumentError in a tf.function"
    )
    @rejects_bad_input(BrierScore, ExpectedCalibrationError)
    def test_checks_run_inside_tf_function(self):
        spec = [tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, 4], tf.float32)]
        for cls in CALIBRATION_METRICS:
            metric = cls()
            update = tf.function(metric.update_state, input_signature=spec)
            update(tf.constant(self.y[:8]), tf.constant(softmax(self.logits[:8])))  # fine
            with self.assertRaisesRegex(
                tf.errors.InvalidArgumentError, r"`y_pred` of .*from_logits=True"
            ):
                update(tf.constant(self.y[:8]), tf.constant(self.logits[:8]))
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"`y_true` of .*\[0, 4\)"):
                update(tf.constant(self.y[:8] + 4), tf.constant(softmax(self.logits[:8])))
            with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"one value per example"):
                update(tf.constant(self.y[:7]), tf.constant(softmax(self.logits[:8])))

    @pytest.mark.tf_only("in-graph tf.debugging check: a compiled JAX step cannot raise on values")
    @rejects_bad_input(BrierScore, ExpectedCalibrationError)
    def test_evaluate_on_a_logits_model_fails_with_the_hint(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
        model.compile(loss="sparse_categorical_crossentropy", metrics=[ExpectedCalibrationError()])
        x = self.rng.standard_normal((16, 3)).astype("float32") * 10
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"from_logits=True"):
            model.evaluate(x, self.y[:16], verbose=0)

    def test_evaluate_on_a_logits_model_with_from_logits(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4)])
        x = self.rng.standard_normal((16, 3)).astype("float32") * 10
        model.compile(
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            metrics=[ExpectedCalibrationError(10, from_logits=True), BrierScore(from_logits=True)],
        )
        results = model.evaluate(x, self.y[:16], verbose=0, return_dict=True)
        probabilities = softmax(model.predict(x, verbose=0).astype("float64"))
        self.assertAllClose(
            results["expected_calibration_error"],
            reference_ece(self.y[:16], probabilities, 10),
            atol=1e-5,
        )


class HuberShapeTest(tf.test.TestCase):
    @rejects_bad_input(HuberMetric)
    def test_mismatched_shapes_are_named(self):
        with self.assertRaisesRegex(
            ValueError, r"`y_true` of HuberMetric.*\(3, 3\).*shape \(4, 3\)"
        ):
            HuberMetric().update_state(np.zeros((4, 3)), np.zeros((3, 3)))
        # (4, 1) would broadcast against (4, 3) into a plausible wrong number.
        with self.assertRaisesRegex(
            ValueError, r"`y_true` of HuberMetric.*\(4, 3\).*shape \(4, 1\)"
        ):
            HuberMetric().update_state(np.zeros((4, 1)), np.zeros((4, 3)))

    @pytest.mark.tf_only(
        "in-graph tf.debugging check raising InvalidArgumentError in a tf.function"
    )
    @rejects_bad_input(HuberMetric)
    def test_mismatched_shapes_are_named_in_graph(self):
        update = tf.function(
            HuberMetric().update_state,
            input_signature=[tf.TensorSpec([None, 2]), tf.TensorSpec([None, 2])],
        )
        with self.assertRaisesRegex(tf.errors.InvalidArgumentError, r"`y_true` of HuberMetric"):
            update(tf.zeros((4, 2)), tf.zeros((3, 2)))

    def test_trailing_axis_of_one_still_lines_up(self):
        m = HuberMetric()
        m.update_state(np.array([[0.0], [2.0]]), np.array([0.5, 0.0]))
        # 0.5 * 0.5**2 = 0.125 and 2 - 0.5 = 1.5 (linear part): mean 0.8125.
        self.assertAllClose(m.result(), 0.8125)
