"""TFA's tests of SparsemaxLoss and sparsemax_loss
(tensorflow_addons/losses/tests/sparsemax_loss_test.py), ported to tfx_ext,
with TFA's NumPy reference. TFA's dtype parametrization is a loop of
subtests; the serialization check uses Keras 3's format (TFA forced the
legacy one)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.losses.conformance.tfa_tolerance import assert_allclose_according_to_type
from tfx_ext.losses import SparsemaxLoss, sparsemax_loss
from tfx_ext.losses.sparsemax_loss import sparsemax

TEST_OBS = 17
DTYPES = ("float32", "float64")


def _np_sparsemax(z):
    z = z - np.mean(z, axis=1)[:, np.newaxis]
    z_sorted = np.sort(z, axis=1)[:, ::-1]
    z_cumsum = np.cumsum(z_sorted, axis=1)
    k = np.arange(1, z.shape[1] + 1)
    z_check = 1 + k * z_sorted > z_cumsum
    k_z = z.shape[1] - np.argmax(z_check[:, ::-1], axis=1)
    tau_sum = z_cumsum[np.arange(0, z.shape[0]), k_z - 1]
    tau_z = ((tau_sum - 1) / k_z).reshape(-1, 1)
    return np.maximum(0, z - tau_z)


def _np_sparsemax_loss(z, q):
    z = z - np.mean(z, axis=1)[:, np.newaxis]
    z_k = np.sum(q * z, axis=1)
    p = _np_sparsemax(z)
    s = p > 0
    s_sum = np.sum(s * p * (2 * z - p), axis=1)
    q_norm = np.sum(q, axis=1)
    return 0.5 * s_sum + 0.5 * q_norm - z_k


def _one_hot(random, size=TEST_OBS):
    q = np.zeros((size, 10))
    q[np.arange(0, size), random.randint(0, 10, size=size)] = 1
    return q


def _tf_sparsemax_loss(z, q, dtype):
    z, q = z.astype(dtype), q.astype(dtype)
    return sparsemax_loss(z, sparsemax(z), q)


class TFASparsemaxLossTest(tf.test.TestCase):
    def test_sparsemax_loss_constructor_aginst_numpy(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                random = np.random.RandomState(1)
                z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10))
                q = _one_hot(random)
                tf_loss_op = SparsemaxLoss()(q, z)
                np_loss = np.mean(_np_sparsemax_loss(z, q).astype(dtype))
                assert_allclose_according_to_type(np_loss, tf_loss_op)
                self.assertEqual(np_loss.shape, tuple(tf_loss_op.shape))

    @pytest.mark.tf_only("tf.test.compute_gradient")
    def test_gradient_against_estimate(self):
        # TFA: sparsemax is not smooth, so the estimate is only possible in float64.
        random = np.random.RandomState(7)
        z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10)).astype("float64")
        q = np.zeros((TEST_OBS, 10)).astype("float64")
        q[np.arange(0, TEST_OBS), np.random.RandomState(0).randint(0, 10, size=TEST_OBS)] = 1
        # A traced function: the estimate calls it twice per logit (TFA called it eagerly).
        loss = tf.function(lambda logits: sparsemax_loss(logits, sparsemax(logits), q))
        (jacob_sym,), (jacob_num,) = tf.test.compute_gradient(loss, [z])
        assert_allclose_according_to_type(jacob_sym, jacob_num)

    def test_sparsemax_loss_positive(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                random = np.random.RandomState(5)
                z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10))
                loss = np.asarray(_tf_sparsemax_loss(z, _one_hot(random), dtype))
                assert_allclose_according_to_type(np.abs(loss), loss)
                self.assertEqual(loss.shape, (TEST_OBS,))

    def test_sparsemax_loss_constructor_not_from_logits(self):
        with self.assertRaises(ValueError):
            SparsemaxLoss(from_logits=False)

    def test_sparsemax_loss_against_numpy(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                random = np.random.RandomState(1)
                z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10))
                q = _one_hot(random)
                loss = _tf_sparsemax_loss(z, q, dtype)
                np_loss = _np_sparsemax_loss(z, q).astype(dtype)
                assert_allclose_according_to_type(np_loss, loss)
                self.assertEqual(np_loss.shape, tuple(loss.shape))

    def test_sparsemax_loss_of_nan(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                q = np.asarray([[0, 0, 1], [0, 0, 1], [0, 0, 1]])
                z_nan = np.asarray(
                    [[0, np.nan, 0], [0, np.nan, np.nan], [np.nan, np.nan, np.nan]]
                ).astype(dtype)
                np.testing.assert_equal(
                    np.asanyarray([np.nan, np.nan, np.nan]),
                    np.asarray(_tf_sparsemax_loss(z_nan, q, dtype)),
                )

    def test_sparsemax_loss_of_inf(self):
        q = np.asarray([[0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]])
        inf = np.inf
        z_neg = np.asarray([[0, -inf, 0], [0, -inf, -inf], [-inf, -inf, 0], [-inf, -inf, -inf]])
        z_pos = np.asarray([[0, inf, 0], [0, inf, inf], [inf, inf, 0], [inf, inf, inf]])
        z_mix = np.asarray([[0, inf, 0], [0, inf, -inf], [-inf, inf, 0], [-inf, inf, -inf]])
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                np.testing.assert_equal(
                    np.asanyarray([0.25, np.inf, 0, np.nan]),
                    np.asarray(_tf_sparsemax_loss(z_neg, q, dtype)),
                )
                np.testing.assert_equal(
                    np.asanyarray([np.nan] * 4), np.asarray(_tf_sparsemax_loss(z_pos, q, dtype))
                )
                np.testing.assert_equal(
                    np.asanyarray([np.nan] * 4), np.asarray(_tf_sparsemax_loss(z_mix, q, dtype))
                )

    def test_constant_add(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                random = np.random.RandomState(4)
                z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10))
                c = random.uniform(low=-3, high=3, size=(TEST_OBS, 1))
                q = _one_hot(np.random.RandomState(0))
                np.testing.assert_allclose(
                    _tf_sparsemax_loss(z + c, q, dtype),
                    _tf_sparsemax_loss(z, q, dtype),
                    rtol=5e-6,
                    atol=5e-6,
                )

    def test_sparsemax_loss_zero(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                random = np.random.RandomState(6)
                z = random.uniform(low=-3, high=3, size=(TEST_OBS, 10))
                z[:, 0] = np.max(z, axis=1) + 1.05
                q = np.zeros((TEST_OBS, 10))
                q[:, 0] = 1
                loss = _tf_sparsemax_loss(z, q, dtype)
                probabilities = sparsemax(z.astype(dtype))
                assert_allclose_according_to_type(np.zeros(TEST_OBS), loss)
                self.assertEqual(tuple(loss.shape), (TEST_OBS,))
                assert_allclose_according_to_type(q, probabilities)
                self.assertEqual(q.shape, tuple(probabilities.shape))

    def test_serialization(self):
        config = keras.losses.serialize(sparsemax_loss)
        fn = keras.losses.deserialize(config)
        self.assertEqual(sparsemax_loss.__name__, fn.__name__)
