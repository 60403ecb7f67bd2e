"""Brier score.

Keras 3 core has no Brier score (nor had TFA); `keras.metrics.MeanSquaredError`
on one-hot labels gives it divided by the number of classes.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool
from tfx_ext._core.predictions import has_class_axis
from tfx_ext.metrics.input_checks import checked_labels_and_probabilities


def brier_score(y_true, y_pred, from_logits=False):
    """Per-example `sum_c (p_c - y_c)**2`; one probability per example means binary.

    Args:
        y_true: Class ids `(batch,)` or one-hot rows `(batch, classes)`.
        y_pred: Probabilities `(batch, classes)`, or one probability of class 1
            per example; logits when `from_logits=True`.
        from_logits: Whether `y_pred` holds logits (softmax, or a sigmoid for
            one column, turns them into probabilities).

    Returns:
        The Brier score of each example, shape `(batch,)`.

    Raises:
        ValueError: `y_pred` is not probabilities, labels are out of range, or
            shapes disagree (`InvalidArgumentError` inside a `tf.function`).
    """
    y_true, y_pred, one_hot = checked_labels_and_probabilities(
        y_true, y_pred, from_logits, "BrierScore"
    )
    if has_class_axis(y_pred):
        if not one_hot:
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

    Predictions are checked: values outside [0, 1] or rows not summing to 1
    (logits), class ids outside the columns of `y_pred` and mismatched batch
    sizes raise `ValueError` (`InvalidArgumentError` inside `fit`/`evaluate`).

    Args:
        name: Name of the metric instance.
        dtype: Dtype of the result.
        from_logits: Whether the predictions are logits (a softmax, or a
            sigmoid for one column, is applied first). Defaults to `False`.

    Example:

    >>> model.compile(loss="sparse_categorical_crossentropy", metrics=[BrierScore()])
    """

    def __init__(self, name="brier_score", dtype=None, from_logits=False):
        check_bool("from_logits", from_logits)
        super().__init__(fn=brier_score, name=name, dtype=dtype, from_logits=from_logits)
        self.from_logits = from_logits
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "down"

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "from_logits": self.from_logits}
