import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import TripletSemiHardLoss, triplet_semihard_loss

METRICS = ("L2", "squared-L2", "angular")


def reference_distances(embeddings, metric):
    embeddings = np.asarray(embeddings, "float64")
    n = len(embeddings)
    distances = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            a, b = embeddings[i], embeddings[j]
            if metric == "L2":
                distances[i, j] = np.sqrt(np.sum((a - b) ** 2))
            elif metric == "squared-L2":
                distances[i, j] = np.sum((a - b) ** 2)
            else:  # angular: 1 - cosine similarity
                distances[i, j] = 1.0 - a @ b / (np.linalg.norm(a) * np.linalg.norm(b))
    return distances


def reference_triplet(labels, embeddings, margin=1.0, metric="L2", stats=None):
    """Semi-hard triplet loss, one (anchor, positive) pair at a time.

    For each anchor `a` and positive `p != a` of the same label, the negative distance
    is the smallest d(a, n) greater than d(a, p) over negatives `n` (different label),
    or the largest d(a, n) when no negative is that far. The loss is the mean of
    max(d(a, p) - d_neg + margin, 0) over all pairs; an anchor without any negative takes
    the smallest distance of its row (0) as d_neg, as TFA does; 0 if there is no pair.
    `stats`, a dict, receives how many pairs took each branch.
    """
    labels = np.asarray(labels).reshape(-1)
    d = reference_distances(embeddings, metric)
    n = len(labels)
    hinges = []
    counts = {"semi_hard": 0, "farthest": 0}
    for a in range(n):
        negatives = [k for k in range(n) if labels[k] != labels[a]]
        for p in range(n):
            if p == a or labels[p] != labels[a]:
                continue
            if not negatives:
                hinges.append(max(d[a, p] - d[a].min() + margin, 0.0))
                continue
            farther = [d[a, k] for k in negatives if d[a, k] > d[a, p]]
            if farther:
                d_neg = min(farther)
                counts["semi_hard"] += 1
            else:
                d_neg = max(d[a, k] for k in negatives)
                counts["farthest"] += 1
            hinges.append(max(d[a, p] - d_neg + margin, 0.0))
    if stats is not None:
        stats.update(counts)
    return float(np.mean(hinges)) if hinges else 0.0


def nearest_neighbour_accuracy(train_embeddings, train_labels, test_embeddings, test_labels):
    from sklearn.neighbors import KNeighborsClassifier

    knn = KNeighborsClassifier(n_neighbors=1).fit(train_embeddings, train_labels)
    return knn.score(test_embeddings, test_labels)


class TripletSemiHardLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def batch(self, n=16, dim=5, classes=4):
        labels = np.repeat(np.arange(classes), n // classes)
        self.rng.shuffle(labels)
        return labels.astype("int32"), self.rng.standard_normal((n, dim)).astype("float32")

    def test_worked_example(self):
        # 1-D embeddings 0, 1 (class 0) and 1.5, 4 (class 1); margin 1.
        labels = np.array([0, 0, 1, 1])
        embeddings = np.array([[0.0], [1.0], [1.5], [4.0]])
        # L2 pairs: (0,1): semi-hard 1.5 -> 0.5; (1,0): semi-hard 3 -> 0;
        # (2,3): no negative beyond 2.5, farthest 1.5 -> 2; (3,2): semi-hard 3 -> 0.5.
        self.assertAllClose(TripletSemiHardLoss(margin=1.0)(labels, embeddings), 0.75)
        # Squared: (0,1): 1 - 2.25 + 1 < 0; (1,0): 1 - 9 + 1 < 0;
        # (2,3): 6.25 - 2.25 + 1 = 5; (3,2): 6.25 - 9 + 1 < 0.
        self.assertAllClose(
            TripletSemiHardLoss(1.0, distance_metric="squared-L2")(labels, embeddings), 1.25
        )

    def test_matches_reference(self):
        margins = {"L2": (0.0, 0.5, 2.0), "squared-L2": (0.0, 1.0, 5.0), "angular": (0.0, 0.2, 0.8)}
        for metric in METRICS:
            labels, embeddings = self.batch()
            for margin in margins[metric]:
                with self.subTest(metric=metric, margin=margin):
                    stats = {}
                    expected = reference_triplet(labels, embeddings, margin, metric, stats)
                    # Both mining branches occur in this batch.
                    self.assertGreater(stats["semi_hard"], 0)
                    self.assertGreater(stats["farthest"], 0)
                    loss = TripletSemiHardLoss(margin=margin, distance_metric=metric)
                    self.assertAllClose(loss(labels, embeddings), expected, rtol=1e-5, atol=1e-5)
                    self.assertAllClose(
                        triplet_semihard_loss(labels, embeddings.astype("float64"), margin, metric),
                        expected,
                    )
        self.assertGreater(expected, 0.0)

    def test_unbalanced_batch_and_label_formats(self):
        labels = np.array([3, 3, 3, 3, 3, 7, 7, 1, 9, 1])  # 9 is alone: an anchor with no positive
        embeddings = self.rng.standard_normal((10, 4)).astype("float32")
        expected = reference_triplet(labels, embeddings, 0.5)
        loss = TripletSemiHardLoss(margin=0.5)
        self.assertAllClose(loss(labels, embeddings), expected, rtol=1e-5)
        self.assertAllClose(loss(labels[:, None], embeddings), expected, rtol=1e-5)
        self.assertAllClose(loss(labels.astype("float32"), embeddings), expected, rtol=1e-5)

    def test_anchor_without_negative_and_no_pair(self):
        embeddings = self.rng.standard_normal((6, 3)).astype("float32")
        loss = TripletSemiHardLoss()
        # One class only: no anchor has a negative; TFA takes 0 as the negative distance.
        distances = reference_distances(embeddings, "L2")
        expected = np.sum(distances + 1.0 - 1.0 * np.eye(6)) / 30
        self.assertAllClose(loss(np.zeros(6, "int32"), embeddings), expected, rtol=1e-5)
        self.assertAllClose(reference_triplet(np.zeros(6), embeddings), expected)
        # All labels distinct: no positive pair (TFA divides by zero: NaN).
        self.assertAllClose(loss(np.arange(6), embeddings), 0.0)

    def test_well_separated_embeddings_have_zero_loss(self):
        labels = np.repeat([0, 1, 2], 4)
        centres = 10.0 * np.eye(3)
        embeddings = centres[labels] + 0.01 * self.rng.standard_normal((12, 3))
        for metric in METRICS:
            with self.subTest(metric=metric):
                self.assertAllClose(
                    TripletSemiHardLoss(0.5, distance_metric=metric)(labels, embeddings), 0.0
                )

    def test_compiled_model_evaluate_matches_reference(self):
        labels, _ = self.batch(n=32)
        x = self.rng.standard_normal((32, 6)).astype("float32")
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
        model.compile(optimizer="adam", loss=TripletSemiHardLoss(margin=0.5))
        loss = model.evaluate(x, labels, batch_size=32, verbose=0)
        embeddings = model.predict(x, verbose=0)
        self.assertAllClose(loss, reference_triplet(labels, embeddings, 0.5), rtol=1e-5)

    def test_learns_digit_embeddings(self):
        x_train, y_train, x_test, y_test = digits()
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(8),
                keras.layers.UnitNormalization(),
            ]
        )
        model.compile(optimizer=keras.optimizers.Adam(3e-3), loss=TripletSemiHardLoss(margin=0.5))

        def accuracy():
            return nearest_neighbour_accuracy(
                model.predict(x_train, batch_size=512, verbose=0),
                y_train,
                model.predict(x_test, batch_size=512, verbose=0),
                y_test,
            )

        accuracy_before = accuracy()
        loss_before = model.evaluate(x_train, y_train, batch_size=256, verbose=0)
        model.fit(x_train, y_train, batch_size=128, epochs=6, verbose=0)
        loss_after = model.evaluate(x_train, y_train, batch_size=256, verbose=0)
        accuracy_after = accuracy()
        self.assertLess(loss_after, 0.5 * loss_before)
        self.assertGreater(accuracy_after, 0.9)
        self.assertGreater(accuracy_after, accuracy_before + 0.15)

    def test_gradients(self):
        labels = np.array([0, 0, 0, 1, 1, 1, 2, 2], "float64")
        embeddings = self.rng.standard_normal((8, 3))  # distinct: no ties between distances
        for metric in METRICS:
            with self.subTest(metric=metric):
                loss = TripletSemiHardLoss(margin=1.0, distance_metric=metric, dtype="float64")
                self.assertGreater(
                    float(loss(labels, embeddings)), 0.0
                )  # the gradient is not trivially 0
                assert_gradients_match(self, lambda e: loss(labels, e), embeddings)

    @rejects_bad_input(TripletSemiHardLoss, triplet_semihard_loss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `margin`.*>= 0.*Received: margin=-0.1"):
            TripletSemiHardLoss(margin=-0.1)
        with self.assertRaisesRegex(TypeError, r"argument `margin`.*Received: margin='1'"):
            TripletSemiHardLoss(margin="1")
        with self.assertRaisesRegex(
            ValueError, r"argument `distance_metric`.*'L2'.*Received: distance_metric='cosine'"
        ):
            TripletSemiHardLoss(distance_metric="cosine")
        with self.assertRaisesRegex(ValueError, r"\(batch, dim\).*\(2, 3, 4\)"):
            TripletSemiHardLoss()(np.zeros(2), np.zeros((2, 3, 4)))
        self.assertEqual(TripletSemiHardLoss(margin=0).margin, 0.0)  # a zero margin is allowed
        # The function refuses what the class refuses (it used to fall back to squared L2).
        with self.assertRaisesRegex(
            ValueError, r"argument `distance_metric`.*Received: distance_metric='l2'"
        ):
            triplet_semihard_loss([0, 1], [[0.0, 1.0], [1.0, 0.0]], distance_metric="l2")
        with self.assertRaisesRegex(
            TypeError, r"argument `distance_metric`.*Received: distance_metric=2"
        ):
            triplet_semihard_loss([0, 1], [[0.0, 1.0], [1.0, 0.0]], distance_metric=2)
        with self.assertRaisesRegex(ValueError, r"one label per embedding.*4 labels.*3 rows"):
            triplet_semihard_loss(np.zeros(4), np.zeros((3, 2)))
        with self.assertRaisesRegex(ValueError, r"`y_true`.*\(batch,\) or \(batch, 1\).*\(3, 2\)"):
            TripletSemiHardLoss()(np.zeros((3, 2)), np.zeros((3, 2)))

    def test_serialization(self):
        for metric in METRICS:
            with self.subTest(metric=metric):
                clone = assert_config_round_trip(
                    self, TripletSemiHardLoss(margin=0.3, distance_metric=metric, name="triplet")
                )
                self.assertEqual((clone.margin, clone.distance_metric), (0.3, metric))
        labels, _ = self.batch(n=24)
        x = self.rng.standard_normal((24, 6)).astype("float32")
        model = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
        model.compile(
            optimizer="adam", loss=TripletSemiHardLoss(margin=0.3, distance_metric="angular")
        )
        model.fit(x, labels, epochs=1, batch_size=8, verbose=0)
        loaded = assert_model_round_trip(self, model, x, labels)
        self.assertEqual(loaded.loss.distance_metric, "angular")
