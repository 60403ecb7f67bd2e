"""Keras 3 metrics that Keras core lacks (several replace TensorFlow Addons metrics).

`tfa.metrics.RSquare` is `keras.metrics.R2Score` and `tfa.metrics.F1Score` /
`FBetaScore` are `keras.metrics.F1Score` / `FBetaScore`: use Keras's.
"""

from tfx_ext.metrics.brier_score import BrierScore
from tfx_ext.metrics.cohen_kappa import CohenKappa
from tfx_ext.metrics.expected_calibration_error import ExpectedCalibrationError
from tfx_ext.metrics.hamming import HammingLoss, hamming_distance, hamming_loss_fn
from tfx_ext.metrics.huber import HuberMetric
from tfx_ext.metrics.matthews_correlation import MatthewsCorrelationCoefficient
from tfx_ext.metrics.means import GeometricMean, HarmonicMean
from tfx_ext.metrics.multilabel_confusion_matrix import MultiLabelConfusionMatrix
from tfx_ext.metrics.streaming_correlations import (
    KendallsTauB,
    KendallsTauC,
    PearsonsCorrelation,
    SpearmansRank,
)

__all__ = [
    "BrierScore",
    "CohenKappa",
    "ExpectedCalibrationError",
    "HammingLoss",
    "GeometricMean",
    "HarmonicMean",
    "HuberMetric",
    "KendallsTauB",
    "KendallsTauC",
    "MatthewsCorrelationCoefficient",
    "MultiLabelConfusionMatrix",
    "PearsonsCorrelation",
    "SpearmansRank",
    "hamming_distance",
    "hamming_loss_fn",
]
