"""The metrics ported from TFA in this round, against independent references:
scipy.stats for the rank correlations (exact when every distinct value has its
own bin), sklearn's multilabel confusion matrix, the closed forms of the
means; their state through `.keras` and into fresh twins; bad inputs."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from scipy import stats
from sklearn.metrics import multilabel_confusion_matrix

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.metrics import (
    GeometricMean,
    HarmonicMean,
    KendallsTauB,
    KendallsTauC,
    MultiLabelConfusionMatrix,
    PearsonsCorrelation,
    SpearmansRank,
)

SCIPY = {
    KendallsTauB: lambda x, y: stats.kendalltau(x, y, variant="b").statistic,
    KendallsTauC: lambda x, y: stats.kendalltau(x, y, variant="c").statistic,
    SpearmansRank: lambda x, y: stats.spearmanr(x, y).statistic,
    PearsonsCorrelation: lambda x, y: stats.pearsonr(x, y).statistic,
}


def _ranked_data(rng, n=300):
    """Integer data in [0, 20) with many ties, correlated."""
    actual = rng.integers(0, 20, n)
    predicted = np.clip(actual + rng.integers(-6, 7, n), 0, 19)
    return actual.astype("float32"), predicted.astype("float32")


class RankCorrelationsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_exact_against_scipy_when_each_value_has_its_bin(self):
        # 21 cut points on [0, 20]: one bin per integer, so the histogram is the data.
        actual, predicted = _ranked_data(self.rng)
        for cls, reference in SCIPY.items():
            with self.subTest(metric=cls.__name__):
                metric = cls(0, 20, 0, 20, 21, 21)
                for rows in np.array_split(np.arange(len(actual)), [7, 100, 101]):  # uneven batches
                    metric.update_state(actual[rows][:, None], predicted[rows][:, None])
                self.assertAllClose(metric.result(), reference(actual, predicted), atol=2e-6)

    def test_values_outside_the_range_are_clipped(self):
        metric = SpearmansRank(0, 1, 0, 1, 11, 11)
        metric.update_state([-5.0, 0.25, 0.55, 7.0], [0.0, 0.2, 0.6, 1.0])
        # -5 counts as 0 and 7 as 1 (kept in the last bin), so the ranks agree.
        self.assertAllClose(metric.result(), 1.0)
        self.assertEqual(int(metric.n), 4)

    @pytest.mark.tf_only(
        "cost: two evaluate traces; the metrics' JAX path is covered by the eager tests"
    )
    def test_state_survives_keras_and_checkpoints(self):
        x = self.rng.standard_normal((32, 3)).astype("float32")
        y = self.rng.random((32, 1)).astype("float32")
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, activation="sigmoid")])
        # Two of the four (one per result family) keep the test cheap; all four
        # go through test_config_round_trip.
        metrics = [
            cls(0.0, 1.0, 0.0, 1.0, 30, 30, name=cls.__name__.lower())
            for cls in (KendallsTauC, SpearmansRank)
        ]
        model.compile("sgd", "mse", metrics=metrics, jit_compile=False)
        # The compiled metrics come back with their configuration (same compile
        # config, same evaluate results).
        assert_model_round_trip(self, model, x, y, saved_model=False)
        # A fresh twin given the variables computes the same result.
        for cls in SCIPY:
            with self.subTest(metric=cls.__name__):
                metric, twin = cls(0, 20, 0, 20, 21, 21), cls(0, 20, 0, 20, 21, 21)
                metric.update_state(*_ranked_data(self.rng, 50))
                for target, source in zip(twin.variables, metric.variables):
                    target.assign(source)
                self.assertAllClose(twin.result(), metric.result())
                metric.reset_state()
                self.assertEqual(int(metric.n), 0)
                self.assertEqual(int(np.sum(metric.m)), 0)

    def test_config_round_trip(self):
        for cls in SCIPY:
            with self.subTest(metric=cls.__name__):
                assert_config_round_trip(
                    self, cls(-1.0, 2.0, -3.0, 4.0, 7, 9, name="c", dtype="float64")
                )

    @rejects_bad_input(KendallsTauB, KendallsTauC, SpearmansRank, PearsonsCorrelation)
    def test_bad_input(self):
        for cls in SCIPY:
            with self.subTest(metric=cls.__name__):
                with self.assertRaisesRegex(ValueError, "`actual_max`"):
                    cls(actual_min=1.0, actual_max=1.0)
                with self.assertRaisesRegex(ValueError, "`preds_max`"):
                    cls(preds_min=2.0, preds_max=1.0)
                with self.assertRaisesRegex(ValueError, "`actual_cutpoints`"):
                    cls(actual_cutpoints=1)
                with self.assertRaisesRegex(TypeError, "`preds_cutpoints`"):
                    cls(preds_cutpoints=10.5)
                with self.assertRaisesRegex(ValueError, "`y_pred`.*one prediction per value"):
                    cls().update_state([0.1, 0.2, 0.3], [0.1, 0.2])
                with self.assertWarnsRegex(UserWarning, "ignores `sample_weight`"):
                    cls().update_state([0.1, 0.2], [0.1, 0.2], sample_weight=[1.0, 2.0])


class MeansTest(tf.test.TestCase):
    def test_against_closed_forms(self):
        rng = np.random.default_rng(0)
        values, weights = rng.uniform(0.1, 5.0, 50), rng.uniform(0.0, 2.0, 50)
        geometric, harmonic = GeometricMean(dtype="float64"), HarmonicMean(dtype="float64")
        for rows in np.array_split(np.arange(50), 3):
            geometric.update_state(values[rows], sample_weight=weights[rows])
            harmonic.update_state(values[rows], sample_weight=weights[rows])
        self.assertAllClose(geometric.result(), stats.gmean(values, weights=weights))
        self.assertAllClose(harmonic.result(), stats.hmean(values, weights=weights))

    def test_state_survives_a_fresh_twin_and_config(self):
        for cls in (GeometricMean, HarmonicMean):
            with self.subTest(metric=cls.__name__):
                metric = cls(name="m", dtype="float64")
                metric.update_state([1.0, 2.0, 4.0])
                twin = assert_config_round_trip(self, metric)
                for target, source in zip(twin.variables, metric.variables):
                    target.assign(source)
                self.assertAllClose(twin.result(), 2.0 if cls is GeometricMean else 3 / 1.75)

    @rejects_bad_input(GeometricMean, HarmonicMean)
    def test_bad_input(self):
        for cls in (GeometricMean, HarmonicMean):
            with self.subTest(metric=cls.__name__):
                with self.assertRaisesRegex(ValueError, "`sample_weight`.*one weight per value"):
                    cls().update_state([1.0, 2.0, 3.0], sample_weight=[1.0, 2.0])


class MultiLabelConfusionMatrixTest(tf.test.TestCase):
    def test_against_sklearn_streamed(self):
        rng = np.random.default_rng(0)
        y_true = (rng.random((40, 5)) < 0.4).astype("int32")
        y_pred = (rng.random((40, 5)) < 0.5).astype("int32")
        metric = MultiLabelConfusionMatrix(num_classes=5)
        for rows in np.array_split(np.arange(40), 3):
            metric.update_state(y_true[rows], y_pred[rows])
        self.assertAllEqual(metric.result(), multilabel_confusion_matrix(y_true, y_pred))

    def test_state_survives_keras_a_twin_and_config(self):
        rng = np.random.default_rng(1)
        x = rng.standard_normal((16, 3)).astype("float32")
        y = (rng.random((16, 4)) < 0.5).astype("float32")
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation="relu")])
        model.compile(
            "sgd", "mse", metrics=[MultiLabelConfusionMatrix(4, name="mcm")], jit_compile=False
        )
        assert_model_round_trip(self, model, x, y, saved_model=False)
        metric = MultiLabelConfusionMatrix(4, dtype="float64")
        metric.update_state(y, 1 - y)
        twin = assert_config_round_trip(self, metric)
        for target, source in zip(twin.variables, metric.variables):
            target.assign(source)
        self.assertAllEqual(twin.result(), multilabel_confusion_matrix(y, 1 - y))

    @rejects_bad_input(MultiLabelConfusionMatrix)
    def test_bad_input(self):
        with self.assertRaisesRegex(ValueError, "`num_classes`"):
            MultiLabelConfusionMatrix(num_classes=0)
        with self.assertRaisesRegex(TypeError, "`num_classes`"):
            MultiLabelConfusionMatrix(num_classes="3")
        with self.assertRaisesRegex(ValueError, "`y_pred`.*num_classes=3"):
            MultiLabelConfusionMatrix(3).update_state(np.eye(3), np.eye(4)[:3])
        with self.assertRaisesRegex(ValueError, "`y_pred`.*one row per row"):
            MultiLabelConfusionMatrix(3).update_state(np.eye(3), np.eye(3)[:2])
