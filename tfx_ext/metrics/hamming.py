"""Hamming loss.

Replaces `tfa.metrics.HammingLoss`. Keras 3 core has no Hamming metric.
"""

import keras
from keras import ops

from tfx_ext.arguments import check_choice, check_number
from tfx_ext.metrics.confusion_matrix import to_class_ids


@keras.saving.register_keras_serializable(package="tfx_ext")
class HammingLoss(keras.metrics.Metric):
    """Fraction of wrong labels, streamed exactly over all examples seen.

    `"multilabel"`: the fraction of (example, label) cells where the
    thresholded prediction differs from the label. `"multiclass"`: the
    fraction of examples whose predicted class is wrong (one minus accuracy).
    Equal to `sklearn.metrics.hamming_loss`, sample weights included.

    Args:
        mode: `"multiclass"` or `"multilabel"`.
        threshold: Multilabel scores above it count as 1. Defaults to `0.5`.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> m = HammingLoss(mode="multilabel")
    >>> m.update_state([[1, 0, 1]], [[0.9, 0.6, 0.2]])
    >>> round(float(m.result()), 4)   # 2 wrong cells out of 3
    0.6667
    """

    def __init__(self, mode, threshold=0.5, name="hamming_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "down"
        self.mode = check_choice("mode", mode, ("multiclass", "multilabel"))
        self.threshold = check_number("threshold", threshold, 0.0, 1.0)
        self.wrong = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="wrong")
        self.count = self.add_variable(shape=(), initializer="zeros", dtype="float64", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        if self.mode == "multilabel":
            y_pred = ops.convert_to_tensor(y_pred)
            y_true = ops.convert_to_tensor(y_true)
            if len(y_pred.shape) < 2:
                raise ValueError(
                    "HammingLoss(mode='multilabel') expects y_pred of shape "
                    f"(batch, labels). Received shape {tuple(y_pred.shape)}"
                )
            predicted = ops.cast(ops.greater(y_pred, self.threshold), "float64")
            actual = ops.cast(ops.cast(y_true, "float64") > 0.5, "float64")
            wrong = ops.mean(ops.reshape(ops.abs(predicted - actual), (ops.shape(predicted)[0], -1)), axis=-1)
        else:
            wrong = ops.cast(
                ops.not_equal(to_class_ids(y_true), to_class_ids(y_pred)), "float64"
            )
        if sample_weight is None:
            weights = ops.ones_like(wrong)
        else:
            weights = ops.reshape(ops.cast(sample_weight, "float64"), (-1,))
            weights = ops.broadcast_to(weights, ops.shape(wrong))
        self.wrong.assign_add(ops.sum(wrong * weights))
        self.count.assign_add(ops.sum(weights))

    def result(self):
        return ops.cast(self.wrong / ops.maximum(self.count, 1e-12), self.dtype)

    def reset_state(self):
        self.wrong.assign(0.0)
        self.count.assign(0.0)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "mode": self.mode, "threshold": self.threshold}
