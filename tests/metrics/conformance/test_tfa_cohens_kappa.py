"""TFA's tests of CohenKappa (tensorflow_addons/metrics/tests/cohens_kappa_test.py, and the
doctests of metrics/cohens_kappa.py), ported to tfx_ext: same inputs, expected
values and tolerances. TFA's `update_state` returned the confusion matrix; here
the doctest reads the metric's `confusion` variable."""

import keras
import numpy as np
import tensorflow as tf

from tests.metrics.conformance.metric_serialization import check_metric_serialization
from tfx_ext.metrics import CohenKappa


def initialize_vars():
    return (
        CohenKappa(num_classes=5, sparse_labels=True),
        CohenKappa(num_classes=5, sparse_labels=True, weightage="linear"),
        CohenKappa(num_classes=5, sparse_labels=True, weightage="quadratic"),
    )


def update_and_check(objs, actuals, preds, weights, values):
    for obj, value in zip(objs, values):
        if actuals is not None:
            obj.update_state(actuals, preds, sample_weight=weights)
        np.testing.assert_allclose(value, obj.result(), atol=1e-5)


class TFACohenKappaTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_config(self):
        kp_obj = CohenKappa(name="cohen_kappa", num_classes=5)
        self.assertEqual(
            (kp_obj.name, kp_obj.dtype, kp_obj.num_classes), ("cohen_kappa", "float32", 5)
        )
        kb_obj2 = CohenKappa.from_config(kp_obj.get_config())
        self.assertEqual(
            (kb_obj2.name, kb_obj2.dtype, kb_obj2.num_classes), ("cohen_kappa", "float32", 5)
        )

    def test_kappa_random_score(self):
        actuals = tf.constant([4, 4, 3, 4, 2, 4, 1, 1], dtype=tf.int32)
        preds = tf.constant([4, 4, 3, 4, 4, 2, 1, 1], dtype=tf.int32)
        update_and_check(
            initialize_vars(), actuals, preds, None, [0.61904761, 0.62790697, 0.68932038]
        )

    def test_kappa_perfect_score(self):
        actuals = tf.constant([4, 4, 3, 3, 2, 2, 1, 1], dtype=tf.int32)
        update_and_check(initialize_vars(), actuals, actuals, None, [1.0, 1.0, 1.0])

    def test_kappa_worse_than_random(self):
        actuals = tf.constant([4, 4, 3, 3, 2, 2, 1, 1], dtype=tf.int32)
        preds = tf.constant([1, 2, 4, 1, 3, 3, 4, 4], dtype=tf.int32)
        update_and_check(
            initialize_vars(), actuals, preds, None, [-0.3333333, -0.52380952, -0.72727272]
        )

    def test_kappa_with_sample_weights(self):
        actuals = tf.constant([4, 4, 3, 3, 2, 2, 1, 1], dtype=tf.int32)
        preds = tf.constant([1, 2, 4, 1, 3, 3, 4, 4], dtype=tf.int32)
        weights = tf.constant([1, 1, 2, 5, 10, 2, 3, 3], dtype=tf.int32)
        update_and_check(
            initialize_vars(), actuals, preds, weights, [-0.25473321, -0.38992332, -0.60695344]
        )

    def test_kappa_reset_state(self):
        objs = initialize_vars()
        for obj in objs:
            obj.reset_state()
        update_and_check(objs, None, None, None, [0.0, 0.0, 0.0])

    def test_large_values(self):
        y_true = tf.convert_to_tensor([1] * 10000 + [0] * 20000 + [1] * 20000)
        y_pred = tf.convert_to_tensor([0] * 20000 + [1] * 30000)
        obj = CohenKappa(num_classes=2)
        obj.update_state(y_true, y_pred)
        np.testing.assert_allclose(0.166666666, obj.result(), 1e-6, 1e-6)

    def test_with_sparse_labels(self):
        obj = CohenKappa(num_classes=5, sparse_labels=True)
        obj.update_state(
            np.array([4, 4, 3, 4], dtype=np.int32), np.array([4, 4, 1, 2], dtype=np.int32)
        )
        np.testing.assert_allclose(0.19999999, obj.result())

    def _fit(self, metric, outputs, activation, loss, y):
        inputs = keras.Input(shape=(10,))
        model = keras.Model(inputs, keras.layers.Dense(outputs, activation=activation)(inputs))
        model.compile(optimizer="sgd", loss=loss, metrics=[metric])
        x = np.random.rand(1000, 10).astype(np.float32)
        history = model.fit(x, y, epochs=1, verbose=0, batch_size=32)
        self.assertTrue(np.isfinite(history.history[metric.name][0]))

    def test_keras_binary_reg_model(self):
        y = np.random.randint(2, size=(1000, 1)).astype(np.float32)
        self._fit(CohenKappa(num_classes=2), 1, None, "mse", y)

    def test_keras_multiclass_reg_model(self):
        y = np.random.randint(5, size=(1000,)).astype(np.float32)
        self._fit(CohenKappa(num_classes=5, regression=True, sparse_labels=True), 1, None, "mse", y)

    def test_keras_binary_classification_model(self):
        y = np.random.randint(2, size=(1000, 1)).astype(np.float32)
        self._fit(CohenKappa(num_classes=2), 1, "sigmoid", "binary_crossentropy", y)

    def test_keras_multiclass_classification_model(self):
        y = keras.utils.to_categorical(np.random.randint(5, size=(1000,)), num_classes=5)
        self._fit(CohenKappa(num_classes=5), 5, "softmax", "categorical_crossentropy", y)

    def test_with_ohe_labels(self):
        y_true = keras.utils.to_categorical(np.array([4, 4, 3, 4], dtype=np.int32), num_classes=5)
        obj = CohenKappa(num_classes=5, sparse_labels=False)
        obj.update_state(y_true, np.array([4, 4, 1, 2], dtype=np.int32))
        np.testing.assert_allclose(0.19999999, np.asarray(obj.result()))

    def test_cohen_kappa_serialization(self):
        actuals = np.array([4, 4, 3, 3, 2, 2, 1, 1], dtype=np.int32)
        preds = np.array([1, 2, 4, 1, 3, 3, 4, 4], dtype=np.int32)
        weights = np.array([1, 1, 2, 5, 10, 2, 3, 3], dtype=np.int32)
        ck = CohenKappa(num_classes=5, sparse_labels=True, weightage="quadratic")
        check_metric_serialization(ck, actuals, preds, weights)

    def test_cohen_kappa_single_batch(self):
        obj = CohenKappa(5, regression=True, sparse_labels=True)
        obj.update_state(tf.ones(1), tf.zeros(1))
        np.testing.assert_allclose(0, np.asarray(obj.result()))

    def test_doctests(self):
        y_true = np.array([4, 4, 3, 4, 2, 4, 1, 1], dtype=np.int32)
        y_pred = np.array([4, 4, 3, 4, 4, 2, 1, 1], dtype=np.int32)
        weights = np.array([1, 1, 2, 5, 10, 2, 3, 3], dtype=np.int32)
        metric = CohenKappa(num_classes=5, sparse_labels=True)
        metric.update_state(y_true, y_pred)
        np.testing.assert_array_equal(
            metric.confusion,
            [[0, 0, 0, 0, 0], [0, 2, 0, 0, 0], [0, 0, 0, 0, 1], [0, 0, 0, 1, 0], [0, 0, 1, 0, 3]],
        )
        np.testing.assert_allclose(metric.result(), 0.61904764, rtol=1e-6)
        metric = CohenKappa(num_classes=5, sparse_labels=True)
        metric.update_state(y_true, y_pred, sample_weight=weights)
        np.testing.assert_array_equal(
            metric.confusion,
            [[0, 0, 0, 0, 0], [0, 6, 0, 0, 0], [0, 0, 0, 0, 10], [0, 0, 0, 2, 0], [0, 0, 2, 0, 7]],
        )
        np.testing.assert_allclose(metric.result(), 0.37209308, rtol=1e-6)
        inputs = keras.Input(shape=(10,))
        outputs = keras.layers.Dense(1)(keras.layers.Dense(10)(inputs))
        model = keras.Model(inputs=inputs, outputs=outputs)
        model.compile("sgd", loss="mse", metrics=[CohenKappa(num_classes=3, sparse_labels=True)])
