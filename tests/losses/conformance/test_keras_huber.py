"""Keras's tests of `keras.losses.Huber` (keras/src/losses/losses_test.py,
HuberLossTest, Keras 3.15), ported to `tfx_ext.losses.HuberLoss`.

HuberLoss has no TFA peer; Keras's Huber is the same math with
`delta == threshold`, so its cases are the reference. The one deliberate
difference: `get_config` also holds `threshold` and `dtype` (Keras's holds
only `name` and `reduction`, which is the bug HuberLoss exists for).
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.losses import HuberLoss

Y_PRED = np.array([[0.9, 0.2, 0.2], [0.8, 0.4, 0.6]])
Y_TRUE = np.array([[1.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
BATCH_SIZE = 6


def elementwise_huber(y_true, y_pred, delta=1.0):
    # Keras's reference: quadratic up to delta, linear beyond.
    abs_error = np.abs(y_pred - y_true)
    quadratic = np.minimum(abs_error, delta)
    return 0.5 * quadratic**2 + delta * (abs_error - quadratic)


class KerasHuberConformanceTest(tf.test.TestCase):
    def test_config(self):
        h_obj = HuberLoss(reduction="sum", name="huber")
        self.assertEqual(h_obj.name, "huber")
        self.assertEqual(h_obj.reduction, "sum")
        self.assertEqual(
            h_obj.get_config(),
            {"name": "huber", "reduction": "sum", "threshold": 1.0, "dtype": "float32"},
        )

    def test_all_correct(self):
        self.assertAlmostEqual(float(HuberLoss()(Y_TRUE, Y_TRUE)), 0.0, 3)

    def test_unweighted(self):
        expected = np.sum(elementwise_huber(Y_TRUE, Y_PRED)) / BATCH_SIZE
        self.assertAlmostEqual(float(HuberLoss()(Y_TRUE, Y_PRED)), expected, 3)

    def test_scalar_weighted(self):
        h_obj = HuberLoss()
        expected = 2.3 * np.sum(elementwise_huber(Y_TRUE, Y_PRED)) / BATCH_SIZE
        loss = h_obj(Y_TRUE, Y_PRED, sample_weight=2.3)
        self.assertAlmostEqual(float(loss), expected, 3)
        self.assertAlmostEqual(float(h_obj(Y_TRUE, Y_PRED, sample_weight=2.3)), float(loss), 3)

    def test_sample_weighted(self):
        sample_weight = np.array([[1.2], [3.4]])
        weights = np.asarray([1.2, 1.2, 1.2, 3.4, 3.4, 3.4]).reshape((2, 3))
        expected = np.sum(elementwise_huber(Y_TRUE, Y_PRED) * weights) / BATCH_SIZE
        self.assertAlmostEqual(
            float(HuberLoss()(Y_TRUE, Y_PRED, sample_weight=sample_weight)), expected, 3
        )

    def test_timestep_weighted(self):
        y_pred = Y_PRED.reshape((2, 3, 1))
        y_true = Y_TRUE.reshape((2, 3, 1))
        sample_weight = np.array([3, 6, 5, 0, 4, 2]).reshape((2, 3, 1))
        expected = np.sum(elementwise_huber(y_true, y_pred) * sample_weight) / BATCH_SIZE
        self.assertAlmostEqual(
            float(HuberLoss()(y_true, y_pred, sample_weight=sample_weight)), expected, 3
        )

    def test_zero_weighted(self):
        self.assertAlmostEqual(float(HuberLoss()(Y_TRUE, Y_PRED, sample_weight=0)), 0.0, 3)

    def test_non_default_delta(self):
        expected = 2.3 * np.sum(elementwise_huber(Y_TRUE, Y_PRED, 0.8)) / BATCH_SIZE
        self.assertAlmostEqual(
            float(HuberLoss(0.8)(Y_TRUE, Y_PRED, sample_weight=2.3)), expected, 3
        )

    def test_dtype_arg(self):
        loss = HuberLoss(dtype="bfloat16")(Y_TRUE, Y_PRED)
        self.assertEqual(keras.backend.standardize_dtype(loss.dtype), "bfloat16")

    def test_same_values_as_keras_huber(self):
        for delta in (0.1, 0.8, 1.0):
            for reduction in ("sum_over_batch_size", "sum", None):
                self.assertAllClose(
                    HuberLoss(delta, reduction=reduction)(Y_TRUE, Y_PRED),
                    keras.losses.Huber(delta, reduction=reduction)(Y_TRUE, Y_PRED),
                )
