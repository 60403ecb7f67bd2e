"""Every tfx_ext metric keeps every constructor argument through its config.

See tests/losses/config_completeness.py for the check and why.
"""

import keras
import numpy as np
import tensorflow as tf

from tests.losses.config_completeness import assert_config_keeps_every_argument, assert_table_covers
from tfx_ext import metrics


def _probabilities(rng, classes=3, n=40):
    labels = rng.integers(0, classes, n)
    scores = rng.random((n, classes)) + 1.5 * np.eye(classes)[labels]
    return labels, (scores / scores.sum(-1, keepdims=True)).astype("float32")


def _metric_cases():
    # Non-default values for every argument, and (y_true, y_pred) to update with.
    def regression(rng):
        y_true = rng.standard_normal((40, 2)).astype("float32")
        return y_true, (y_true + 3.0 * rng.standard_normal((40, 2))).astype("float32")

    def binary_probability(rng):
        labels = rng.integers(0, 2, 40)
        return labels.astype("float32"), np.clip(0.3 * labels + 0.7 * rng.random(40), 0, 1).astype(
            "float32"
        )

    def logits(rng):
        labels, probabilities = _probabilities(rng)
        return labels, np.log(probabilities).astype("float32")

    def multilabel(rng):
        y_true = (rng.random((40, 4)) < 0.5).astype("float32")
        return y_true, np.clip(0.4 * y_true + 0.6 * rng.random((40, 4)), 0, 1).astype("float32")

    def regressed_ids(rng):
        labels = rng.integers(0, 3, 40)
        return labels, (labels + rng.standard_normal(40)).astype("float32")[:, None]

    def ranked(rng):
        actual = rng.integers(0, 20, 40)
        return actual.astype("float32"), np.clip(actual + rng.integers(-5, 6, 40), 0, 19).astype(
            "float32"
        )

    def positive_and_weights(rng):
        # The means take (values, sample_weight): compute() passes y_pred as the weights.
        return rng.uniform(0.5, 4.0, 40).astype("float32"), rng.uniform(0.0, 2.0, 40).astype(
            "float32"
        )

    def binary_rows(rng):
        y_true = (rng.random((40, 4)) < 0.5).astype("float32")
        return y_true, (rng.random((40, 4)) < 0.5).astype("float32")

    float64 = {"dtype": "float64"}
    correlation = dict(
        actual_min=-1.0,
        actual_max=21.0,
        preds_min=-2.0,
        preds_max=22.0,
        actual_cutpoints=13,
        preds_cutpoints=17,
        **float64,
    )
    return {
        "KendallsTauB": (dict(name="kb", **correlation), ranked),
        "KendallsTauC": (dict(name="kc", **correlation), ranked),
        "SpearmansRank": (dict(name="s", **correlation), ranked),
        "PearsonsCorrelation": (dict(name="p", **correlation), ranked),
        "GeometricMean": (dict(name="g", **float64), positive_and_weights),
        "HarmonicMean": (dict(name="hm", **float64), positive_and_weights),
        "MultiLabelConfusionMatrix": (dict(num_classes=4, name="mcm", **float64), binary_rows),
        "HuberMetric": (dict(threshold=0.3, name="h", **float64), regression),
        "BrierScore": (dict(name="b", from_logits=True, **float64), logits),
        "ExpectedCalibrationError": (
            dict(num_bins=4, name="e", from_logits=True, **float64),
            logits,
        ),
        "CohenKappa": (
            dict(
                num_classes=3,
                name="k",
                weightage="quadratic",
                sparse_labels=True,
                regression=True,
                threshold=0.3,
                **float64,
            ),
            regressed_ids,
        ),
        "MatthewsCorrelationCoefficient": (
            dict(num_classes=2, name="m", threshold=0.7, **float64),
            binary_probability,
        ),
        "HammingLoss": (dict(mode="multilabel", name="hl", threshold=0.7, **float64), multilabel),
    }


class MetricConfigCompletenessTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_every_metric_is_covered(self):
        assert_table_covers(self, metrics, _metric_cases())

    def test_every_metric_keeps_every_argument(self):
        for name, (kwargs, data) in _metric_cases().items():
            with self.subTest(metric=name):
                y_true, y_pred = data(np.random.default_rng(0))

                def compute(metric):
                    metric.update_state(y_true, y_pred)
                    return metric.result()

                assert_config_keeps_every_argument(
                    self, getattr(metrics, name), kwargs, compute=compute
                )

    def test_the_non_default_arguments_change_the_result(self):
        # So the numeric comparison above could fail if an argument were dropped.
        rng = np.random.default_rng(0)
        y_true, y_pred = _metric_cases()["HuberMetric"][1](rng)
        for a, b in ((metrics.HuberMetric(0.3), metrics.HuberMetric()),):
            a.update_state(y_true, y_pred)
            b.update_state(y_true, y_pred)
            self.assertNotAllClose(a.result(), b.result())
        y_true, y_pred = _metric_cases()["HammingLoss"][1](rng)
        a, b = metrics.HammingLoss("multilabel", threshold=0.7), metrics.HammingLoss("multilabel")
        a.update_state(y_true, y_pred)
        b.update_state(y_true, y_pred)
        self.assertNotAllClose(a.result(), b.result())
