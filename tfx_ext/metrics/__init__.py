"""Keras 3 metrics that Keras core lacks (several replace TensorFlow Addons metrics)."""

from tfx_ext.metrics.brier_score import BrierScore
from tfx_ext.metrics.cohen_kappa import CohenKappa
from tfx_ext.metrics.expected_calibration_error import ExpectedCalibrationError
from tfx_ext.metrics.hamming import HammingLoss, hamming_distance, hamming_loss_fn
from tfx_ext.metrics.huber import HuberMetric
from tfx_ext.metrics.matthews_correlation import MatthewsCorrelationCoefficient

__all__ = [
    "BrierScore",
    "CohenKappa",
    "ExpectedCalibrationError",
    "HammingLoss",
    "HuberMetric",
    "MatthewsCorrelationCoefficient",
    "hamming_distance",
    "hamming_loss_fn",
]
