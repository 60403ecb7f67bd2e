import keras
import numpy as np
import pytest
import tensorflow as tf
from sklearn.metrics import cohen_kappa_score

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
from tfx_ext.metrics import CohenKappa

WEIGHTAGES = (None, "linear", "quadratic")


def sklearn_kappa(y_true, y_pred, num_classes, weightage, sample_weight=None):
    # `labels` pins the class order, so linear/quadratic gaps are between class ids
    # even when a class is missing from the data.
    return cohen_kappa_score(
        y_true,
        y_pred,
        labels=np.arange(num_classes),
        weights=weightage,
        sample_weight=sample_weight,
    )


class CohenKappaTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_worked_examples(self):
        # Binary: observed agreement 3/4, chance agreement (2*1 + 2*3) / 16 = 1/2,
        # kappa = (3/4 - 1/2) / (1 - 1/2) = 1/2.
        m = CohenKappa(num_classes=2)
        m.update_state(np.array([0, 0, 1, 1]), np.array([0, 1, 1, 1]))
        self.assertAllClose(m.result(), 0.5)
        # Linear weights, 3 classes: O has a single off-diagonal cell (1, 2) -> sum W*O = 1.
        # Row sums (1, 1, 1), column sums (1, 0, 2): E = outer / 3 and sum W*E = 4/3 + 1 + 2/3 = 3.
        # kappa = 1 - 1/3.
        m = CohenKappa(num_classes=3, weightage="linear")
        m.update_state(np.array([0, 1, 2]), np.array([0, 2, 2]))
        self.assertAllClose(m.result(), 2.0 / 3.0)

    def test_perfect_agreement_is_one(self):
        y = self.rng.integers(0, 4, 50)
        for weightage in WEIGHTAGES:
            with self.subTest(weightage=weightage):
                m = CohenKappa(num_classes=4, weightage=weightage)
                m.update_state(y, y)
                self.assertAllClose(m.result(), 1.0)

    def test_matches_sklearn_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 5, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 5, error_rate=0.5)
        for weightage in WEIGHTAGES:
            with self.subTest(weightage=weightage):
                expected = sklearn_kappa(y_true, y_pred, 5, weightage)
                self.assertAllClose(
                    stream(CohenKappa(5, weightage=weightage), y_true, y_pred), expected
                )

    def test_matches_sklearn_with_sample_weight(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 4, error_rate=0.6)
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        for weightage in WEIGHTAGES:
            with self.subTest(weightage=weightage):
                expected = sklearn_kappa(y_true, y_pred, 4, weightage, sample_weight=weights)
                unweighted = sklearn_kappa(y_true, y_pred, 4, weightage)
                self.assertNotAllClose(expected, unweighted)  # the weights matter here
                got = stream(
                    CohenKappa(4, weightage=weightage), y_true, y_pred, sample_weight=weights
                )
                self.assertAllClose(got, expected)

    def test_one_hot_labels_and_probability_rows(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        scores = scores_for(self.rng, y_true, 4)
        expected = sklearn_kappa(y_true, scores.argmax(axis=1), 4, "quadratic")
        got = stream(CohenKappa(4, weightage="quadratic"), one_hot(y_true, 4), scores)
        self.assertAllClose(got, expected)
        # Ids as (batch, 1) columns are the same labels.
        got = stream(CohenKappa(4, weightage="quadratic"), y_true[:, None], scores)
        self.assertAllClose(got, expected)

    def test_binary_sigmoid_probabilities(self):
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        probs = np.clip(0.3 * y_true + self.rng.uniform(0.0, 0.7, NUM_EXAMPLES), 0, 1).astype(
            "float32"
        )
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        for threshold in (0.5, 0.3):
            with self.subTest(threshold=threshold):
                expected = sklearn_kappa(y_true, (probs > threshold).astype(int), 2, None, weights)
                m = CohenKappa(num_classes=2, threshold=threshold)
                got = stream(m, y_true[:, None], probs[:, None], sample_weight=weights)
                self.assertAllClose(got, expected)

    def test_reset_state(self):
        m = CohenKappa(3, weightage="linear")
        first = self.rng.integers(0, 3, NUM_EXAMPLES)
        stream(m, first, noisy_labels(self.rng, first, 3, 0.9))
        m.reset_state()
        self.assertAllClose(m.result(), 0.0)  # empty matrix: kappa undefined -> 0
        y_true = self.rng.integers(0, 3, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 3, 0.3)
        self.assertAllClose(stream(m, y_true, y_pred), sklearn_kappa(y_true, y_pred, 3, "linear"))

    def test_undefined_kappa_is_zero(self):
        # Everything in one class: no chance disagreement, kappa is 0 by convention
        # (sklearn returns NaN here).
        m = CohenKappa(3)
        m.update_state(np.full(10, 2), np.full(10, 2))
        self.assertAllClose(m.result(), 0.0)

    @rejects_bad_input(CohenKappa)
    def test_out_of_range_ids_raise_eagerly_and_in_graph(self):
        # Labels 1..10 for num_classes=10 (off by one) used to give kappa 1.0.
        labels = np.arange(1, 11)
        with self.assertRaisesRegex(ValueError, r"`y_true` of CohenKappa.*\[0, 10\).*from 1 to 10"):
            CohenKappa(10).update_state(labels, labels)
        with self.assertRaisesRegex(ValueError, r"`y_pred` of CohenKappa.*\[0, 3\).*from 0 to 7"):
            CohenKappa(3).update_state(np.array([0, 1, 2]), np.array([0, 7, 2]))

    @pytest.mark.tf_only(
        "in-graph tf.debugging check raising InvalidArgumentError in a tf.function"
    )
    @rejects_bad_input(CohenKappa)
    def test_out_of_range_ids_raise_in_graph(self):
        m = CohenKappa(3)
        update = tf.function(m.update_state)
        with self.assertRaisesRegex(
            tf.errors.InvalidArgumentError, r"`y_true` of CohenKappa.*\[0, 3\)"
        ):
            update(tf.constant([0, 7, 2]), tf.constant([0, 1, 2]))
        update(tf.constant([0, 1, 2]), tf.constant([0, 1, 1]))  # the same graph accepts good ids
        self.assertAllClose(m.result(), sklearn_kappa([0, 1, 2], [0, 1, 1], 3, None))

    def test_compiled_model_evaluate_matches_sklearn(self):
        x = self.rng.standard_normal((101, 6)).astype("float32")
        score = x @ self.rng.standard_normal(6) + 0.5 * self.rng.standard_normal(101)
        y = np.digitize(score, np.quantile(score, [0.25, 0.5, 0.75])).astype(
            "int32"
        )  # ordinal 0..3
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="softmax")])
        model.compile(
            optimizer=keras.optimizers.Adam(0.05),
            loss="sparse_categorical_crossentropy",
            metrics=[CohenKappa(4, name="kappa"), CohenKappa(4, weightage="quadratic", name="qwk")],
        )
        model.fit(x, y, epochs=3, batch_size=16, verbose=0)
        results = model.evaluate(x, y, batch_size=13, verbose=0, return_dict=True)  # last batch: 10
        predicted = model.predict(x, batch_size=13, verbose=0).argmax(axis=1)
        self.assertAllClose(results["kappa"], sklearn_kappa(y, predicted, 4, None), atol=1e-5)
        self.assertAllClose(results["qwk"], sklearn_kappa(y, predicted, 4, "quadratic"), atol=1e-5)

    @rejects_bad_input(CohenKappa)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `num_classes`.*Received: num_classes=1"):
            CohenKappa(num_classes=1)
        with self.assertRaisesRegex(
            TypeError, r"argument `num_classes`.*an integer.*Received: num_classes=2.5"
        ):
            CohenKappa(num_classes=2.5)
        with self.assertRaisesRegex(
            ValueError, r"argument `weightage`.*Received: weightage='cubic'"
        ):
            CohenKappa(3, weightage="cubic")
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=1.5"):
            CohenKappa(2, threshold=1.5)
        with self.assertRaisesRegex(TypeError, r"argument `threshold`.*Received: threshold='0.5'"):
            CohenKappa(2, threshold="0.5")

    def test_serialization(self):
        for weightage in WEIGHTAGES:
            with self.subTest(weightage=weightage):
                clone = assert_config_round_trip(
                    self, CohenKappa(3, weightage=weightage, threshold=0.4, name="kappa")
                )
                self.assertEqual(
                    (clone.num_classes, clone.weightage, clone.threshold), (3, weightage, 0.4)
                )
        x = self.rng.standard_normal((24, 5)).astype("float32")
        y = self.rng.integers(0, 3, 24)
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(
            optimizer="adam",
            loss="sparse_categorical_crossentropy",
            metrics=[CohenKappa(3, weightage="quadratic", name="qwk")],
        )
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert_model_round_trip(self, model, x, y)
