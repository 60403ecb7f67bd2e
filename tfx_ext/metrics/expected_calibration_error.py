"""Expected calibration error, streaming.

Keras 3 core has no calibration metric (nor had TFA).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int
from tfx_ext._core.predictions import has_class_axis
from tfx_ext.metrics.input_checks import after, check_batch, checked_labels_and_probabilities


def confidence_and_correct(y_true, y_pred, from_logits=False):
    """Top-class confidence and whether the top class is right, per example.

    `y_pred` holds class probabilities `(batch, classes)`, or one probability
    of class 1 per example for binary problems (logits when `from_logits`);
    `y_true` holds class ids or one-hot rows. Both are checked (see
    `tfx_ext.metrics.input_checks`).
    """
    y_true, y_pred, one_hot = checked_labels_and_probabilities(
        y_true, y_pred, from_logits, "ExpectedCalibrationError"
    )
    if y_pred.shape[0] == 0:  # Keras's eager max refuses an empty tensor
        empty = ops.zeros((0,), "float64")
        return empty, empty
    if has_class_axis(y_pred):
        confidence = ops.max(y_pred, axis=-1)
        predicted = ops.argmax(y_pred, axis=-1)
        if one_hot:
            y_true = ops.argmax(y_true, axis=-1)
    else:
        p = ops.reshape(y_pred, (-1,))
        confidence = ops.maximum(p, 1.0 - p)
        predicted = ops.cast(p > 0.5, "int32")
    true_ids = ops.cast(ops.reshape(y_true, (-1,)), "int32")
    correct = ops.cast(ops.equal(ops.cast(predicted, "int32"), true_ids), "float64")
    return ops.reshape(ops.cast(confidence, "float64"), (-1,)), correct


@keras.saving.register_keras_serializable(package="tfx_ext")
class ExpectedCalibrationError(keras.metrics.Metric):
    """Expected calibration error (Naeini et al., 2015; Guo et al., 2017).

    Examples are put in `num_bins` equal-width bins of top-class confidence
    (bin `i` holds confidences in `[i/n, (i+1)/n)`, the last bin includes 1);
    `ECE = sum_i (n_i / N) * |accuracy_i - confidence_i|`. A calibrated model
    that says 80% is right 80% of the time: ECE near 0. Per-bin counts and
    sums are streamed, so the result is exact over everything seen.

    Predictions are checked: values outside [0, 1] or rows not summing to 1
    (logits), class ids outside the columns of `y_pred` and mismatched batch
    sizes raise `ValueError` (`InvalidArgumentError` inside `fit`/`evaluate`).

    Args:
        num_bins: Number of bins, an integer >= 1. Defaults to `15`.
        name: Name of the metric instance.
        dtype: Dtype of the result.
        from_logits: Whether the predictions are logits (a softmax, or a
            sigmoid for one column, is applied first). Defaults to `False`.

    Example:

    >>> ece = ExpectedCalibrationError(num_bins=10)
    >>> ece.update_state(y_test, mc_predict(model, x_test).mean)
    >>> float(ece.result())
    """

    def __init__(
        self, num_bins=15, name="expected_calibration_error", dtype=None, from_logits=False
    ):
        check_bool("from_logits", from_logits)
        super().__init__(name=name, dtype=dtype)
        self.from_logits = from_logits
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "down"
        self.num_bins = check_int("num_bins", num_bins, minimum=1)
        shape = (self.num_bins,)
        self.counts = self.add_variable(
            shape=shape, initializer="zeros", dtype="float64", name="counts"
        )
        self.confidence_sums = self.add_variable(
            shape=shape, initializer="zeros", dtype="float64", name="confidence_sums"
        )
        self.correct_sums = self.add_variable(
            shape=shape, initializer="zeros", dtype="float64", name="correct_sums"
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        confidence, correct = confidence_and_correct(y_true, y_pred, self.from_logits)
        bins = ops.minimum(
            ops.cast(ops.floor(confidence * self.num_bins), "int32"), self.num_bins - 1
        )
        one_hot = ops.one_hot(bins, self.num_bins, dtype="float64")
        if sample_weight is not None:
            weights = ops.reshape(ops.cast(sample_weight, "float64"), (-1, 1))
            weights, one_hot = after(
                check_batch(weights, one_hot, "ExpectedCalibrationError", "sample_weight"),
                weights,
                one_hot,
            )
            one_hot = one_hot * weights
        self.counts.assign_add(ops.sum(one_hot, axis=0))
        self.confidence_sums.assign_add(ops.sum(one_hot * confidence[:, None], axis=0))
        self.correct_sums.assign_add(ops.sum(one_hot * correct[:, None], axis=0))

    def result(self):
        total = ops.maximum(ops.sum(self.counts), 1e-12)
        gap = ops.abs(self.correct_sums - self.confidence_sums)  # n_i * |acc_i - conf_i|
        return ops.cast(ops.sum(gap) / total, self.dtype)

    def reset_state(self):
        for variable in (self.counts, self.confidence_sums, self.correct_sums):
            variable.assign(ops.zeros(variable.shape, dtype=variable.dtype))

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_bins": self.num_bins,
            "from_logits": self.from_logits,
        }
