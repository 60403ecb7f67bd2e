"""TFA's tests of HammingLoss and hamming_distance (tensorflow_addons/metrics/tests/hamming_test.py,
and the doctests of metrics/hamming.py), ported to tfx_ext. (TFA's
`hamming_distance_test` lacked the `test_` prefix and never ran; it runs here.)"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.metrics import HammingLoss, hamming_distance


def check_results(obj, value):
    np.testing.assert_allclose(value, np.asarray(obj.result()), atol=1e-5)


class TFAHammingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_config(self):
        hl_obj = HammingLoss(mode="multilabel", threshold=0.8)
        self.assertEqual((hl_obj.name, hl_obj.dtype), ("hamming_loss", "float32"))

    def test_mc_4_classes(self):
        actuals = tf.constant(np.eye(4)[[0, 2, 3, 1, 1, 0, 2]], dtype=tf.float32)
        predictions = tf.constant(
            [
                [0.85, 0.12, 0.03, 0],
                [0, 0, 1, 0],
                [0.10, 0.045, 0.045, 0.81],
                [1, 0, 0, 0],
                [0.80, 0.10, 0.10, 0],
                [1, 0, 0, 0],
                [0.05, 0, 0.90, 0.05],
            ],
            dtype=tf.float32,
        )
        hl_obj = HammingLoss("multiclass", threshold=0.8)
        hl_obj.update_state(actuals, predictions)
        check_results(hl_obj, 0.2857143)

    def test_mc_5_classes(self):
        actuals = tf.constant(np.eye(5)[[0, 3, 4, 1, 2, 2, 0, 1]], dtype=tf.float32)
        predictions = tf.constant(
            [
                [0.85, 0, 0.15, 0, 0],
                [0, 0, 0, 1, 0],
                [0, 1, 0, 0, 0],
                [0.05, 0.90, 0.04, 0, 0.01],
                [0.10, 0, 0.81, 0.09, 0],
                [0.10, 0.045, 0, 0.81, 0.045],
                [1, 0, 0, 0, 0],
                [0, 0.85, 0, 0, 0.15],
            ],
            dtype=tf.float32,
        )
        hl_obj = HammingLoss("multiclass", threshold=0.8)
        hl_obj.update_state(actuals, predictions)
        check_results(hl_obj, 0.25)

    def test_ml_4_classes(self):
        actuals = tf.constant([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=tf.float32)
        predictions = tf.constant(
            [[0.97, 0.56, 0.83, 0.77], [0.34, 0.95, 0.7, 0.89], [0.95, 0.45, 0.23, 0.56]],
            dtype=tf.float32,
        )
        hl_obj = HammingLoss("multilabel", threshold=0.8)
        hl_obj.update_state(actuals, predictions)
        check_results(hl_obj, 0.16666667)

    def test_ml_5_classes(self):
        actuals = tf.constant(
            [
                [1, 0, 0, 0, 0],
                [0, 0, 1, 1, 0],
                [0, 1, 0, 1, 0],
                [0, 1, 1, 0, 0],
                [0, 0, 1, 1, 0],
                [0, 0, 1, 1, 0],
                [1, 0, 0, 0, 1],
                [0, 1, 1, 0, 0],
            ],
            dtype=tf.float32,
        )
        predictions = tf.constant(
            [
                [1, 0.75, 0.2, 0.55, 0],
                [0.65, 0.22, 0.97, 0.88, 0],
                [0, 1, 0, 1, 0],
                [0, 0.85, 0.9, 0.34, 0.5],
                [0.4, 0.65, 0.87, 0, 0.12],
                [0.66, 0.55, 1, 0.98, 0],
                [0.95, 0.34, 0.67, 0.65, 0.10],
                [0.45, 0.97, 0.89, 0.67, 0.46],
            ],
            dtype=tf.float32,
        )
        hl_obj = HammingLoss("multilabel", threshold=0.7)
        hl_obj.update_state(actuals, predictions)
        check_results(hl_obj, 0.075)

    def test_hamming_distance(self):
        actuals = tf.constant([1, 1, 0, 0, 1, 0, 1, 0, 0, 1], dtype=tf.int32)
        predictions = tf.constant([1, 0, 0, 0, 1, 0, 0, 1, 0, 1], dtype=tf.int32)
        np.testing.assert_allclose(0.3, hamming_distance(actuals, predictions), atol=1e-5)

    def test_keras_model(self):
        model = keras.Sequential(
            [keras.layers.Dense(64, activation="relu"), keras.layers.Dense(3, activation="softmax")]
        )
        h1 = HammingLoss(mode="multiclass")
        model.compile(optimizer="rmsprop", loss="categorical_crossentropy", metrics=[h1])
        data = np.random.random((100, 10))
        labels = np.random.random((100, 3))
        history = model.fit(data, labels, epochs=1, batch_size=32, verbose=0)
        self.assertTrue(np.isfinite(history.history["hamming_loss"][0]))

    def test_doctests(self):
        y_true = np.array([1, 1, 0, 0, 1, 0, 1, 0, 0, 1], dtype=np.int32)
        y_pred = np.array([1, 0, 0, 0, 1, 0, 0, 1, 0, 1], dtype=np.int32)
        np.testing.assert_allclose(hamming_distance(y_true, y_pred), 0.3)
        metric = HammingLoss(mode="multiclass", threshold=0.6)
        y_true = np.eye(4, dtype=np.float32)[[0, 2, 3, 1]]
        y_pred = np.array(
            [
                [0.8, 0.1, 0.1, 0.0],
                [0.2, 0.0, 0.8, 0.0],
                [0.05, 0.05, 0.1, 0.8],
                [1.0, 0.0, 0.0, 0.0],
            ],
            dtype=np.float32,
        )
        metric.update_state(y_true, y_pred)
        np.testing.assert_allclose(metric.result(), 0.25)
        metric = HammingLoss(mode="multilabel", threshold=0.8)
        y_true = np.array([[1, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 1]], dtype=np.int32)
        y_pred = np.array(
            [[0.82, 0.5, 0.90, 0], [0, 1, 0.4, 0.98], [0.89, 0.79, 0, 0.3]], dtype=np.float32
        )
        metric.update_state(y_true, y_pred)
        np.testing.assert_allclose(metric.result(), 0.16666667, rtol=1e-6)
