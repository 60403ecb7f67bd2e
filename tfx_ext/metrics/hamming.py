"""Hamming loss and Hamming distance.

Replaces `tfa.metrics.HammingLoss`, `hamming_loss_fn` and `hamming_distance` (same
arguments, defaults and results). Keras 3 core has no Hamming metric.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_number
from tfx_ext.metrics.confusion_matrix import to_class_ids


def _check_same_shape(y_true, y_pred, owner):
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if len(true_shape) != len(pred_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(true_shape, pred_shape)
    ):
        raise ValueError(
            f"{owner} expects y_true and y_pred of the same shape. "
            f"Received: y_true.shape={true_shape}, y_pred.shape={pred_shape}"
        )


@keras.saving.register_keras_serializable(package="tfx_ext")
def hamming_distance(actuals, predictions):
    """The number of positions where `actuals` and `predictions` differ, divided by their length.

    As `tfa.metrics.hamming_distance`: for two 1-D bit strings, the fraction of
    differing positions; for 2-D inputs, the differing positions summed and
    divided by the number of rows (the mean Hamming distance per row).

    Args:
        actuals: The true values.
        predictions: The predicted values, same shape.

    Returns:
        A float32 scalar (0 for empty inputs).

    Raises:
        ValueError: if the shapes differ.

    Example:

    >>> hamming_distance([1, 1, 0, 0, 1, 0, 1, 0, 0, 1], [1, 0, 0, 0, 1, 0, 0, 1, 0, 1])
    0.3
    """
    actuals = ops.convert_to_tensor(actuals)
    predictions = ops.convert_to_tensor(predictions)
    _check_same_shape(actuals, predictions, "hamming_distance")
    different = ops.sum(ops.cast(ops.not_equal(actuals, predictions), "float32"))
    rows = ops.cast(ops.shape(actuals)[0], "float32") if len(actuals.shape) else 1.0
    return ops.where(rows > 0, different / ops.maximum(rows, 1.0), 0.0)


def _binarize(y_pred, threshold):
    y_pred = ops.cast(y_pred, "float32")
    if threshold is None:
        top = ops.max(y_pred, axis=-1, keepdims=True)
        predicted = ops.logical_and(y_pred >= top, ops.abs(y_pred) > 1e-12)
    else:
        predicted = y_pred > threshold
    return ops.cast(predicted, "float64")


@keras.saving.register_keras_serializable(package="tfx_ext")
def hamming_loss_fn(y_true, y_pred, threshold, mode):
    """Hamming loss per example, as `tfa.metrics.hamming_loss_fn` (what `HammingLoss` averages).

    Args:
        y_true: Labels: one-hot rows (multiclass; class ids are accepted too)
            or 0/1 rows (multilabel).
        y_pred: Scores, shape `(batch, classes)`.
        threshold: Scores above it are predicted 1; `None`: the row's maximum
            (when not 0) is 1.
        mode: `"multiclass"` (1 when the true class is not predicted, else 0)
            or `"multilabel"` (the fraction of wrong labels of the row).

    Returns:
        A float64 tensor of shape `(batch,)`.

    Example:

    >>> hamming_loss_fn([[1, 0, 1]], [[0.9, 0.6, 0.2]], threshold=0.5, mode="multilabel")
    [0.6667]
    """
    check_choice("mode", mode, ("multiclass", "multilabel"))
    if threshold is not None:
        threshold = check_number("threshold", threshold, 0.0, 1.0)
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.convert_to_tensor(y_pred)
    owner = "HammingLoss"
    if mode == "multilabel":
        if len(y_pred.shape) < 2:
            raise ValueError(
                "HammingLoss(mode='multilabel') expects y_pred of shape "
                f"(batch, labels). Received shape {tuple(y_pred.shape)}"
            )
        _check_same_shape(y_true, y_pred, owner)
        actual = ops.cast(ops.cast(y_true, "float64") > 0.5, "float64")
        cells = ops.abs(_binarize(y_pred, threshold) - actual)
        return ops.mean(ops.reshape(cells, (ops.shape(cells)[0], -1)), axis=-1)
    classes = y_pred.shape[-1] if len(y_pred.shape) >= 2 else None
    if classes is not None and classes > 1:
        if len(y_true.shape) < 2 or y_true.shape[-1] == 1:  # class ids
            y_true = ops.one_hot(ops.reshape(ops.cast(y_true, "int32"), (-1,)), classes)
        _check_same_shape(y_true, y_pred, owner)
        hit = ops.sum(ops.cast(y_true > 0.5, "float64") * _binarize(y_pred, threshold), axis=-1)
        return ops.cast(hit == 0, "float64")
    binary_threshold = 0.5 if threshold is None else threshold
    true_ids = to_class_ids(y_true, 2, binary_threshold)
    pred_ids = to_class_ids(y_pred, 2, binary_threshold)
    _check_same_shape(true_ids, pred_ids, owner)
    return ops.cast(ops.not_equal(true_ids, pred_ids), "float64")


@keras.saving.register_keras_serializable(package="tfx_ext")
class HammingLoss(keras.metrics.Metric):
    """Fraction of wrong labels, streamed exactly over all examples seen.

    Predictions are binarized first: scores above `threshold` are 1, or, with
    `threshold=None` (TFA's default), the row's maximum (when not 0) is 1.
    `"multiclass"`: an example is wrong when its true class is not predicted
    (one minus accuracy for `threshold=None`). `"multilabel"`: the fraction of
    (example, label) cells where the prediction differs from the label
    (`sklearn.metrics.hamming_loss`; pass `threshold=0.5` for sigmoid outputs).
    Sample weights weight the examples.

    Args:
        mode: `"multiclass"` or `"multilabel"`.
        name: Name of the metric instance. Defaults to `"hamming_loss"`.
        threshold: A float in `[0, 1]`, or `None` (default) for the row's
            maximum.
        dtype: Dtype of the result.

    In multiclass mode `y_true` may also be class ids, and `y_pred` class ids
    or one probability per example (binary, thresholded at 0.5 when
    `threshold` is None).

    Example:

    >>> m = HammingLoss(mode="multilabel", threshold=0.5)
    >>> m.update_state([[1, 0, 1]], [[0.9, 0.6, 0.2]])
    >>> round(float(m.result()), 4)   # 2 wrong cells out of 3
    0.6667
    """

    def __init__(self, mode, name="hamming_loss", threshold=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "down"
        self.mode = check_choice("mode", mode, ("multiclass", "multilabel"))
        self.threshold = (
            None if threshold is None else check_number("threshold", threshold, 0.0, 1.0)
        )
        self.wrong = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="wrong")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        wrong = hamming_loss_fn(y_true, y_pred, self.threshold, self.mode)
        if sample_weight is None:
            weights = ops.ones_like(wrong)
        else:
            weights = ops.reshape(ops.cast(sample_weight, "float64"), (-1,))
            if weights.shape[0] not in (None, 1) and wrong.shape[0] not in (None, weights.shape[0]):
                raise ValueError(
                    "HammingLoss expects one sample weight per example. Received: "
                    f"{weights.shape[0]} weights for {wrong.shape[0]} examples."
                )
            weights = ops.broadcast_to(weights, ops.shape(wrong))
        self.wrong.assign_add(ops.sum(wrong * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.cast(self.wrong / ops.maximum(self.count, 1e-12), self.dtype)

    def reset_state(self):
        self.wrong.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode, "threshold": self.threshold}
