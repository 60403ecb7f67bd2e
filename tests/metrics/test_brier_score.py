import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import brier_score_loss

from tests.metrics.streaming import NUM_EXAMPLES, one_hot, sample_weights, scores_for, stream
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.metrics import BrierScore


def reference_brier(y_true, probabilities, sample_weight=None):
    """Weighted mean over examples of sum_c (p_c - [y == c])^2, by a naive loop."""
    p = np.asarray(probabilities, "float64")
    total = weight_sum = 0.0
    for i in range(len(p)):
        w = 1.0 if sample_weight is None else float(sample_weight[i])
        score = sum((p[i, c] - (1.0 if c == y_true[i] else 0.0)) ** 2 for c in range(p.shape[1]))
        total += w * score
        weight_sum += w
    return total / weight_sum


class BrierScoreTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_worked_example(self):
        # (0.3^2 + 0.2^2 + 0.1^2) = 0.14 and (0.1^2 + 0.3^2 + 0.4^2) = 0.26: mean 0.2.
        m = BrierScore()
        m.update_state(np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], "float32"))
        self.assertAllClose(m.result(), 0.2)

    def test_extremes(self):
        y = np.array([0, 1, 2])
        m = BrierScore()
        m.update_state(y, one_hot(y, 3))
        self.assertAllClose(m.result(), 0.0)
        m = BrierScore()
        m.update_state(y, one_hot((y + 1) % 3, 3))  # confidently wrong: 1 + 1
        self.assertAllClose(m.result(), 2.0)

    def test_multiclass_streamed_in_uneven_batches(self):
        y_true = self.rng.integers(0, 6, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 6)
        self.assertAllClose(
            stream(BrierScore(), y_true, probabilities), reference_brier(y_true, probabilities)
        )

    def test_one_hot_labels(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 4)
        dense = stream(BrierScore(), one_hot(y_true, 4), probabilities)
        self.assertAllClose(dense, reference_brier(y_true, probabilities))
        self.assertAllClose(dense, stream(BrierScore(), y_true, probabilities))

    def test_sample_weights(self):
        y_true = self.rng.integers(0, 4, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 4)
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        result = stream(BrierScore(), y_true, probabilities, sample_weight=weights)
        self.assertAllClose(result, reference_brier(y_true, probabilities, weights))

    def test_binary_one_column_matches_sklearn(self):
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        p = self.rng.random(NUM_EXAMPLES).astype("float32")
        weights = sample_weights(self.rng, NUM_EXAMPLES)
        for shape in [(NUM_EXAMPLES, 1), (NUM_EXAMPLES,)]:
            with self.subTest(shape=shape):
                result = stream(BrierScore(), y_true.reshape(shape), p.reshape(shape))
                self.assertAllClose(result, brier_score_loss(y_true, p))
                weighted = stream(
                    BrierScore(), y_true.reshape(shape), p.reshape(shape), sample_weight=weights
                )
                self.assertAllClose(weighted, brier_score_loss(y_true, p, sample_weight=weights))

    def test_binary_one_column_is_half_the_two_column_score(self):
        # With [1 - p, p] both columns miss by the same amount, so the multiclass sum doubles it.
        y_true = self.rng.integers(0, 2, NUM_EXAMPLES)
        p = self.rng.random(NUM_EXAMPLES).astype("float32")
        one = stream(BrierScore(), y_true, p)
        two = stream(BrierScore(), y_true, np.stack([1 - p, p], axis=1))
        self.assertAllClose(two, 2 * one)

    def test_reset_state(self):
        y_true = self.rng.integers(0, 3, NUM_EXAMPLES)
        probabilities = scores_for(self.rng, y_true, 3)
        m = BrierScore()
        stream(m, y_true, probabilities)
        m.reset_state()
        m.update_state(np.array([0, 2]), np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]], "float32"))
        self.assertAllClose(m.result(), 0.2)

    def test_config_round_trip(self):
        clone = assert_config_round_trip(self, BrierScore(name="brier"))
        self.assertEqual(clone.name, "brier")

    def test_model_round_trip(self):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(3, activation="softmax")])
        model.compile(loss="sparse_categorical_crossentropy", metrics=[BrierScore()])
        x = self.rng.standard_normal((30, 5)).astype("float32")
        y = self.rng.integers(0, 3, 30)
        model.fit(x, y, epochs=1, verbose=0)  # builds the optimizer, so its state round-trips too
        loaded = assert_model_round_trip(self, model, x, y)
        results = loaded.evaluate(x, y, verbose=0, return_dict=True)
        self.assertAllClose(
            results["brier_score"], reference_brier(y, loaded.predict(x, verbose=0)), atol=1e-5
        )

    def test_binary_model_in_compile(self):
        model = keras.Sequential([keras.Input((5,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(loss="binary_crossentropy", metrics=[BrierScore()])
        x = self.rng.standard_normal((30, 5)).astype("float32")
        y = self.rng.integers(0, 2, 30)
        results = model.evaluate(x, y, batch_size=7, verbose=0, return_dict=True)
        self.assertAllClose(
            results["brier_score"],
            brier_score_loss(y, model.predict(x, verbose=0)[:, 0]),
            atol=1e-6,
        )
