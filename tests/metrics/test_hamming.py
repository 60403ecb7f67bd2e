import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import hamming_loss

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
from tfx_ext.metrics import HammingLoss


def multilabel_data(rng, n, labels=5):
    """Binary indicator targets and sigmoid-like scores that mostly agree with them."""
    y_true = (rng.random((n, labels)) < 0.4).astype("int32")
    scores = np.clip(0.35 * y_true + rng.uniform(0.0, 0.65, (n, labels)), 0.0, 1.0)
    return y_true, scores.astype("float32")


class HammingLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_worked_examples(self):
        m = HammingLoss(mode="multilabel")
        m.update_state(np.array([[1, 0, 1]]), np.array([[0.9, 0.6, 0.2]]))
        self.assertAllClose(m.result(), 2.0 / 3.0)  # cells 2 and 3 are wrong
        m = HammingLoss(mode="multiclass")
        m.update_state(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]))
        self.assertAllClose(m.result(), 0.5)  # 2 wrong examples out of 4

    def test_multiclass_matches_sklearn_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 4, error_rate=0.5)
        self.assertAllClose(stream(HammingLoss("multiclass"), y_true, y_pred), hamming_loss(y_true, y_pred))

    def test_multiclass_probability_rows_one_hot_and_sample_weight(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        scores = scores_for(self.rng, y_true, 4, strength=1.0)
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        predicted = scores.argmax(axis=1)
        expected = hamming_loss(y_true, predicted)
        self.assertAllClose(stream(HammingLoss("multiclass"), y_true, scores), expected)
        self.assertAllClose(stream(HammingLoss("multiclass"), one_hot(y_true, 4), scores), expected)
        weighted = hamming_loss(y_true, predicted, sample_weight=weights)
        self.assertNotAllClose(weighted, expected)
        got = stream(HammingLoss("multiclass"), one_hot(y_true, 4), scores, sample_weight=weights)
        self.assertAllClose(got, weighted)

    def test_multiclass_binary_sigmoid_probabilities(self):
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        probs = np.clip(0.3 * y_true + self.rng.uniform(0.0, 0.7, NUM_EXAMPLES), 0, 1).astype("float32")
        expected = hamming_loss(y_true, (probs > 0.5).astype(int))
        self.assertAllClose(stream(HammingLoss("multiclass"), y_true[:, None], probs[:, None]), expected)

    def test_multilabel_matches_sklearn_streamed_in_uneven_batches(self):
        y_true, scores = multilabel_data(self.rng, NUM_EXAMPLES)
        for threshold in (0.5, 0.3, 0.7):
            with self.subTest(threshold=threshold):
                expected = hamming_loss(y_true, (scores > threshold).astype(int))
                got = stream(HammingLoss("multilabel", threshold=threshold), y_true, scores)
                self.assertAllClose(got, expected)

    def test_multilabel_with_sample_weight(self):
        y_true, scores = multilabel_data(self.rng, NUM_EXAMPLES)
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        predicted = (scores > 0.5).astype(int)
        expected = hamming_loss(y_true, predicted, sample_weight=weights)
        self.assertNotAllClose(expected, hamming_loss(y_true, predicted))
        got = stream(HammingLoss("multilabel"), y_true, scores, sample_weight=weights)
        self.assertAllClose(got, expected)
        # (batch, 1) weights are the same weights.
        got = stream(HammingLoss("multilabel"), y_true, scores, sample_weight=weights[:, None])
        self.assertAllClose(got, expected)

    def test_multilabel_binary_indicator_predictions(self):
        # sklearn's own input format: 0/1 integer predictions.
        y_true, scores = multilabel_data(self.rng, NUM_EXAMPLES)
        predicted = (scores > 0.5).astype("int32")
        self.assertAllClose(
            stream(HammingLoss("multilabel"), y_true, predicted), hamming_loss(y_true, predicted)
        )

    def test_reset_state_and_empty_result(self):
        m = HammingLoss("multilabel")
        self.assertAllClose(m.result(), 0.0)
        y_true, scores = multilabel_data(self.rng, NUM_EXAMPLES)
        stream(m, 1 - y_true, scores)
        m.reset_state()
        self.assertAllClose(m.result(), 0.0)
        expected = hamming_loss(y_true, (scores > 0.5).astype(int))
        self.assertAllClose(stream(m, y_true, scores), expected)

    def test_compiled_multilabel_model_evaluate_matches_sklearn(self):
        x = self.rng.standard_normal((101, 6)).astype("float32")
        logits = x @ self.rng.standard_normal((6, 4)) + 0.5 * self.rng.standard_normal((101, 4))
        y = (logits > 0).astype("float32")
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4, activation="sigmoid")])
        model.compile(
            optimizer=keras.optimizers.Adam(0.05),
            loss="binary_crossentropy",
            metrics=[HammingLoss("multilabel", name="hamming")],
        )
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        results = model.evaluate(x, y, batch_size=13, verbose=0, return_dict=True)  # last batch: 10
        predicted = (model.predict(x, batch_size=13, verbose=0) > 0.5).astype(int)
        self.assertAllClose(results["hamming"], hamming_loss(y, predicted), atol=1e-6)

    def test_compiled_multiclass_model_evaluate_matches_sklearn(self):
        x = self.rng.standard_normal((101, 6)).astype("float32")
        y = (x @ self.rng.standard_normal((6, 3))).argmax(axis=1).astype("int32")
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(
            optimizer=keras.optimizers.Adam(0.05),
            loss="sparse_categorical_crossentropy",
            metrics=[HammingLoss("multiclass", name="hamming")],
        )
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        results = model.evaluate(x, y, batch_size=13, verbose=0, return_dict=True)
        predicted = model.predict(x, batch_size=13, verbose=0).argmax(axis=1)
        self.assertAllClose(results["hamming"], hamming_loss(y, predicted), atol=1e-6)

    @rejects_bad_input(HammingLoss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `mode`.*Received: mode='binary'"):
            HammingLoss(mode="binary")
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=2"):
            HammingLoss("multilabel", threshold=2)
        with self.assertRaisesRegex(TypeError, r"argument `threshold`.*Received: threshold=None"):
            HammingLoss("multilabel", threshold=None)
        with self.assertRaisesRegex(ValueError, r"multilabel.*\(batch, labels\).*\(4,\)"):
            HammingLoss("multilabel").update_state(np.ones(4), np.ones(4))

    def test_serialization(self):
        for mode in ("multiclass", "multilabel"):
            with self.subTest(mode=mode):
                clone = assert_config_round_trip(self, HammingLoss(mode, threshold=0.3, name="hl"))
                self.assertEqual((clone.mode, clone.threshold), (mode, 0.3))
        x = self.rng.standard_normal((24, 5)).astype("float32")
        y = (self.rng.random((24, 3)) < 0.5).astype("float32")
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="sigmoid")])
        model.compile(
            optimizer="adam", loss="binary_crossentropy", metrics=[HammingLoss("multilabel", name="hl")]
        )
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert_model_round_trip(self, model, x, y)
