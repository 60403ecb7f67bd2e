"""TFA's tests of ContrastiveLoss (tensorflow_addons/losses/tests/contrastive_test.py, and
the doctests of losses/contrastive.py), ported to tfx_ext. Keras 3 spells the
reductions "sum" and None (TFA: Reduction.SUM, Reduction.NONE)."""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.losses import ContrastiveLoss, contrastive_loss

Y_TRUE = tf.constant([0, 0, 1, 1, 0, 1], dtype=tf.int64)
Y_PRED = tf.constant([0.1, 0.3, 1.3, 0.7, 1.1, 0.5], dtype=tf.float32)


class TFAContrastiveTest(tf.test.TestCase):
    def test_config(self):
        cl_obj = ContrastiveLoss(reduction="sum", name="cl")
        self.assertEqual(cl_obj.name, "cl")
        self.assertEqual(cl_obj.reduction, "sum")

    def test_zero_loss(self):
        y_pred = tf.constant([1.0, 1.0, 0.0, 0.0, 1.0, 0.0], dtype=tf.float32)
        np.testing.assert_allclose(ContrastiveLoss()(Y_TRUE, y_pred), 0.0)

    def test_unweighted(self):
        np.testing.assert_allclose(
            ContrastiveLoss()(Y_TRUE, Y_PRED), 0.621666, atol=1e-6, rtol=1e-6
        )

    def test_sample_weighted(self):
        sample_weight = tf.constant([1.2, 0.8, 0.5, 0.4, 1.5, 1.0], dtype=tf.float32)
        np.testing.assert_allclose(
            ContrastiveLoss()(Y_TRUE, Y_PRED, sample_weight=sample_weight), 0.4425
        )

    def test_non_default_margin(self):
        np.testing.assert_allclose(
            ContrastiveLoss(margin=2.0)(Y_TRUE, Y_PRED), 1.623333, atol=1e-6, rtol=1e-6
        )

    def test_scalar_weighted(self):
        np.testing.assert_allclose(
            ContrastiveLoss()(Y_TRUE, Y_PRED, sample_weight=6.0), 3.73, atol=1e-6, rtol=1e-6
        )

    def test_zero_weighted(self):
        np.testing.assert_allclose(ContrastiveLoss()(Y_TRUE, Y_PRED, sample_weight=0.0), 0.0)

    def test_no_reduction(self):
        loss = ContrastiveLoss(reduction=None)(Y_TRUE, Y_PRED)
        np.testing.assert_allclose(loss, [0.81, 0.49, 1.69, 0.49, 0.0, 0.25], rtol=1e-5)

    def test_sum_reduction(self):
        np.testing.assert_allclose(ContrastiveLoss(reduction="sum")(Y_TRUE, Y_PRED), 3.73)

    def test_doctests(self):
        a = tf.constant([[1, 2], [3, 4], [5, 6]], dtype=tf.float16)
        b = tf.constant([[5, 9], [3, 6], [1, 8]], dtype=tf.float16)
        y_pred = keras.ops.norm(a - b, axis=1)
        self.assertEqual(y_pred.dtype, tf.float16)
        np.testing.assert_allclose(np.asarray(y_pred, "float32"), [8.06, 2.0, 4.473], rtol=1e-3)
        # The function form on those distances: y * d**2 + (1 - y) * max(1 - d, 0)**2.
        np.testing.assert_allclose(contrastive_loss([0, 1, 0], y_pred), [0.0, 4.0, 0.0], rtol=1e-3)
