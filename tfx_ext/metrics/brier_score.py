"""Brier score.

Keras 3 core has no Brier score (nor had TFA); `keras.metrics.MeanSquaredError`
on one-hot labels gives it divided by the number of classes.
"""

import keras
from keras import ops

from tfx_ext.label_format import has_class_axis, is_one_hot


def brier_score(y_true, y_pred):
    """Per-example `sum_c (p_c - y_c)**2`; one probability per example means binary."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.convert_to_tensor(y_true)
    if has_class_axis(y_pred):
        if not is_one_hot(y_true, y_pred):
            y_true = ops.one_hot(ops.cast(ops.reshape(y_true, (-1,)), "int32"), y_pred.shape[-1])
        return ops.sum(ops.square(y_pred - ops.cast(y_true, y_pred.dtype)), axis=-1)
    p = ops.reshape(y_pred, (-1,))
    return ops.square(p - ops.cast(ops.reshape(y_true, (-1,)), p.dtype))


@keras.saving.register_keras_serializable(package="tfx_ext")
class BrierScore(keras.metrics.MeanMetricWrapper):
    """Mean Brier score over every example seen (Brier, 1950).

    `sum_c (p_c - y_c)**2` averaged over examples: 0 for perfect confident
    predictions, 2 at worst. Binary models giving one probability per example
    get `(p - y)**2` (`sklearn.metrics.brier_score_loss`). Labels may be
    class ids or one-hot rows.

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Example:

    >>> model.compile(loss="sparse_categorical_crossentropy", metrics=[BrierScore()])
    """

    def __init__(self, name="brier_score", dtype=None):
        super().__init__(fn=brier_score, name=name, dtype=dtype)
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}
