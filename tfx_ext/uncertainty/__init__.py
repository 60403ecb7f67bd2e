"""Uncertainty: MC Dropout prediction and calibration."""

from tfx_ext.metrics.brier_score import BrierScore
from tfx_ext.metrics.expected_calibration_error import ExpectedCalibrationError
from tfx_ext.uncertainty.calibration import CalibrationBins, calibration_bins, reliability_diagram
from tfx_ext.uncertainty.mc_prediction import MCPrediction, enable_mc_dropout, mc_layers, mc_predict

__all__ = [
    "BrierScore",
    "CalibrationBins",
    "ExpectedCalibrationError",
    "MCPrediction",
    "calibration_bins",
    "enable_mc_dropout",
    "mc_layers",
    "mc_predict",
    "reliability_diagram",
]
