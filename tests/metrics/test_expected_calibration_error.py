import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.metrics.streaming import (
    BATCH_SIZES,
    NUM_EXAMPLES,
    one_hot,
    sample_weights,
    scores_for,
    stream,
)
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.metrics import BrierScore, ExpectedCalibrationError

SIGMAS = 5.0


def top_class(y_true, probabilities):
    """Top-class confidence (float64) and correctness, from the definitions."""
    p = np.asarray(probabilities)
    y = np.asarray(y_true)
    if p.ndim == 2 and p.shape[1] > 1:
        if y.ndim == 2 and y.shape[1] == p.shape[1]:
            y = y.argmax(axis=1)
        confidence, predicted = p.max(axis=1), p.argmax(axis=1)
    else:
        p = p.reshape(-1)
        confidence, predicted = np.maximum(p, 1 - p), (p > 0.5).astype(int)
    return confidence.astype("float64"), (predicted == y.reshape(-1)).astype("float64")


def reference_ece(y_true, probabilities, num_bins, sample_weight=None):
    """Naive loop over equal-width bins [i/n, (i+1)/n), the last one closed at 1."""
    confidence, correct = top_class(y_true, probabilities)
    w = np.ones_like(confidence) if sample_weight is None else np.asarray(sample_weight, "float64")
    total = w.sum()
    ece = 0.0
    for i in range(num_bins):
        low, high = i / num_bins, (i + 1) / num_bins
        members = (confidence >= low) & (
            (confidence < high) if i < num_bins - 1 else (confidence <= 1.0)
        )
        weight = w[members].sum()
        if weight == 0:
            continue
        accuracy = np.sum(w[members] * correct[members]) / weight
        mean_confidence = np.sum(w[members] * confidence[members]) / weight
        ece += weight / total * abs(accuracy - mean_confidence)
    return ece


def ece_noise_bound(confidence, probability_correct, num_bins):
    """SIGMAS standard errors of ECE's sampling noise when labels are Bernoulli(probability_correct).

    Per bin, sum(correct) has variance sum p(1-p), so |acc_i - E acc_i| <= SIGMAS sqrt(sum p(1-p)) / n_i,
    and ECE moves by at most sum_i (n_i / N) times that.
    """
    bins = np.minimum(np.floor(confidence * num_bins).astype(int), num_bins - 1)
    variance = np.bincount(bins, probability_correct * (1 - probability_correct), num_bins)
    return SIGMAS * np.sqrt(variance).sum() / len(confidence)


def synthetic(rng, n, num_classes, accuracy_gap):
    """Probability rows and labels right with probability (top confidence - accuracy_gap)."""
    logits = rng.standard_normal((n, num_classes)) * 2.0
    probabilities = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    probabilities = probabilities.astype("float32")
    confidence = probabilities.max(axis=1).astype("float64")
    predicted = probabilities.argmax(axis=1)
    p_correct = np.clip(confidence - accuracy_gap, 0.0, 1.0)
    right = rng.random(n) < p_correct
    wrong = (predicted + rng.integers(1, num_classes, n)) % num_classes
    return np.where(right, predicted, wrong), probabilities, confidence, p_correct


class ExpectedCalibrationErrorTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_worked_example(self):
        # Confidences 0.62 (right), 0.74 (wrong), 0.88 (right), 1.0 (right).
        probabilities = np.array(
            [[0.62, 0.38, 0.0], [0.13, 0.74, 0.13], [0.06, 0.06, 0.88], [1.0, 0.0, 0.0]], "float32"
        )
        y_true = np.array([0, 2, 2, 0])
        # 10 bins: each alone in bins 6, 7, 8, 9: (0.38 + 0.74 + 0.12 + 0) / 4.
        m = ExpectedCalibrationError(num_bins=10)
        m.update_state(y_true, probabilities)
        self.assertAllClose(m.result(), 1.24 / 4)
        # 2 bins: all in [0.5, 1]: |3/4 - 0.81| = 0.06.
        m = ExpectedCalibrationError(num_bins=2)
        m.update_state(y_true, probabilities)
        self.assertAllClose(m.result(), 0.06)
        # 1 bin: |accuracy - mean confidence| over everything.
        m = ExpectedCalibrationError(num_bins=1)
        m.update_state(y_true, probabilities)
        self.assertAllClose(m.result(), 0.06)

    def test_matches_reference_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 5, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 5)
        for num_bins in (1, 5, 15):
            with self.subTest(num_bins=num_bins):
                result = stream(ExpectedCalibrationError(num_bins=num_bins), y_true, probabilities)
                self.assertAllClose(
                    result, reference_ece(y_true, probabilities, num_bins), atol=1e-6
                )

    def test_sample_weights(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 4)
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        result = stream(
            ExpectedCalibrationError(num_bins=10), y_true, probabilities, sample_weight=weights
        )
        self.assertAllClose(result, reference_ece(y_true, probabilities, 10, weights), atol=1e-6)
        # Integer weights count examples: same as repeating rows.
        counts = self.rng.integers(0, 3, NUM_EXAMPLES)
        m = ExpectedCalibrationError(num_bins=10)
        m.update_state(y_true, probabilities, sample_weight=counts)
        repeated = ExpectedCalibrationError(num_bins=10)
        repeated.update_state(np.repeat(y_true, counts), np.repeat(probabilities, counts, axis=0))
        self.assertAllClose(m.result(), repeated.result(), atol=1e-6)

    def test_binary_one_column(self):
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        p = np.clip(
            0.5 + (y_true - 0.5) * 0.4 + self.rng.normal(0, 0.25, NUM_EXAMPLES), 0, 1
        ).astype("float32")
        expected = reference_ece(y_true, p, 10)
        for shape in [(NUM_EXAMPLES, 1), (NUM_EXAMPLES,)]:
            with self.subTest(shape=shape):
                result = stream(
                    ExpectedCalibrationError(num_bins=10), y_true.reshape(shape), p.reshape(shape)
                )
                self.assertAllClose(result, expected, atol=1e-6)
        # A tie p = 0.5 predicts class 0 (p > 0.5 is class 1): with 0.55 (right) in the same bin,
        # accuracy 1 against confidence 0.525.
        m = ExpectedCalibrationError(num_bins=10)
        m.update_state(np.array([0, 1]), np.array([0.5, 0.55], "float32"))
        self.assertAllClose(m.result(), 0.475)
        # Same as the two-column form [1 - p, p] (away from the p = 0.5 tie).
        untied = np.abs(p - 0.5) > 1e-3
        two_columns = np.stack([1 - p[untied], p[untied]], axis=1)
        m1, m2 = ExpectedCalibrationError(num_bins=10), ExpectedCalibrationError(num_bins=10)
        m1.update_state(y_true[untied], p[untied])
        m2.update_state(y_true[untied], two_columns)
        self.assertAllClose(m1.result(), m2.result(), atol=1e-6)

    def test_one_hot_labels(self):
        y_true = self.rng.integers(0, 5, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 5)
        sparse = stream(ExpectedCalibrationError(), y_true, probabilities)
        dense = stream(ExpectedCalibrationError(), one_hot(y_true, 5), probabilities)
        self.assertAllClose(dense, sparse)
        self.assertAllClose(dense, reference_ece(y_true, probabilities, 15), atol=1e-6)

    def test_calibrated_data_has_near_zero_ece_and_overconfident_data_does_not(self):
        n = 20000
        labels, probabilities, confidence, p_correct = synthetic(self.rng, n, 4, accuracy_gap=0.0)
        calibrated = stream(
            ExpectedCalibrationError(num_bins=10), labels, probabilities, batch_sizes=(n,)
        )
        bound = ece_noise_bound(confidence, p_correct, 10)
        self.assertLess(calibrated, bound)
        self.assertLess(bound, 0.05)  # the bound itself is small at this size

        # Right 20 points less often than claimed (confidence >= 1/4 here, so few clipped rows):
        # the population ECE is the mean gap.
        labels, probabilities, confidence, p_correct = synthetic(self.rng, n, 4, accuracy_gap=0.2)
        overconfident = stream(
            ExpectedCalibrationError(num_bins=10), labels, probabilities, batch_sizes=(n,)
        )
        population = np.mean(confidence - p_correct)
        self.assertAllClose(
            overconfident, population, atol=ece_noise_bound(confidence, p_correct, 10), rtol=0
        )
        self.assertGreater(overconfident, 0.15)

    def test_reset_state(self):
        y_true = self.rng.integers(0, 3, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 3)
        m = ExpectedCalibrationError(num_bins=8)
        stream(m, y_true, probabilities)
        m.reset_state()
        self.assertAllClose(m.result(), 0.0)
        self.assertAllClose(m.counts, np.zeros(8))
        other = self.rng.integers(0, 3, NUM_EXAMPLES)
        self.assertAllClose(
            stream(m, other, probabilities), reference_ece(other, probabilities, 8), atol=1e-6
        )

    def test_result_before_any_update_is_zero(self):
        self.assertAllClose(ExpectedCalibrationError().result(), 0.0)

    @rejects_bad_input(ExpectedCalibrationError)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `num_bins`.*an integer >= 1.*num_bins=0"
        ):
            ExpectedCalibrationError(num_bins=0)
        with self.assertRaisesRegex(TypeError, r"argument `num_bins`.*num_bins=2.5"):
            ExpectedCalibrationError(num_bins=2.5)

    def test_config_round_trip(self):
        clone = assert_config_round_trip(self, ExpectedCalibrationError(num_bins=7, name="ece"))
        self.assertEqual(clone.num_bins, 7)
        self.assertEqual(clone.name, "ece")

    def digits_like_model(self):
        model = keras.Sequential(
            [
                keras.Input((12,)),
                keras.layers.Dense(16, activation="relu"),
                keras.layers.Dense(4, activation="softmax"),
            ]
        )
        model.compile(
            loss="sparse_categorical_crossentropy",
            metrics=[ExpectedCalibrationError(num_bins=10), BrierScore()],
        )
        return model

    def test_in_compile_matches_reference_on_predictions(self):
        model = self.digits_like_model()
        x = self.rng.standard_normal((NUM_EXAMPLES, 12)).astype("float32")
        y = self.rng.integers(0, 4, NUM_EXAMPLES)
        results = model.evaluate(x, y, batch_size=BATCH_SIZES[1], verbose=0, return_dict=True)
        probabilities = model.predict(x, verbose=0)
        self.assertAllClose(
            results["expected_calibration_error"], reference_ece(y, probabilities, 10), atol=1e-5
        )
        brier = np.mean(np.sum((probabilities - one_hot(y, 4)) ** 2, axis=1))
        self.assertAllClose(results["brier_score"], brier, atol=1e-5)

    def test_model_round_trip(self):
        model = self.digits_like_model()
        x = self.rng.standard_normal((40, 12)).astype("float32")
        y = self.rng.integers(0, 4, 40)
        model.fit(x, y, epochs=1, verbose=0)
        loaded = assert_model_round_trip(self, model, x, y)
        results = loaded.evaluate(x, y, verbose=0, return_dict=True)
        self.assertIn("expected_calibration_error", results)
        self.assertAllClose(
            results["expected_calibration_error"],
            reference_ece(y, loaded.predict(x, verbose=0), 10),
            atol=1e-5,
        )
