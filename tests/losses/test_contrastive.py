import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import ContrastiveLoss, contrastive_loss


def reference_contrastive(y_true, distance, margin=1.0):
    """y * d**2 + (1 - y) * max(margin - d, 0)**2, elementwise."""
    y = np.asarray(y_true, "float64")
    d = np.asarray(distance, "float64")
    return y * d**2 + (1.0 - y) * np.maximum(margin - d, 0.0) ** 2


class ContrastiveLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def pairs(self, n=40):
        labels = self.rng.integers(0, 2, n).astype("float32")
        distances = self.rng.uniform(0.0, 2.0, n).astype("float32")
        return labels, distances

    def test_worked_example(self):
        # Similar pair at distance 0.5: 0.25. Dissimilar pairs at 0.2 and 1.5 (margin 1):
        # (1 - 0.2)**2 = 0.64 and 0 (already beyond the margin).
        loss = ContrastiveLoss(margin=1.0, reduction=None)
        self.assertAllClose(loss(np.array([1, 0, 0]), np.array([0.5, 0.2, 1.5])), [0.25, 0.64, 0.0])
        self.assertAllClose(
            ContrastiveLoss()(np.array([1, 0, 0]), np.array([0.5, 0.2, 1.5])), (0.25 + 0.64) / 3
        )

    def test_matches_reference(self):
        labels, distances = self.pairs()
        for margin in (0.5, 1.0, 2.5):
            with self.subTest(margin=margin):
                expected = reference_contrastive(labels, distances, margin)
                self.assertAllClose(
                    ContrastiveLoss(margin, reduction=None)(labels, distances), expected
                )
                self.assertAllClose(ContrastiveLoss(margin)(labels, distances), expected.mean())
                self.assertAllClose(contrastive_loss(labels, distances, margin), expected)

    def test_label_and_distance_shapes(self):
        labels, distances = self.pairs()
        expected = reference_contrastive(labels, distances)
        loss = ContrastiveLoss(reduction=None)
        self.assertAllClose(np.reshape(loss(labels[:, None], distances), -1), expected)
        self.assertAllClose(np.reshape(loss(labels, distances[:, None]), -1), expected)
        self.assertAllClose(
            np.reshape(loss(labels.astype("int32"), distances[:, None]), -1), expected
        )

    def test_sample_weight(self):
        labels, distances = self.pairs()
        weights = self.rng.uniform(0.0, 2.0, len(labels))
        expected = np.sum(weights * reference_contrastive(labels, distances, 1.5)) / len(labels)
        self.assertAllClose(
            ContrastiveLoss(1.5)(labels, distances, sample_weight=weights), expected
        )

    def test_compiled_model_evaluate_matches_reference(self):
        # A model whose (non-negative) output plays the distance between a pair.
        x = self.rng.standard_normal((101, 4)).astype("float32")
        y = (x[:, 0] > 0).astype("float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="softplus")])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss=ContrastiveLoss(margin=1.0))
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        loss = model.evaluate(x, y, batch_size=13, verbose=0)
        distances = model.predict(x, batch_size=13, verbose=0)[:, 0]
        self.assertAllClose(loss, reference_contrastive(y, distances).mean(), rtol=1e-5)

    def test_gradients(self):
        labels = np.array([1, 0, 1, 0, 0, 1], "float64")
        distances = np.array(
            [0.3, 0.4, 1.7, 0.8, 1.6, 0.05]
        )  # dissimilar on both sides of the margin
        loss = ContrastiveLoss(margin=1.0, dtype="float64")
        assert_gradients_match(self, lambda d: loss(labels, d), distances)
        assert_gradients_match(self, lambda d: contrastive_loss(labels, d, 1.2), distances)

    @rejects_bad_input(ContrastiveLoss, contrastive_loss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `margin`.*> 0.*Received: margin=0"):
            ContrastiveLoss(margin=0)
        with self.assertRaisesRegex(ValueError, r"argument `margin`.*Received: margin=-1.0"):
            ContrastiveLoss(margin=-1.0)
        with self.assertRaisesRegex(TypeError, r"argument `margin`.*Received: margin=None"):
            ContrastiveLoss(margin=None)
        # Shape mismatches: a clear message instead of TensorFlow's "Incompatible shapes".
        with self.assertRaisesRegex(
            ValueError, r"one label per distance.*y_true.shape=\(4,\), y_pred.shape=\(3,\)"
        ):
            ContrastiveLoss()(np.zeros(4), np.zeros(3))
        with self.assertRaisesRegex(ValueError, r"one label per distance.*\(4, 3\).*\(3, 3\)"):
            contrastive_loss(np.zeros((4, 3)), np.zeros((3, 3)))

    def test_serialization(self):
        clone = assert_config_round_trip(self, ContrastiveLoss(margin=0.75, name="contrastive"))
        self.assertEqual(clone.margin, 0.75)
        x = self.rng.standard_normal((24, 4)).astype("float32")
        y = self.rng.integers(0, 2, 24).astype("float32")
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="softplus")])
        model.compile(optimizer="adam", loss=ContrastiveLoss(margin=0.75))
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        loaded = assert_model_round_trip(self, model, x, y)
        self.assertEqual(loaded.loss.margin, 0.75)
