"""One 2x2 confusion matrix per label.

Replaces `tfa.metrics.MultiLabelConfusionMatrix` (same arguments and results,
as `sklearn.metrics.multilabel_confusion_matrix`). Keras 3 core has none.
"""

import warnings

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class MultiLabelConfusionMatrix(keras.metrics.Metric):
    """Per-label true/false positives and negatives, streamed over every example seen.

    `result()` has shape `(num_classes, 2, 2)`: for label `i`,
    `[[true negatives, false positives], [false negatives, true positives]]`.
    Multiclass one-hot rows are read as multilabel rows.

    Args:
        num_classes: The number of labels, an integer >= 1.
        name: Name of the metric instance. Defaults to
            `"Multilabel_confusion_matrix"` (TFA's spelling).
        dtype: Dtype of the counts and the result.

    Call arguments:
        y_true: 0/1 rows of `num_classes` labels.
        y_pred: 0/1 rows, same shape (threshold probabilities first: values
            are cast to integers, as TFA). `sample_weight` is ignored, with a
            warning, as TFA.

    Example:

    >>> m = MultiLabelConfusionMatrix(num_classes=3)
    >>> m.update_state([[1, 0, 1], [0, 1, 0]], [[1, 0, 0], [0, 1, 1]])
    >>> m.result()[2]   # [[0, 1], [1, 0]]
    """

    def __init__(self, num_classes, name="Multilabel_confusion_matrix", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        shape = (self.num_classes,)
        for counts in ("true_positives", "false_positives", "false_negatives", "true_negatives"):
            setattr(
                self,
                counts,
                self.add_variable(shape=shape, initializer="zeros", dtype=self.dtype, name=counts),
            )

    def update_state(self, y_true, y_pred, sample_weight=None):
        if sample_weight is not None:
            warnings.warn(
                "MultiLabelConfusionMatrix ignores `sample_weight` (as tfa.metrics did): "
                "every example counts once.",
                stacklevel=2,
            )
        y_true = ops.cast(ops.convert_to_tensor(y_true), "int32")
        y_pred = ops.cast(ops.convert_to_tensor(y_pred), "int32")
        for argument, value in (("y_true", y_true), ("y_pred", y_pred)):
            if len(value.shape) != 2 or value.shape[-1] not in (None, self.num_classes):
                raise invalid(
                    argument,
                    f"rows of num_classes={self.num_classes} labels, shape (batch, {self.num_classes})",
                    owner="MultiLabelConfusionMatrix",
                    received=f"{argument} with shape {tuple(value.shape)}",
                )
        if None not in (y_true.shape[0], y_pred.shape[0]) and y_true.shape[0] != y_pred.shape[0]:
            raise invalid(
                "y_pred",
                f"one row per row of y_true (shape {tuple(y_true.shape)})",
                owner="MultiLabelConfusionMatrix",
                received=f"y_pred with shape {tuple(y_pred.shape)}",
            )
        true_positive = ops.count_nonzero(y_true * y_pred, axis=0)
        false_positive = ops.count_nonzero(y_pred, axis=0) - true_positive
        false_negative = ops.count_nonzero(y_true, axis=0) - true_positive
        negative = ops.logical_and(ops.not_equal(y_true, 1), ops.not_equal(y_pred, 1))
        true_negative = ops.count_nonzero(negative, axis=0)
        for variable, count in (
            (self.true_positives, true_positive),
            (self.false_positives, false_positive),
            (self.false_negatives, false_negative),
            (self.true_negatives, true_negative),
        ):
            variable.assign_add(ops.cast(count, self.dtype))

    def result(self):
        flat = ops.stack(
            [self.true_negatives, self.false_positives, self.false_negatives, self.true_positives],
            axis=-1,
        )
        return ops.reshape(flat, (-1, 2, 2))

    def reset_state(self):
        for variable in self.variables:
            variable.assign(ops.zeros(variable.shape, variable.dtype))

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes}
