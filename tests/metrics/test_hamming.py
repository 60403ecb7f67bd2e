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
from tfx_ext.metrics import HammingLoss, hamming_distance, hamming_loss_fn


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
        m = HammingLoss(mode="multilabel", threshold=0.5)
        m.update_state(np.array([[1, 0, 1]]), np.array([[0.9, 0.6, 0.2]]))
        self.assertAllClose(m.result(), 2.0 / 3.0)  # cells 2 and 3 are wrong
        m = HammingLoss(mode="multiclass")
        m.update_state(np.array([0, 1, 2, 2]), np.array([0, 2, 2, 1]))
        self.assertAllClose(m.result(), 0.5)  # 2 wrong examples out of 4

    def test_multiclass_matches_sklearn_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        y_pred = noisy_labels(self.rng, y_true, 4, error_rate=0.5)
        self.assertAllClose(
            stream(HammingLoss("multiclass"), y_true, y_pred), hamming_loss(y_true, y_pred)
        )

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
        probs = np.clip(0.3 * y_true + self.rng.uniform(0.0, 0.7, NUM_EXAMPLES), 0, 1).astype(
            "float32"
        )
        expected = hamming_loss(y_true, (probs > 0.5).astype(int))
        self.assertAllClose(
            stream(HammingLoss("multiclass"), y_true[:, None], probs[:, None]), expected
        )

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
        got = stream(
            HammingLoss("multilabel", threshold=0.5), y_true, scores, sample_weight=weights
        )
        self.assertAllClose(got, expected)
        # (batch, 1) weights are the same weights.
        got = stream(
            HammingLoss("multilabel", threshold=0.5), y_true, scores, sample_weight=weights[:, None]
        )
        self.assertAllClose(got, expected)

    def test_multilabel_binary_indicator_predictions(self):
        # sklearn's own input format: 0/1 integer predictions.
        y_true, scores = multilabel_data(self.rng, NUM_EXAMPLES)
        predicted = (scores > 0.5).astype("int32")
        self.assertAllClose(
            stream(HammingLoss("multilabel", threshold=0.5), y_true, predicted),
            hamming_loss(y_true, predicted),
        )

    def test_reset_state_and_empty_result(self):
        m = HammingLoss("multilabel", threshold=0.5)
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
            metrics=[HammingLoss("multilabel", threshold=0.5, name="hamming")],
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

    def test_threshold_none_and_multiclass_threshold_as_tfa(self):
        # threshold=None (the default): the row's maximum is the prediction.
        m = HammingLoss("multilabel")
        m.update_state([[1, 1, 0]], [[0.9, 0.8, 0.1]])
        self.assertAllClose(m.result(), 1.0 / 3.0)
        # Multiclass with a threshold: a true class scored at or below it is wrong,
        # even when it is the row's maximum.
        m = HammingLoss("multiclass", threshold=0.8)
        m.update_state(
            one_hot(np.array([0, 1, 2]), 3), [[0.8, 0.1, 0.1], [0.05, 0.9, 0.05], [0.5, 0.1, 0.4]]
        )
        self.assertAllClose(m.result(), 2.0 / 3.0)
        self.assertAllClose(hamming_distance([[1, 0, 1], [0, 0, 1]], [[1, 1, 1], [1, 0, 0]]), 1.5)
        # hamming_loss_fn: the per-example values the metric averages.
        scores = [[0.8, 0.1, 0.1], [0.05, 0.9, 0.05], [0.5, 0.1, 0.4]]
        self.assertAllClose(
            hamming_loss_fn(one_hot(np.array([0, 1, 2]), 3), scores, 0.8, "multiclass"), [1, 0, 1]
        )
        self.assertAllClose(
            hamming_loss_fn(one_hot(np.array([0, 1, 2]), 3), scores, None, "multiclass"), [0, 0, 1]
        )
        self.assertAllClose(
            hamming_loss_fn([[1, 0, 1]], [[0.9, 0.6, 0.2]], 0.5, "multilabel"), [2.0 / 3.0]
        )

    @rejects_bad_input(HammingLoss, hamming_distance, hamming_loss_fn)
    def test_mismatched_shapes_raise_clearly(self):
        with self.assertRaisesRegex(ValueError, r"argument `mode`.*Received: mode='binary'"):
            hamming_loss_fn([[1, 0]], [[0.2, 0.8]], 0.5, "binary")
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=1.5"):
            hamming_loss_fn([[1, 0]], [[0.2, 0.8]], 1.5, "multilabel")
        with self.assertRaisesRegex(ValueError, r"same shape.*\(1, 2\).*\(1, 3\)"):
            hamming_loss_fn([[1, 0]], [[0.2, 0.8, 0.1]], 0.5, "multilabel")
        with self.assertRaisesRegex(
            ValueError,
            r"HammingLoss expects y_true and y_pred of the same shape.*\(4, 3\).*\(3, 3\)",
        ):
            HammingLoss("multilabel", threshold=0.5).update_state(np.ones((4, 3)), np.ones((3, 3)))
        with self.assertRaisesRegex(ValueError, r"same shape.*\(4, 3\).*\(3, 3\)"):
            HammingLoss("multiclass").update_state(np.eye(3)[[0, 1, 2, 0]], np.eye(3))
        with self.assertRaisesRegex(ValueError, r"one sample weight per example"):
            HammingLoss("multiclass").update_state(np.eye(3), np.eye(3), sample_weight=np.ones(2))
        with self.assertRaisesRegex(
            ValueError, r"hamming_distance expects.*same shape.*\(4,\).*\(3,\)"
        ):
            hamming_distance(np.ones(4), np.ones(3))

    @rejects_bad_input(HammingLoss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `mode`.*Received: mode='binary'"):
            HammingLoss(mode="binary")
        with self.assertRaisesRegex(ValueError, r"argument `threshold`.*Received: threshold=2"):
            HammingLoss("multilabel", threshold=2)
        with self.assertRaisesRegex(TypeError, r"argument `threshold`.*Received: threshold='0.5'"):
            HammingLoss("multilabel", threshold="0.5")
        with self.assertRaisesRegex(ValueError, r"multilabel.*\(batch, labels\).*\(4,\)"):
            HammingLoss("multilabel", threshold=0.5).update_state(np.ones(4), np.ones(4))

    def test_serialization(self):
        for mode in ("multiclass", "multilabel"):
            with self.subTest(mode=mode):
                clone = assert_config_round_trip(self, HammingLoss(mode, threshold=0.3, name="hl"))
                self.assertEqual((clone.mode, clone.threshold), (mode, 0.3))
        x = self.rng.standard_normal((24, 5)).astype("float32")
        y = (self.rng.random((24, 3)) < 0.5).astype("float32")
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="sigmoid")])
        model.compile(
            optimizer="adam",
            loss="binary_crossentropy",
            metrics=[HammingLoss("multilabel", threshold=0.5, name="hl")],
        )
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        assert_model_round_trip(self, model, x, y)
