"""Calibration tables and reliability diagrams (NumPy, for reports and plots)."""

import dataclasses

import numpy as np

from tfx_ext.arguments import check_int, invalid
from tfx_ext.label_format import has_class_axis, is_one_hot
from tfx_ext.plotting import new_axes, save


@dataclasses.dataclass
class CalibrationBins:
    """Per-bin statistics of top-class confidence against accuracy.

    Attributes:
        edges: Bin edges, `num_bins + 1` values from 0 to 1.
        counts: Examples per bin.
        confidence: Mean confidence per bin (NaN for empty bins).
        accuracy: Accuracy per bin (NaN for empty bins).
        ece: Expected calibration error, `sum (n_i / N) |acc_i - conf_i|`.
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float


def calibration_bins(y_true, probabilities, num_bins=10):
    """Bins examples by top-class confidence (same bins as `ExpectedCalibrationError`).

    Args:
        y_true: Class ids `(batch,)` or one-hot rows.
        probabilities: Class probabilities `(batch, classes)`, or one
            probability of class 1 per example.
        num_bins: Number of equal-width bins, an integer >= 1.
    """
    num_bins = check_int("num_bins", num_bins, minimum=1)
    p = np.asarray(probabilities, dtype="float64")
    y = np.asarray(y_true)
    if has_class_axis(p):
        if is_one_hot(y, p):
            y = y.argmax(axis=-1)
        confidence, predicted = p.max(axis=-1), p.argmax(axis=-1)
    else:
        p = p.reshape(-1)
        confidence, predicted = np.maximum(p, 1 - p), (p > 0.5).astype(int)
    y = y.reshape(-1)
    if len(y) != len(confidence):
        raise invalid("y_true", f"{len(confidence)} labels (one per prediction)", f"{len(y)} labels")
    correct = (predicted == y).astype("float64")
    bins = np.minimum((confidence * num_bins).astype(int), num_bins - 1)
    counts = np.bincount(bins, minlength=num_bins).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, confidence, num_bins) / counts
        accuracy = np.bincount(bins, correct, num_bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] * np.abs(accuracy[filled] - mean_confidence[filled])) / counts.sum())
    return CalibrationBins(np.linspace(0, 1, num_bins + 1), counts, mean_confidence, accuracy, ece)


def reliability_diagram(y_true, probabilities, num_bins=10, path=None, ax=None, label=None):
    """Plots accuracy against confidence per bin, with the diagonal of perfect calibration.

    Needs matplotlib (`pip install 'tfx_ext[plot]'`). Saves to `path` when
    given. Call it twice on the same `ax` to compare (e.g. one pass against
    MC averaging). Returns the matplotlib `Axes`.
    """
    table = calibration_bins(y_true, probabilities, num_bins)
    if ax is None:
        ax = new_axes((5, 5), "reliability_diagram")
        ax.plot([0, 1], [0, 1], "k--", linewidth=1, label="perfect calibration")
    filled = table.counts > 0
    ax.plot(
        table.confidence[filled],
        table.accuracy[filled],
        "o-",
        label=f"{label or 'model'} (ECE {table.ece:.3f})",
    )
    ax.set_xlabel("confidence")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.legend(loc="upper left")
    save(ax, path)
    return ax
