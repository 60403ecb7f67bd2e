"""A streaming confusion matrix, the state shared by the agreement metrics."""

import keras
from keras import ops

from tfx_ext.arguments import check_int, check_number


def to_class_ids(values, num_classes=None, threshold=0.5):
    """Flattens labels or predictions to integer class ids.

    A last axis of size `num_classes` (or of size > 1 when `num_classes` is
    None) holds one-hot labels or scores: its argmax is the class. Otherwise
    float values of a binary problem are thresholded, and anything else is
    taken as class ids.
    """
    values = ops.convert_to_tensor(values)
    shape = values.shape
    last = shape[-1] if len(shape) >= 2 else None
    if last is not None and last > 1 and (num_classes is None or last == num_classes):
        ids = ops.argmax(values, axis=-1)
    elif num_classes == 2 and "float" in str(values.dtype):
        ids = ops.cast(values > threshold, "int32")
    else:
        ids = ops.round(values) if "float" in str(values.dtype) else values
    return ops.reshape(ops.cast(ids, "int32"), (-1,))


class ConfusionMatrixMetric(keras.metrics.Metric):
    """Base of metrics computed from a `num_classes x num_classes` confusion matrix.

    Rows are true classes, columns predicted classes; cells hold the summed
    sample weights (float64, so counts stay exact far beyond float32's 2**24).
    Ids outside `[0, num_classes)` match no cell and are not counted.
    """

    def __init__(self, num_classes, threshold=0.5, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.threshold = check_number("threshold", threshold, 0.0, 1.0)
        self.confusion = self.add_variable(
            shape=(self.num_classes, self.num_classes),
            initializer="zeros",
            dtype="float64",
            name="confusion",
        )

    def update_state(self, y_true, y_pred, sample_weight=None):
        true_ids = to_class_ids(y_true, self.num_classes, self.threshold)
        pred_ids = to_class_ids(y_pred, self.num_classes, self.threshold)
        true_hot = ops.one_hot(true_ids, self.num_classes, dtype="float64")
        pred_hot = ops.one_hot(pred_ids, self.num_classes, dtype="float64")
        if sample_weight is not None:
            weights = ops.reshape(ops.cast(sample_weight, "float64"), (-1, 1))
            true_hot = true_hot * ops.broadcast_to(weights, ops.shape(true_hot))
        self.confusion.assign_add(ops.matmul(ops.transpose(true_hot), pred_hot))

    def reset_state(self):
        self.confusion.assign(ops.zeros(self.confusion.shape, dtype=self.confusion.dtype))

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "num_classes": self.num_classes,
            "threshold": self.threshold,
        }
