"""TFA's tests of WeightedKappaLoss (tensorflow_addons/losses/tests/kappa_loss_test.py,
and the doctest of losses/kappa_loss.py), ported to tfx_ext, with TFA's NumPy
reference. TFA's save test wrote HDF5 (`.h5`), a legacy format in Keras 3:
here the model is saved as `.keras` and reloaded."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.losses import WeightedKappaLoss


def weighted_kappa_loss_np(y_true, y_pred, weightage="quadratic", eps=1e-6):
    num_samples, num_classes = y_true.shape
    cat_labels = y_true.argmax(axis=1).reshape((-1, 1))
    label_mat = np.tile(cat_labels, (1, num_classes))
    row_label_vec = np.arange(num_classes).reshape((1, num_classes))
    label_mat_ = np.tile(row_label_vec, (num_samples, 1))
    weight = (
        np.abs(label_mat - label_mat_) if weightage == "linear" else (label_mat - label_mat_) ** 2
    )
    numerator = (y_pred * weight).sum()
    label_dist = y_true.sum(axis=0, keepdims=True)
    pred_dist = y_pred.sum(axis=0, keepdims=True)
    col_label_vec = row_label_vec.T
    row_mat = np.tile(row_label_vec, (num_classes, 1))
    col_mat = np.tile(col_label_vec, (1, num_classes))
    weight_ = (col_mat - row_mat) ** 2 if weightage == "quadratic" else np.abs(col_mat - row_mat)
    weighted_pred_dist = np.matmul(weight_, pred_dist.T)
    denominator = np.matmul(label_dist, weighted_pred_dist).sum()
    denominator /= num_samples
    return np.log(np.nan_to_num(numerator / denominator) + eps)


def gen_labels_and_preds(num_samples, num_classes, seed):
    np.random.seed(seed)
    rands = np.random.uniform(size=(num_samples, num_classes))
    y_true = np.eye(num_classes, dtype="int")[rands.argmax(axis=1)]
    y_pred = np.random.uniform(size=(num_samples, num_classes))
    return y_true, y_pred / y_pred.sum(axis=1, keepdims=True)


class TFAWeightedKappaLossTest(tf.test.TestCase):
    def test_linear_weighted_kappa_loss(self):
        for np_seed in (0, 1, 2, 3):
            with self.subTest(seed=np_seed):
                y_true, y_pred = gen_labels_and_preds(50, 4, np_seed)
                y_pred = y_pred.astype(np.float32)
                loss = WeightedKappaLoss(num_classes=4, weightage="linear")(y_true, y_pred)
                expected = weighted_kappa_loss_np(y_true, y_pred, weightage="linear")
                np.testing.assert_allclose(loss, expected, rtol=1e-5, atol=1e-5)

    def test_quadratic_weighted_kappa_loss(self):
        for np_seed in (0, 1, 2, 3):
            with self.subTest(seed=np_seed):
                y_true, y_pred = gen_labels_and_preds(100, 3, np_seed)
                y_pred = y_pred.astype(np.float32)
                loss = WeightedKappaLoss(num_classes=3)(y_true, y_pred)
                np.testing.assert_allclose(
                    loss, weighted_kappa_loss_np(y_true, y_pred), rtol=1e-5, atol=1e-5
                )

    def test_config(self):
        kappa_loss = WeightedKappaLoss(
            num_classes=4, weightage="linear", name="kappa_loss", epsilon=0.001
        )
        self.assertEqual(kappa_loss.num_classes, 4)
        self.assertEqual(kappa_loss.weightage, "linear")
        self.assertEqual(kappa_loss.name, "kappa_loss")
        np.testing.assert_allclose(kappa_loss.epsilon, 0.001, 1e-6)

    def test_serialization(self):
        loss = WeightedKappaLoss(num_classes=3)
        restored = keras.losses.deserialize(keras.losses.serialize(loss))
        self.assertIsInstance(restored, WeightedKappaLoss)
        self.assertEqual(restored.get_config(), loss.get_config())

    def test_save_model(self):
        model = keras.models.Sequential(
            [keras.layers.Input((4, 4, 3)), keras.layers.Dense(6, activation="softmax")]
        )
        model.compile(optimizer="adam", loss=WeightedKappaLoss(num_classes=6))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "test.keras")
            model.save(path)
            self.assertEqual(
                keras.models.load_model(path).loss.get_config(), model.loss.get_config()
            )

    def test_doctest(self):
        y_true = tf.constant([[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]])
        y_pred = tf.constant(
            [
                [0.1, 0.2, 0.6, 0.1],
                [0.1, 0.5, 0.3, 0.1],
                [0.8, 0.05, 0.05, 0.1],
                [0.01, 0.09, 0.1, 0.8],
            ]
        )
        np.testing.assert_allclose(
            WeightedKappaLoss(num_classes=4)(y_true, y_pred), -1.1611925, rtol=1e-6
        )
