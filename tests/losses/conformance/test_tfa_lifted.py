"""TFA's tests of LiftedStructLoss (tensorflow_addons/losses/tests/lifted_test.py),
ported to tfx_ext, with TFA's loop-by-loop NumPy reference."""

import keras
import ml_dtypes
import numpy as np
import pytest
import tensorflow as tf

from tests.losses.conformance.tfa_tolerance import assert_allclose_according_to_type
from tfx_ext.losses import LiftedStructLoss, lifted_struct_loss


def pairwise_distance_np(feature, squared=False):
    triu = np.triu_indices(feature.shape[0], 1)
    upper_tri_pdists = np.linalg.norm(feature[triu[1]] - feature[triu[0]], axis=1)
    if squared:
        upper_tri_pdists **= 2.0
    num_data = feature.shape[0]
    pairwise_distances = np.zeros((num_data, num_data))
    pairwise_distances[np.triu_indices(num_data, 1)] = upper_tri_pdists
    return pairwise_distances + pairwise_distances.T - np.diag(pairwise_distances.diagonal())


def lifted_struct_loss_np(labels, embedding, margin):
    num_data = embedding.shape[0]
    labels_reshaped = np.reshape(labels, (labels.shape[0], 1))
    adjacency = np.equal(labels_reshaped, labels_reshaped.T)
    pdist_matrix = pairwise_distance_np(embedding)
    loss_np = 0.0
    num_constraints = 0.0
    for i in range(num_data):
        for j in range(num_data):
            if adjacency[i][j] > 0.0 and i != j:
                d_pos = pdist_matrix[i][j]
                negs = []
                for k in range(num_data):
                    if not adjacency[i][k]:
                        negs.append(margin - pdist_matrix[i][k])
                for m in range(num_data):
                    if not adjacency[j][m]:
                        negs.append(margin - pdist_matrix[j][m])
                negs = np.array(negs)
                max_elem = np.max(negs)
                negs = np.exp(negs - max_elem)
                soft_maximum = np.log(np.sum(negs)) + max_elem
                num_constraints += 1.0
                this_loss = max(soft_maximum + d_pos, 0)
                loss_np += this_loss * this_loss
    return loss_np / num_constraints / 2.0


class TFALiftedStructTest(tf.test.TestCase):
    def test_lifted_struct(self):
        rng = np.random.RandomState(0)
        for dtype in (np.float32, np.float16, ml_dtypes.bfloat16):
            with self.subTest(dtype=np.dtype(dtype).name):
                embedding = rng.rand(10, 6).astype(np.float32)
                labels = rng.randint(0, 4, size=10).astype(np.float32)
                loss_np = lifted_struct_loss_np(labels, embedding, 1.0)
                loss = LiftedStructLoss()(tf.constant(labels), tf.constant(embedding, dtype=dtype))
                # Keras 3's loss object returns float32; the inputs' precision sets the tolerance.
                assert_allclose_according_to_type(np.asarray(loss), loss_np, input_dtype=dtype)

    @pytest.mark.tf_only(
        "cost: a fit of a 784-input model; the loss's JAX path is covered by test_lifted_struct"
    )
    def test_keras_model_compile(self):
        model = keras.models.Sequential([keras.layers.Input(shape=(784,)), keras.layers.Dense(10)])
        # Keras 3's `losses.get` resolves no registered string names (TFA
        # compiled with "Addons>lifted_struct_loss"): the name finds the function,
        # which compiles and trains.
        loss = keras.saving.get_registered_object("tfx_ext>lifted_struct_loss")
        self.assertIs(loss, lifted_struct_loss)
        model.compile(loss=loss, optimizer="adam", jit_compile=False)
        rng = np.random.default_rng(0)
        history = model.fit(rng.random((8, 784)), np.repeat([0, 1], 4), epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))

    def test_serialization(self):
        loss = LiftedStructLoss()
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        self.assertEqual(restored.get_config(), loss.get_config())
