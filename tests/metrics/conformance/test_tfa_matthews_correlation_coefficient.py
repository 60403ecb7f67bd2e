"""TFA's tests of MatthewsCorrelationCoefficient
(tensorflow_addons/metrics/tests/matthews_correlation_coefficient_test.py, and the
doctest of metrics/matthews_correlation_coefficient.py), ported to tfx_ext."""

import keras
import numpy as np
import tensorflow as tf
from sklearn.metrics import matthews_corrcoef as sklearn_matthew

from tfx_ext.metrics import MatthewsCorrelationCoefficient

GT_LABEL = tf.constant([[0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [1.0, 0.0]], dtype=tf.float32)
PREDS = tf.constant([[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [0.0, 1.0]], dtype=tf.float32)


def check_results(obj, value):
    np.testing.assert_allclose(value, np.asarray(obj.result()), atol=1e-6)


class TFAMatthewsCorrelationCoefficientTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_config(self):
        mcc1 = MatthewsCorrelationCoefficient(num_classes=1)
        self.assertEqual((mcc1.num_classes, mcc1.dtype), (1, "float32"))
        mcc2 = MatthewsCorrelationCoefficient.from_config(mcc1.get_config())
        self.assertEqual((mcc2.num_classes, mcc2.dtype), (1, "float32"))

    def test_binary_classes(self):
        mcc = MatthewsCorrelationCoefficient(2)
        mcc.update_state(GT_LABEL, PREDS)
        check_results(mcc, [-0.33333334])

    def test_multiple_classes(self):
        gt_label = np.eye(3)[[0, 2, 0, 2, 1, 1, 0, 0, 2, 1]]
        preds = np.eye(3)[[2, 0, 2, 2, 2, 2, 2, 0, 2, 2]]
        mcc = MatthewsCorrelationCoefficient(3)
        mcc.update_state(
            tf.constant(gt_label, dtype=tf.float32), tf.constant(preds, dtype=tf.float32)
        )
        check_results(mcc, sklearn_matthew(gt_label.argmax(axis=1), preds.argmax(axis=1)))

    def test_keras_model(self):
        model = keras.Sequential(
            [
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(1, activation="softmax"),
            ]
        )
        mcc = MatthewsCorrelationCoefficient(num_classes=1)
        model.compile(optimizer="Adam", loss="binary_crossentropy", metrics=["accuracy", mcc])
        data = np.random.random((10, 1))
        labels = np.where(np.random.random((10, 1)) > 0.5, 1.0, 0.0)
        history = model.fit(data, labels, epochs=1, batch_size=32, verbose=0)
        self.assertTrue(np.isfinite(history.history[mcc.name][0]))

    def test_reset_state_graph(self):
        mcc = MatthewsCorrelationCoefficient(2)
        mcc.update_state(GT_LABEL, PREDS)

        @tf.function
        def reset_state():
            mcc.reset_state()

        reset_state()
        check_results(mcc, [0])

    def test_doctest(self):
        metric = MatthewsCorrelationCoefficient(num_classes=2)
        metric.update_state(GT_LABEL.numpy(), PREDS.numpy())
        np.testing.assert_allclose(metric.result(), -0.33333334, rtol=1e-6)
