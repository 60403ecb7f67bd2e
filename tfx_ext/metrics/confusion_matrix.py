"""A streaming confusion matrix, the state shared by the agreement metrics.

Also the one home of the label-format rules these metrics share: class ids,
one-hot or score rows, thresholded binary probabilities, and the range check
of class ids.
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_int, check_number, invalid_prefix


def to_class_ids(values, num_classes=None, threshold=0.5):
    """Flattens labels or predictions to integer class ids.

    A last axis of size `num_classes` (or of size > 1 when `num_classes` is
    None) holds one-hot labels or scores: its argmax is the class. Otherwise
    float values of a binary problem (`num_classes` 1 or 2) are thresholded,
    and anything else is taken as class ids.
    """
    values = ops.convert_to_tensor(values)
    shape = values.shape
    last = shape[-1] if len(shape) >= 2 else None
    binary = num_classes in (1, 2)
    width = 2 if num_classes == 1 else num_classes
    if last is not None and last > 1 and (num_classes is None or last == width):
        ids = ops.argmax(values, axis=-1)
    elif binary and "float" in str(values.dtype):
        ids = ops.cast(values > threshold, "int32")
    else:
        ids = ops.round(values) if "float" in str(values.dtype) else values
    return ops.reshape(ops.cast(ids, "int32"), (-1,))


def check_same_count(true_ids, pred_ids, owner):
    """Refuses labels and predictions that hold different numbers of examples."""
    n_true, n_pred = true_ids.shape[0], pred_ids.shape[0]
    if n_true is not None and n_pred is not None and n_true != n_pred:
        raise ValueError(
            f"{owner} expects one prediction per label. Received: y_true with {n_true} "
            f"labels and y_pred with {n_pred} predictions."
        )


def _range_message(argument, owner, num_classes, declared):
    if declared == num_classes:
        hint = f"num_classes={num_classes} (labels 1..{num_classes} are off by one)"
    else:
        hint = f"num_classes={declared}, the binary form (0/1 labels, or probabilities)"
    return f"{invalid_prefix(argument, owner)} Expected class ids in [0, {num_classes}) for {hint}."


def check_class_ids(ids, num_classes, argument, owner, declared=None):
    """Raises on class ids outside `[0, num_classes)`; returns `ids`.

    Eagerly the error is a `ValueError`; inside a `tf.function` (`fit`,
    `evaluate`) the check is an op of the graph and fails the step with an
    `InvalidArgumentError` carrying the same message. XLA drops assertions,
    and other backends cannot raise from a compiled function: there the check
    runs only on concrete (eager) values. `declared` is the metric's own
    `num_classes` when it differs from the range (1, the binary form).
    """
    message = _range_message(
        argument, owner, num_classes, num_classes if declared is None else declared
    )
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            # keras.ops has no assertion: tf.debugging.Assert is the in-graph check.
            # Two reductions decide it and name the received range in the message.
            low, high = tf.reduce_min(ids), tf.reduce_max(ids)
            in_range = tf.logical_and(low >= 0, high < num_classes)
            assertion = tf.debugging.Assert(
                in_range, [message, "Received ids from", low, "to", high]
            )
            with tf.control_dependencies([assertion]):
                return tf.identity(ids)
    try:
        values = np.asarray(ops.convert_to_numpy(ids))
    except Exception:  # a traced value (JAX jit): nothing to look at
        return ids
    if values.size and (values.min() < 0 or values.max() >= num_classes):
        raise ValueError(
            f"{message} Received: {argument} with ids from {values.min()} to {values.max()}"
        )
    return ids


class ConfusionMatrixMetric(keras.metrics.Metric):
    """Base of metrics computed from a square confusion matrix.

    Rows are true classes, columns predicted classes; cells hold the summed
    sample weights (float64, so counts stay exact far beyond float32's 2**24).
    Class ids outside `[0, num_classes)` are an error (`check_class_ids`).
    `num_classes=1` (where a subclass allows it) is the binary form: one
    probability or 0/1 label per example, a 2 x 2 matrix.
    """

    def __init__(self, num_classes, threshold=0.5, name=None, dtype=None, minimum_classes=2):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = check_int("num_classes", num_classes, minimum=minimum_classes)
        self.threshold = check_number("threshold", threshold, 0.0, 1.0)
        size = max(self.num_classes, 2)
        self.confusion = self.add_variable(
            shape=(size, size),
            initializer="zeros",
            dtype="float64",
            name="confusion",
        )

    @property
    def matrix_size(self):
        return max(self.num_classes, 2)

    def true_class_ids(self, y_true):
        return to_class_ids(y_true, self.num_classes, self.threshold)

    def predicted_class_ids(self, y_pred):
        return to_class_ids(y_pred, self.num_classes, self.threshold)

    def update_state(self, y_true, y_pred, sample_weight=None):
        owner = type(self).__name__
        true_ids = self.true_class_ids(y_true)
        pred_ids = self.predicted_class_ids(y_pred)
        check_same_count(true_ids, pred_ids, owner)
        true_ids = check_class_ids(true_ids, self.matrix_size, "y_true", owner, self.num_classes)
        pred_ids = check_class_ids(pred_ids, self.matrix_size, "y_pred", owner, self.num_classes)
        true_hot = ops.one_hot(true_ids, self.matrix_size, dtype="float64")
        pred_hot = ops.one_hot(pred_ids, self.matrix_size, dtype="float64")
        if sample_weight is not None:
            weights = ops.reshape(ops.cast(sample_weight, "float64"), (-1, 1))
            if weights.shape[0] not in (None, 1) and true_ids.shape[0] not in (
                None,
                weights.shape[0],
            ):
                raise ValueError(
                    f"{owner} expects one sample weight per example. Received: "
                    f"{weights.shape[0]} weights for {true_ids.shape[0]} examples."
                )
            true_hot = true_hot * ops.broadcast_to(weights, ops.shape(true_hot))
        self.confusion.assign_add(ops.matmul(ops.transpose(true_hot), pred_hot))

    def reset_state(self):
        self.confusion.assign(ops.zeros(self.confusion.shape, dtype=self.confusion.dtype))

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "threshold": self.threshold,
        }
