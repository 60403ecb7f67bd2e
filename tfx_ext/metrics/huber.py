"""Streaming Huber metric.

Keras 3 has the Huber *loss* (`keras.losses.Huber`, whose config loses its
`delta`: use `tfx_ext.losses.HuberLoss`) but no Huber metric; `tfa` had none
either. This one is exact over a whole epoch.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number
from tfx_ext._core.predictions import squeeze_or_expand_to_same_rank
from tfx_ext.metrics.input_checks import after, check_same_shape


@keras.saving.register_keras_serializable(package="tfx_ext")
class HuberMetric(keras.metrics.MeanMetricWrapper):
    """Mean Huber loss over every example seen, not the mean of batch means.

    Keeps the sum of per-example Huber losses and the (weighted) number of
    examples, so uneven batches (a short last batch) are counted right.

    Args:
        threshold: The point where the loss turns from quadratic to linear,
            a float > 0 (the `delta` of `keras.losses.Huber`). Defaults to `1.0`.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Raises:
        ValueError: `threshold` is not > 0; in `update_state`, `y_true` and
            `y_pred` of different shapes (after adding or dropping a trailing
            axis of 1, as Keras losses do), which would otherwise broadcast
            into a plausible wrong number (`InvalidArgumentError` inside a
            `tf.function`).

    Example:

    >>> model.compile(loss=tfx_ext.losses.HuberLoss(2.0), metrics=[HuberMetric(2.0)])
    """

    def __init__(self, threshold=1.0, name="huber_metric", dtype=None):
        threshold = check_number("threshold", threshold, low=0.0, low_open=True)
        super().__init__(fn=keras.losses.huber, name=name, dtype=dtype, delta=threshold)
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "down"
        self.threshold = threshold

    def update_state(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.convert_to_tensor(y_true)
        if len(y_pred.shape) == 1:
            # One value per example: `huber` would average the whole batch into one value.
            y_pred = ops.expand_dims(y_pred, -1)
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        # `huber` would broadcast (4, 1) against (4, 3), or fail deep in an op.
        y_true, y_pred = after(check_same_shape(y_true, y_pred, "HuberMetric"), y_true, y_pred)
        return super().update_state(y_true, y_pred, sample_weight=sample_weight)

    def get_config(self):
        # Metric's config (name, dtype), not MeanMetricWrapper's: that one adds
        # `fn` and `delta`, which are not constructor arguments here.
        return {**keras.metrics.Metric.get_config(self), "threshold": self.threshold}
