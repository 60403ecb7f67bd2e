"""TFA's tests of the triplet losses (tensorflow_addons/losses/tests/triplet_test.py, and
the doctests of losses/triplet.py), ported to tfx_ext: same NumPy references,
inputs and tolerances.

TFA parametrizes over float32/float16/bfloat16 embeddings and takes its
tolerance from the loss's dtype, which for TFA is the input's. A Keras 3
`Loss` object computes in its own dtype (float32): the class cases use the
tolerance of the input's precision; the function forms return the input's
dtype, as TFA's do. Keras 3's `compile` does not resolve a registered name
given as a string (TFA: loss="Addons>triplet_semihard_loss"): the test looks
the name up in Keras's registry and compiles with the function.
"""

import keras
import ml_dtypes
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.losses.conformance.tfa_tolerance import assert_allclose_according_to_type
from tfx_ext.losses import (
    TripletHardLoss,
    TripletSemiHardLoss,
    triplet_hard_loss,
    triplet_semihard_loss,
)

DTYPES = ("float32", "float16", ml_dtypes.bfloat16)


def pairwise_distance_np(feature, squared=False):
    triu = np.triu_indices(feature.shape[0], 1)
    upper_tri_pdists = np.linalg.norm(feature[triu[1]] - feature[triu[0]], axis=1)
    if squared:
        upper_tri_pdists **= 2.0
    num_data = feature.shape[0]
    pairwise_distances = np.zeros((num_data, num_data))
    pairwise_distances[np.triu_indices(num_data, 1)] = upper_tri_pdists
    return pairwise_distances + pairwise_distances.T - np.diag(pairwise_distances.diagonal())


def squared_l_2_dists(embs):
    return pairwise_distance_np(embs, True)


def l_2_dists(embs):
    return pairwise_distance_np(embs, False)


def angular_distance_np(feature):
    normed = feature / np.linalg.norm(feature, ord=2, axis=1, keepdims=True)
    return 1 - normed @ normed.T


METRICS = ((angular_distance_np, "angular"), (squared_l_2_dists, "squared-L2"), (l_2_dists, "L2"))


def triplet_semihard_loss_np(labels, embedding, margin, dist_func):
    num_data = embedding.shape[0]
    labels_reshaped = np.reshape(labels.astype(np.float32), (labels.shape[0], 1))
    adjacency = np.equal(labels_reshaped, labels_reshaped.T)
    pdist_matrix = dist_func(embedding)
    loss_np = 0.0
    num_positives = 0.0
    for i in range(num_data):
        for j in range(num_data):
            if adjacency[i][j] > 0.0 and i != j:
                num_positives += 1.0
                pos_distance = pdist_matrix[i][j]
                neg_distances = sorted(
                    pdist_matrix[i][k] for k in range(num_data) if adjacency[i][k] == 0
                )
                chosen_neg_distance = neg_distances[0]
                for m in range(len(neg_distances)):
                    chosen_neg_distance = neg_distances[m]
                    if chosen_neg_distance > pos_distance:
                        break
                loss_np += np.maximum(0.0, margin - chosen_neg_distance + pos_distance)
    return loss_np / num_positives


def triplet_hard_loss_np(labels, embedding, margin, dist_func, soft=False):
    num_data = embedding.shape[0]
    labels_reshaped = np.reshape(labels.astype(np.float32), (labels.shape[0], 1))
    adjacency = np.equal(labels_reshaped, labels_reshaped.T)
    pdist_matrix = dist_func(embedding)
    loss_np = 0.0
    for i in range(num_data):
        pos_distances = [
            pdist_matrix[i][j] for j in range(num_data) if adjacency[i][j] > 0.0 and i != j
        ]
        neg_distances = [pdist_matrix[i][j] for j in range(num_data) if adjacency[i][j] == 0]
        if not pos_distances:
            pos_distances.append(0)
        min_neg_distance = min(neg_distances)
        max_pos_distance = max(pos_distances)
        if soft:
            loss_np += np.log1p(np.exp(max_pos_distance - min_neg_distance))
        else:
            loss_np += np.maximum(0.0, max_pos_distance - min_neg_distance + margin)
    return loss_np / num_data


class TFATripletTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_semihard_tripled_loss_angular(self):
        for dtype in DTYPES:
            for dist_func, dist_metric in METRICS:
                with self.subTest(dtype=np.dtype(dtype).name, metric=dist_metric):
                    embedding = np.random.rand(10, 6).astype(np.float32)
                    labels = np.random.randint(0, 4, size=(10))
                    loss_np = triplet_semihard_loss_np(labels, embedding, 1.0, dist_func)
                    y_true = tf.constant(labels)
                    y_pred = tf.constant(embedding, dtype=tf.as_dtype(dtype))
                    loss = TripletSemiHardLoss(distance_metric=dist_metric)(y_true, y_pred)
                    assert_allclose_according_to_type(loss, loss_np, input_dtype=dtype)
                    loss = triplet_semihard_loss(y_true, y_pred, distance_metric=dist_metric)
                    self.assertEqual(loss.dtype, y_pred.dtype)
                    assert_allclose_according_to_type(loss, loss_np)

    def test_keras_model_compile_semihard(self):
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])
        # Keras 3's compile does not resolve registered names given as strings
        # (TFA: loss="Addons>triplet_semihard_loss"); the registry does.
        loss = keras.saving.get_registered_object("tfx_ext>triplet_semihard_loss")
        self.assertIs(loss, triplet_semihard_loss)
        model.compile(loss=loss, optimizer="adam")
        x, y = np.random.rand(8, 784).astype("float32"), np.array([0, 0, 1, 1, 2, 2, 3, 3])
        self.assertAllClose(
            model.evaluate(x, y, verbose=0),
            triplet_semihard_loss_np(y, model.predict(x, verbose=0), 1.0, l_2_dists),
            rtol=1e-5,
            atol=1e-5,
        )

    def test_serialization_semihard(self):
        loss = TripletSemiHardLoss()
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        self.assertEqual(restored.get_config(), loss.get_config())

    def test_hard_tripled_loss_angular(self):
        for dtype in DTYPES:
            for soft in (False, True):
                for dist_func, dist_metric in METRICS:
                    with self.subTest(dtype=np.dtype(dtype).name, soft=soft, metric=dist_metric):
                        embedding = np.random.rand(20, 6).astype(np.float32)
                        labels = np.random.randint(0, 4, size=(20))
                        loss_np = triplet_hard_loss_np(labels, embedding, 1.0, dist_func, soft)
                        y_true = tf.constant(labels)
                        y_pred = tf.constant(embedding, dtype=tf.as_dtype(dtype))
                        loss = TripletHardLoss(soft=soft, distance_metric=dist_metric)(
                            y_true, y_pred
                        )
                        assert_allclose_according_to_type(loss, loss_np, input_dtype=dtype)
                        loss = triplet_hard_loss(
                            y_true, y_pred, soft=soft, distance_metric=dist_metric
                        )
                        self.assertEqual(loss.dtype, y_pred.dtype)
                        assert_allclose_according_to_type(loss, loss_np)

    def test_keras_model_compile_hard(self):
        model = keras.Sequential([keras.Input(shape=(784,)), keras.layers.Dense(10)])
        # Keras 3's compile does not resolve registered names given as strings
        # (TFA: loss="Addons>triplet_hard_loss"); the registry does.
        loss = keras.saving.get_registered_object("tfx_ext>triplet_hard_loss")
        self.assertIs(loss, triplet_hard_loss)
        model.compile(loss=loss, optimizer="adam")
        x, y = np.random.rand(8, 784).astype("float32"), np.array([0, 0, 1, 1, 2, 2, 3, 3])
        self.assertAllClose(
            model.evaluate(x, y, verbose=0),
            triplet_hard_loss_np(y, model.predict(x, verbose=0), 1.0, l_2_dists),
            rtol=1e-5,
            atol=1e-5,
        )

    def test_serialization_hard(self):
        loss = TripletHardLoss()
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        self.assertEqual(restored.get_config(), loss.get_config())

    def test_doctests(self):
        y_true = tf.convert_to_tensor([0, 0])
        y_pred = tf.convert_to_tensor([[0.0, 1.0], [1.0, 0.0]])
        distance_metric = lambda x: tf.linalg.matmul(x, x, transpose_b=True)  # noqa: E731
        self.assertAllClose(triplet_semihard_loss(y_true, y_pred, distance_metric="L2"), 2.4142137)
        self.assertAllClose(
            triplet_semihard_loss(y_true, y_pred, distance_metric=distance_metric), 1.0
        )
        self.assertAllClose(triplet_hard_loss(y_true, y_pred, distance_metric="L2"), 1.0)
        self.assertAllClose(triplet_hard_loss(y_true, y_pred, distance_metric=distance_metric), 0.0)

    @rejects_bad_input(TripletHardLoss, triplet_hard_loss)
    def test_bad_arguments(self):
        # Not in TFA (its typeguard refuses wrong types); a typo is refused too.
        with self.assertRaisesRegex(
            ValueError, r"argument `distance_metric`.*Received: distance_metric='cosine'"
        ):
            TripletHardLoss(distance_metric="cosine")
        with self.assertRaisesRegex(
            ValueError, r"argument `distance_metric`.*Received: distance_metric='l2'"
        ):
            triplet_hard_loss([0, 1], [[0.0, 1.0], [1.0, 0.0]], distance_metric="l2")
        with self.assertRaisesRegex(TypeError, r"argument `soft`.*bool.*Received: soft=1"):
            TripletHardLoss(soft=1)
        with self.assertRaisesRegex(ValueError, r"argument `margin`.*Received: margin=-1"):
            TripletHardLoss(margin=-1)
        with self.assertRaisesRegex(ValueError, r"one label per embedding.*4 labels.*3 rows"):
            triplet_hard_loss(np.zeros(4), np.zeros((3, 2)))
