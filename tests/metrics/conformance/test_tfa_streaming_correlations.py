"""TFA's tests of the streaming correlations
(tensorflow_addons/metrics/tests/streaming_correlations_test.py, and the
doctests of metrics/streaming_correlations.py), ported to tfx_ext, against
scipy.stats as TFA's are. TFA's Keras-model test built one model per metric;
here one model carries all four (same data, same comparisons)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats

from tests.metrics.conformance.metric_serialization import check_metric_serialization
from tfx_ext.metrics import KendallsTauB, KendallsTauC, PearsonsCorrelation, SpearmansRank

SCIPY_CORR = {
    KendallsTauB: lambda x, y: stats.kendalltau(x, y, variant="b"),
    KendallsTauC: lambda x, y: stats.kendalltau(x, y, variant="c"),
    SpearmansRank: stats.spearmanr,
    PearsonsCorrelation: stats.pearsonr,
}
DOCTESTS = {
    KendallsTauB: -0.47140455,
    KendallsTauC: -0.48000002,
    SpearmansRank: -0.54073805,
    PearsonsCorrelation: -0.5618297,
}


class TFAStreamingCorrelationsTest(tf.test.TestCase):
    def test_config(self):
        for correlation_type in SCIPY_CORR:
            with self.subTest(metric=correlation_type.__name__):
                obj = correlation_type(name=correlation_type.__name__)
                self.assertEqual(obj.name, correlation_type.__name__)
                self.assertEqual(obj.dtype, "float32")
                self.assertEqual((obj.actual_min, obj.actual_max), (0.0, 1.0))
                kp_obj2 = correlation_type.from_config(obj.get_config())
                self.assertEqual(kp_obj2.name, correlation_type.__name__)
                self.assertEqual(kp_obj2.dtype, "float32")
                self.assertEqual((kp_obj2.actual_min, kp_obj2.actual_max), (0.0, 1.0))

    def test_scoring_with_ties(self):
        actuals, preds = [12, 2, 1, 12, 2], [1, 4, 7, 1, 0]
        for correlation_type, scipy_corr in SCIPY_CORR.items():
            with self.subTest(metric=correlation_type.__name__):
                metric = correlation_type(0, 13, 0, 8)
                metric.update_state(actuals, preds)
                np.testing.assert_almost_equal(
                    metric.result(), scipy_corr(actuals, preds)[0], decimal=2
                )

    def test_perfect(self):
        actuals, preds = [1, 2, 3, 4, 5, 6, 7, 8], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8]
        for correlation_type, scipy_corr in SCIPY_CORR.items():
            with self.subTest(metric=correlation_type.__name__):
                metric = correlation_type(0, 10, 0.0, 1.0)
                metric.update_state(actuals, preds)
                np.testing.assert_almost_equal(metric.result(), scipy_corr(actuals, preds)[0])

    def test_reversed(self):
        actuals, preds = [1, 2, 3, 4, 5, 6, 7, 8], [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8][::-1]
        for correlation_type, scipy_corr in SCIPY_CORR.items():
            with self.subTest(metric=correlation_type.__name__):
                metric = correlation_type(0, 10, 0.0, 1.0)
                metric.update_state(actuals, preds)
                np.testing.assert_almost_equal(metric.result(), scipy_corr(actuals, preds)[0])

    def test_scoring_streaming(self):
        actuals, preds = [12, 2, 1, 12, 2], [1, 4, 7, 1, 0]
        for correlation_type, scipy_corr in SCIPY_CORR.items():
            with self.subTest(metric=correlation_type.__name__):
                metric = correlation_type(0, 13, 0, 8)
                for actual, pred in zip(actuals, preds):
                    metric.update_state([[actual]], [[pred]])
                np.testing.assert_almost_equal(
                    metric.result(), scipy_corr(actuals, preds)[0], decimal=2
                )

    @pytest.mark.tf_only(
        "cost: a 1024-example fit with validation; the metrics' JAX path is covered by the eager tests"
    )
    def test_keras_binary_classification_model(self):
        keras.utils.set_random_seed(0)
        metrics = [correlation_type() for correlation_type in SCIPY_CORR]
        inputs = keras.layers.Input(shape=(128,))
        outputs = keras.layers.Dense(1, activation="sigmoid")(inputs)
        model = keras.models.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.Adam(learning_rate=0.1),
            loss="binary_crossentropy",
            metrics=metrics,
            jit_compile=False,
        )
        x = np.random.rand(1024, 128).astype(np.float32)
        y = np.random.randint(2, size=(1024, 1)).astype(np.float32)
        history = model.fit(x, y, epochs=1, verbose=0, batch_size=32, validation_data=(x, y))
        preds = np.asarray(model(x))
        for metric, scipy_corr in zip(metrics, SCIPY_CORR.values()):
            with self.subTest(metric=metric.name):
                metric_history = history.history["val_" + metric.name]
                metric.reset_state()
                metric.update_state(y, preds)
                metric_value = np.asarray(metric.result())
                scipy_value = scipy_corr(preds[:, 0], y[:, 0])[0]
                np.testing.assert_almost_equal(metric_value, metric_history[-1], decimal=6)
                np.testing.assert_almost_equal(metric_value, scipy_value, decimal=2)

    def test_serialization(self):
        actuals = np.array([4, 4, 3, 3, 2, 2, 1, 1], dtype=np.int32)
        preds = np.array([1, 2, 4, 1, 3, 3, 4, 4], dtype=np.int32)
        for correlation_type in SCIPY_CORR:
            with self.subTest(metric=correlation_type.__name__):
                check_metric_serialization(correlation_type(0, 5, 0, 5, 10, 10), actuals, preds)

    def test_doctests(self):
        actuals = np.array([12, 2, 1, 12, 2], dtype=np.int32)
        preds = np.array([1, 4, 7, 1, 0], dtype=np.int32)
        for correlation_type, expected in DOCTESTS.items():
            with self.subTest(metric=correlation_type.__name__):
                m = correlation_type(0, 13, 0, 8)
                m.update_state(actuals, preds)
                np.testing.assert_allclose(m.result(), expected, rtol=1e-6)
