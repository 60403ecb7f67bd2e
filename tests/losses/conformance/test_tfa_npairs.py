"""TFA's tests of NpairsLoss and NpairsMultilabelLoss
(tensorflow_addons/losses/tests/npairs_test.py), ported to tfx_ext. TFA's
`config` check of NpairsMultilabelLoss lacked the `test_` prefix and never
ran; it runs here. Keras 3 spells the reduction None (TFA: Reduction.NONE)."""

import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.losses import NpairsLoss, NpairsMultilabelLoss

# Anchors and positives (the same features), so y_pred = f @ fp.T.
FEATURES = tf.constant([[1.0, 1.0], [1.0, -1.0], [-1.0, 1.0], [-1.0, -1.0]], dtype=tf.float32)
Y_PRED = tf.matmul(FEATURES, FEATURES, transpose_a=False, transpose_b=True)


class TFANpairsTest(tf.test.TestCase):
    def test_config(self):
        nl_obj = NpairsLoss(name="nl")
        self.assertEqual(nl_obj.name, "nl")
        self.assertIsNone(nl_obj.reduction)

    def test_unweighted(self):
        loss = NpairsLoss()(tf.constant([0, 1, 2, 3], dtype=tf.int64), Y_PRED)
        # i = 0..3 => log(1 + sum([exp(-2), exp(-2), exp(-4)])) = 0.253846, their mean.
        np.testing.assert_allclose(loss, 0.253856, rtol=1e-06, atol=1e-06)

    def test_multilabel_config(self):
        nml_obj = NpairsMultilabelLoss(name="nml")
        self.assertEqual(nml_obj.name, "nml")
        self.assertIsNone(nml_obj.reduction)

    def test_single_label(self):
        y_true = tf.constant(
            [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=tf.int64
        )
        np.testing.assert_allclose(
            NpairsMultilabelLoss()(y_true, Y_PRED), 0.253856, rtol=1e-06, atol=1e-06
        )

    @pytest.mark.tf_only("tf.SparseTensor labels")
    def test_single_label_sparse(self):
        y_true = tf.constant(
            [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]], dtype=tf.int64
        )
        loss = NpairsMultilabelLoss()(tf.sparse.from_dense(y_true), Y_PRED)
        np.testing.assert_allclose(loss, 0.253856, rtol=1e-06, atol=1e-06)

    def test_multilabel(self):
        y_true = tf.constant(
            [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=tf.int64
        )
        # Rows of the shared-label counts normalized to 1 weight the log terms
        # (TFA's comment): (0.920522 + 1.753856 + 1.753856 + 1.253856) / 4.
        np.testing.assert_allclose(
            NpairsMultilabelLoss()(y_true, Y_PRED), 1.420522, rtol=1e-06, atol=1e-06
        )

    @pytest.mark.tf_only("tf.SparseTensor labels")
    def test_multilabel_sparse(self):
        y_true = tf.constant(
            [[1, 1, 0, 0], [0, 1, 1, 0], [0, 0, 1, 1], [0, 0, 0, 1]], dtype=tf.int64
        )
        loss = NpairsMultilabelLoss()(tf.sparse.from_dense(y_true), Y_PRED)
        np.testing.assert_allclose(loss, 1.420522, rtol=1e-06, atol=1e-06)
