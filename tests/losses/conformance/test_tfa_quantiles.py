"""TFA's tests of PinballLoss (tensorflow_addons/losses/tests/quantiles_test.py, and the
doctests of losses/quantiles.py), ported to tfx_ext. Keras 3 spells the
reductions "sum" and None (TFA: Reduction.SUM, Reduction.NONE)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.losses import PinballLoss, pinball_loss

Y_TRUE = tf.constant([1, 9, 2, -5, -2, 6], shape=(2, 3))
Y_PRED = tf.constant([4, 8, 12, 8, 1, 3], shape=(2, 3), dtype=tf.dtypes.float32)


class TFAQuantilesTest(tf.test.TestCase):
    def test_config(self):
        pin_obj = PinballLoss(reduction="sum", name="pin_1")
        self.assertEqual(pin_obj.name, "pin_1")
        self.assertEqual(pin_obj.reduction, "sum")

    def test_all_correct_unweighted(self):
        y_true = tf.constant([4, 8, 12, 8, 1, 3], shape=(2, 3))
        self.assertEqual(float(PinballLoss()(y_true, y_true)), 0)

    def test_unweighted(self):
        np.testing.assert_almost_equal(PinballLoss()(Y_TRUE, Y_PRED), 2.75, 3)

    def test_scalar_weighted(self):
        np.testing.assert_almost_equal(PinballLoss()(Y_TRUE, Y_PRED, sample_weight=2.3), 6.325, 3)

    def test_sample_weighted(self):
        sample_weight = tf.constant([1.2, 3.4], shape=(2, 1))
        np.testing.assert_almost_equal(
            PinballLoss()(Y_TRUE, Y_PRED, sample_weight=sample_weight), 40.7 / 6, 3
        )

    def test_timestep_weighted(self):
        y_true = tf.constant([1, 9, 2, -5, -2, 6], shape=(2, 3, 1))
        y_pred = tf.constant([4, 8, 12, 8, 1, 3], shape=(2, 3, 1), dtype=tf.dtypes.float32)
        sample_weight = tf.constant([3, 6, 5, 0, 4, 2], shape=(2, 3))
        np.testing.assert_almost_equal(
            PinballLoss()(y_true, y_pred, sample_weight=sample_weight), 41.5 / 6, 3
        )

    def test_zero_weighted(self):
        np.testing.assert_almost_equal(PinballLoss()(Y_TRUE, Y_PRED, sample_weight=0), 0.0, 3)

    @pytest.mark.tf_only(
        "TFA's InvalidArgumentError/ValueError; JAX raises a TypeError (next test)"
    )
    @rejects_bad_input(PinballLoss)
    def test_invalid_sample_weight(self):
        y_true = tf.constant([1, 9, 2, -5, -2, 6], shape=(2, 3, 1))
        y_pred = tf.constant([4, 8, 12, 8, 1, 3], shape=(2, 3, 1))
        sample_weight = tf.constant([3, 6, 5, 0], shape=(2, 2))
        with self.assertRaisesRegex(
            (tf.errors.InvalidArgumentError, ValueError), "Incompatible shapes"
        ):
            PinballLoss()(y_true, y_pred, sample_weight=sample_weight)

    @rejects_bad_input(PinballLoss)
    def test_invalid_sample_weight_raises_on_any_backend(self):
        y_true = np.array([1, 9, 2, -5, -2, 6], "float32").reshape(2, 3, 1)
        y_pred = np.array([4, 8, 12, 8, 1, 3], "float32").reshape(2, 3, 1)
        sample_weight = np.array([3, 6, 5, 0], "float32").reshape(2, 2)
        with self.assertRaisesRegex(
            (tf.errors.InvalidArgumentError, ValueError, TypeError), "(?i)incompatible shapes"
        ):
            PinballLoss()(y_true, y_pred, sample_weight=sample_weight)

    def test_unweighted_quantiles(self):
        for tau, expected in ((0.0, 4.8333), (0.1, 4.4166), (0.9, 1.0833), (1.0, 0.6666)):
            with self.subTest(tau=tau):
                np.testing.assert_almost_equal(PinballLoss(tau=tau)(Y_TRUE, Y_PRED), expected, 3)

    def test_no_reduction(self):
        loss = PinballLoss(reduction=None)(Y_TRUE, Y_PRED, sample_weight=2.3)
        np.testing.assert_almost_equal(loss, [5.3666, 7.28333], 1e-3)

    def test_sum_reduction(self):
        loss = PinballLoss(reduction="sum")(Y_TRUE, Y_PRED, sample_weight=2.3)
        np.testing.assert_almost_equal(loss, 12.65, 3)

    def test_doctests(self):
        np.testing.assert_allclose(
            pinball_loss([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0], tau=0.1), 0.475
        )
        np.testing.assert_allclose(
            PinballLoss(tau=0.1)([0.0, 0.0, 1.0, 1.0], [1.0, 1.0, 1.0, 0.0]), 0.475
        )
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile("sgd", loss=PinballLoss(tau=0.1))
