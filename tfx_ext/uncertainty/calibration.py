"""Calibration tables and reliability diagrams (NumPy, for reports and plots)."""

import dataclasses

import numpy as np

from tfx_ext._core.arguments import check_bool, check_int, invalid
from tfx_ext._core.plotting import new_axes, save
from tfx_ext._core.predictions import (
    has_class_axis,
    is_one_hot,
    probability_checks_numpy,
    to_probabilities_numpy,
)


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


def _probabilities(probabilities, from_logits):
    """Checked NumPy probabilities (softmax or sigmoid first when `from_logits`)."""
    try:
        p = np.asarray(probabilities, dtype="float64")
    except (TypeError, ValueError):
        raise invalid(
            "probabilities", "numeric class probabilities", probabilities, TypeError
        ) from None
    if p.size == 0:
        raise invalid("probabilities", "at least one prediction", f"an array of shape {p.shape}")
    if not np.all(np.isfinite(p)):
        raise invalid(
            "probabilities",
            "finite values",
            f"{int(np.sum(~np.isfinite(p)))} NaN or infinite values",
        )
    if from_logits:
        return to_probabilities_numpy(p, from_logits)
    hint = "probabilities (pass from_logits=True for logits): values in [0, 1]"
    in_range, rows_ok, low, high, sums = probability_checks_numpy(p)
    if not in_range:
        raise invalid("probabilities", hint, f"values from {low:.4g} to {high:.4g}")
    if rows_ok is False:
        raise invalid(
            "probabilities",
            hint + ", each row summing to 1",
            f"rows summing to {sums.min():.4g} .. {sums.max():.4g}",
        )
    return p


def calibration_bins(y_true, probabilities, num_bins=10, from_logits=False):
    """Bins examples by top-class confidence (same bins as `ExpectedCalibrationError`).

    Args:
        y_true: Class ids `(batch,)` or one-hot rows.
        probabilities: Class probabilities `(batch, classes)`, or one
            probability of class 1 per example (logits when `from_logits`).
        num_bins: Number of equal-width bins, an integer >= 1.
        from_logits: Whether `probabilities` holds logits (softmax, or a
            sigmoid for one column, is applied first). Defaults to `False`.

    Returns:
        A `CalibrationBins` (edges, counts, mean confidence and accuracy per
        bin, and the ECE).

    Raises:
        ValueError: `probabilities` is empty, not finite, or not probabilities
            (values outside [0, 1], rows not summing to 1), or `y_true` has
            the wrong length or ids outside the columns.
        TypeError: `num_bins` is not an integer, or `from_logits` not a bool.

    Example:

    >>> table = calibration_bins(y_test, model.predict(x_test), num_bins=10)
    >>> table.ece, table.counts
    """
    num_bins = check_int("num_bins", num_bins, minimum=1)
    check_bool("from_logits", from_logits)
    p = _probabilities(probabilities, from_logits)
    y = np.asarray(y_true)
    multiclass = has_class_axis(p)
    columns = p.shape[-1] if multiclass else 2
    if multiclass:
        if is_one_hot(y, p):
            y = y.argmax(axis=-1)
        confidence, predicted = p.max(axis=-1), p.argmax(axis=-1)
    else:
        p = p.reshape(-1)
        confidence, predicted = np.maximum(p, 1 - p), (p > 0.5).astype(int)
    y = y.reshape(-1)
    if len(y) != len(confidence):
        raise invalid(
            "y_true", f"{len(confidence)} labels (one per prediction)", f"{len(y)} labels"
        )
    if (
        not np.issubdtype(y.dtype, np.number)
        or np.any(y != np.floor(y))
        or y.min() < 0
        or y.max() >= columns
    ):
        raise invalid(
            "y_true",
            f"class ids in [0, {columns}) (one per column of `probabilities`) or one-hot rows",
            f"ids from {y.min()} to {y.max()}" if np.issubdtype(y.dtype, np.number) else y.dtype,
        )
    correct = (predicted == y).astype("float64")
    bins = np.minimum((confidence * num_bins).astype(int), num_bins - 1)
    counts = np.bincount(bins, minlength=num_bins).astype("float64")
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_confidence = np.bincount(bins, confidence, num_bins) / counts
        accuracy = np.bincount(bins, correct, num_bins) / counts
    filled = counts > 0
    ece = float(
        np.sum(counts[filled] * np.abs(accuracy[filled] - mean_confidence[filled])) / counts.sum()
    )
    return CalibrationBins(np.linspace(0, 1, num_bins + 1), counts, mean_confidence, accuracy, ece)


def reliability_diagram(
    y_true, probabilities, num_bins=10, path=None, ax=None, label=None, from_logits=False
):
    """Plots accuracy against confidence per bin, with the diagonal of perfect calibration.

    Needs matplotlib (`pip install 'tfx_ext[plot]'`). Call it twice on the
    same `ax` to compare (e.g. one pass against MC averaging).

    Args:
        y_true: Class ids `(batch,)` or one-hot rows.
        probabilities: Class probabilities `(batch, classes)`, or one
            probability of class 1 per example (logits when `from_logits`).
        num_bins: Number of equal-width bins, an integer >= 1.
        path: Where to save the figure (PNG), or `None`.
        ax: A matplotlib `Axes` to draw on; a new figure when `None`.
        label: Legend label of this curve (`"model"` when `None`).
        from_logits: Whether `probabilities` holds logits.

    Returns:
        The matplotlib `Axes`.

    Raises:
        ValueError, TypeError: As `calibration_bins`.

    Example:

    >>> ax = reliability_diagram(y_test, one_pass, label="one pass")
    >>> reliability_diagram(y_test, mc.mean, ax=ax, label="MC x100", path="reliability.png")
    """
    table = calibration_bins(y_true, probabilities, num_bins, from_logits=from_logits)
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
