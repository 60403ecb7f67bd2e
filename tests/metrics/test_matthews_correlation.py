import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import matthews_corrcoef

from tests.bad_input import rejects_bad_input
from tests.metrics.streaming import (
    NUM_EXAMPLES,
    noisy_labels,
    one_hot,
    sample_weights,
    scores_for,
    stream,
)
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.metrics import MatthewsCorrelationCoefficient as MCC


class MatthewsCorrelationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_worked_example(self):
        # TP=2, TN=1, FP=1, FN=0: (TP*TN - FP*FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 2 / sqrt(12).
        m = MCC(num_classes=2)
        m.update_state(np.array([0, 0, 1, 1]), np.array([[0.2], [0.7], [0.9], [0.6]]))
        self.assertAllClose(m.result(), 2.0 / np.sqrt(12.0))

    def test_perfect_and_inverted_binary_predictions(self):
        y = self.rng.integers(0, 2, 30)
        m = MCC(2)
        m.update_state(y, y)
        self.assertAllClose(m.result(), 1.0)
        m = MCC(2)
        m.update_state(y, 1 - y)
        self.assertAllClose(m.result(), -1.0)

    def test_binary_matches_sklearn_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 2, error_rate=0.5)
        self.assertAllClose(stream(MCC(2), y_true, y_pred), matthews_corrcoef(y_true, y_pred))

    def test_multiclass_matches_sklearn_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 5, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 5, error_rate=0.6)
        self.assertAllClose(stream(MCC(5), y_true, y_pred), matthews_corrcoef(y_true, y_pred))

    def test_matches_sklearn_with_sample_weight(self):
        for num_classes in (2, 4):
            with self.subTest(num_classes=num_classes):
                y_true = self.rng.integers(0, num_classes, NUM_EXAMPLES)
                y_pred = noisy_labels(self.rng, y_true, num_classes, error_rate=0.6)
                weights = sample_weights(self.rng, NUM_EXAMPLES)
                expected = matthews_corrcoef(y_true, y_pred, sample_weight=weights)
                self.assertNotAllClose(expected, matthews_corrcoef(y_true, y_pred))
                got = stream(MCC(num_classes), y_true, y_pred, sample_weight=weights)
                self.assertAllClose(got, expected)

    def test_one_hot_labels_and_probability_rows(self):
        y_true = self.rng.integers(0, 3, NUM_EXAMPLES)
        scores = scores_for(self.rng, y_true, 3, strength=1.0)
        expected = matthews_corrcoef(y_true, scores.argmax(axis=1))
        self.assertAllClose(stream(MCC(3), one_hot(y_true, 3), scores), expected)
        self.assertAllClose(stream(MCC(3), y_true[:, None], scores), expected)

    def test_binary_sigmoid_probabilities(self):
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        probs = np.clip(0.3 * y_true + self.rng.uniform(0.0, 0.7, NUM_EXAMPLES), 0, 1).astype(
            "float32"
        )
        for threshold in (0.5, 0.3):
            with self.subTest(threshold=threshold):
                expected = matthews_corrcoef(y_true, (probs > threshold).astype(int))
                got = stream(
                    MCC(2, threshold=threshold), y_true[:, None].astype("float32"), probs[:, None]
                )
                self.assertAllClose(got, expected)
        # One-hot binary labels with two softmax columns are the same problem.
        two_columns = np.stack([1.0 - probs, probs], axis=1)
        expected = matthews_corrcoef(y_true, two_columns.argmax(axis=1))
        self.assertAllClose(stream(MCC(2), one_hot(y_true, 2), two_columns), expected)

    def test_undefined_is_zero(self):
        # A single predicted class: sklearn (and this metric) return 0.
        y_true = self.rng.integers(0, 3, 20)
        y_pred = np.zeros(20, dtype=int)
        expected = matthews_corrcoef(y_true, y_pred)
        self.assertEqual(expected, 0.0)
        m = MCC(3)
        m.update_state(y_true, y_pred)
        self.assertAllClose(m.result(), expected)

    def test_reset_state(self):
        m = MCC(3)
        first = self.rng.integers(0, 3, NUM_EXAMPLES)
        stream(m, first, noisy_labels(self.rng, first, 3, 0.9))
        m.reset_state()
        self.assertAllClose(m.result(), 0.0)
        y_true = self.rng.integers(0, 3, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 3, 0.4)
        self.assertAllClose(stream(m, y_true, y_pred), matthews_corrcoef(y_true, y_pred))

    def test_compiled_binary_model_evaluate_matches_sklearn(self):
        x = self.rng.standard_normal((101, 5)).astype("float32")
        y = (x @ self.rng.standard_normal(5) + 0.7 * self.rng.standard_normal(101) > 0.3).astype(
            "int32"
        )
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(
            optimizer=keras.optimizers.Adam(0.05),
            loss="binary_crossentropy",
            metrics=[MCC(num_classes=2, name="mcc")],
        )
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        results = model.evaluate(x, y, batch_size=13, verbose=0, return_dict=True)  # last batch: 10
        probs = model.predict(x, batch_size=13, verbose=0)[:, 0]
        self.assertAllClose(
            results["mcc"], matthews_corrcoef(y, (probs > 0.5).astype(int)), atol=1e-5
        )

    @rejects_bad_input(MCC)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `num_classes`.*Received: num_classes=0"):
            MCC(num_classes=0)
        with self.assertRaisesRegex(
            TypeError, r"argument `num_classes`.*Received: num_classes='2'"
        ):
            MCC(num_classes="2")
        with self.assertRaisesRegex(
            TypeError, r"argument `num_classes`.*Received: num_classes=True"
        ):
            MCC(num_classes=True)
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=-0.1"):
            MCC(2, threshold=-0.1)

    @rejects_bad_input(MCC)
    def test_out_of_range_ids_and_mismatched_shapes_raise(self):
        labels = np.arange(1, 11)  # 1..10 for num_classes=10: off by one
        with self.assertRaisesRegex(
            ValueError, r"`y_true` of MatthewsCorrelationCoefficient.*\[0, 10\)"
        ):
            MCC(10).update_state(labels, labels)
        with self.assertRaisesRegex(ValueError, r"`y_true`.*\[0, 3\).*from 0 to 7"):
            MCC(3).update_state(np.array([0, 7, 2]), np.array([0, 1, 2]))
        with self.assertRaisesRegex(
            ValueError, r"one prediction per label.*4 labels.*3 predictions"
        ):
            MCC(3).update_state(np.eye(3)[[0, 1, 2, 0]], np.eye(3)[[0, 1, 2]])
        with self.assertRaisesRegex(ValueError, r"one sample weight per example.*2 weights for 3"):
            MCC(3).update_state(np.array([0, 1, 2]), np.array([0, 1, 2]), sample_weight=np.ones(2))

    @pytest.mark.tf_only(
        "in-graph tf.debugging check raising InvalidArgumentError in a tf.function"
    )
    @rejects_bad_input(MCC)
    def test_out_of_range_ids_raise_in_graph(self):
        m = MCC(3)
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, r"`y_pred` of MatthewsCorrelationCoefficient"
        ):
            tf.function(m.update_state)(tf.constant([0, 1, 2]), tf.constant([0, 1, 3]))

    @rejects_bad_input(MCC)
    def test_binary_form_num_classes_1(self):
        # TFA's binary form: one sigmoid probability per example, thresholded.
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        probs = np.clip(y_true * 0.6 + self.rng.random(NUM_EXAMPLES) * 0.5, 0, 1).astype("float32")
        m = MCC(num_classes=1)
        got = stream(m, y_true[:, None].astype("float32"), probs[:, None])
        self.assertAllClose(got, matthews_corrcoef(y_true, (probs > 0.5).astype(int)))
        self.assertNotAllClose(got, 0.0)
        with self.assertRaisesRegex(
            ValueError, r"\[0, 2\) for num_classes=1, the binary form.*from 0 to 3"
        ):
            MCC(num_classes=1).update_state(np.array([0, 1, 3]), np.array([0.1, 0.9, 0.8]))

    def test_serialization(self):
        clone = assert_config_round_trip(self, MCC(4, threshold=0.25, name="mcc"))
        self.assertEqual((clone.num_classes, clone.threshold, clone.name), (4, 0.25, "mcc"))
        x = self.rng.standard_normal((24, 5)).astype("float32")
        y = self.rng.integers(0, 2, 24)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer="adam", loss="binary_crossentropy", metrics=[MCC(2, name="mcc")])
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert_model_round_trip(self, model, x, y)
