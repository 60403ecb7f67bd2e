"""Huber loss that keeps its threshold ("Hands-On ML" ch. 12's `HuberLoss`).

`keras.losses.Huber(delta)` computes the same values, but its `get_config`
(Keras 3.15) returns only `name` and `reduction`: a compiled model saved as
`.keras` reloads with `delta=1.0` and trains and evaluates with it, silently.
`HuberLoss(threshold)` is the book's component with a complete config.
"""

import keras

from tfx_ext._core.arguments import check_number


def _check_threshold(threshold):
    return check_number("threshold", threshold, low=0.0, low_open=True)


@keras.saving.register_keras_serializable(package="tfx_ext")
def huber_loss(y_true, y_pred, threshold=1.0):
    """Mean Huber loss over the last axis, quadratic below `threshold`, linear above.

    Per element, with `e = y_true - y_pred`: `0.5 * e**2` where `|e| <= threshold`,
    else `threshold * |e| - 0.5 * threshold**2`. Registered, so a model
    compiled with `loss=huber_loss` reloads after `import tfx_ext`.

    Args:
        y_true: Targets, shape `(batch, d0, ..., dn)`.
        y_pred: Predictions, same shape (`(batch, 1)` against `(batch,)` is
            accepted either way).
        threshold: Where the loss turns linear, a float > 0. Defaults to `1.0`.

    Returns:
        The loss per example, shape `(batch, d0, ..., dn-1)`.

    Example:

    >>> huber_loss([[0., 1.], [0., 0.]], [[0.6, 0.4], [0.4, 0.6]])
    [0.18, 0.13]
    """
    # The math is Keras's `huber` (delta == threshold); only the config was missing.
    return keras.losses.huber(y_true, y_pred, delta=_check_threshold(threshold))


@keras.saving.register_keras_serializable(package="tfx_ext")
class HuberLoss(keras.losses.Loss):
    """Huber loss (Huber, 1964), robust to outliers, with a threshold that reloads.

    As `keras.losses.Huber(delta=threshold)`, but `get_config` holds
    `threshold` and `dtype`, so a model compiled with it and saved as
    `.keras` trains and evaluates with the same loss after
    `keras.models.load_model(path)` (no `custom_objects`).

    Args:
        threshold: Where the loss turns from quadratic to linear, a float > 0
            (Keras's `delta`). Defaults to `1.0`.
        reduction: Type of reduction. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: Targets, shape `(batch, d0, ..., dn)`.
        y_pred: Predictions, same shape.
        sample_weight: Optional weights, as for any Keras loss.

    Example:

    >>> model.compile(optimizer="nadam", loss=HuberLoss(2.0))
    >>> model.save("model.keras")
    >>> keras.models.load_model("model.keras").loss.threshold
    2.0
    """

    def __init__(
        self, threshold=1.0, reduction="sum_over_batch_size", name="huber_loss", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.threshold = _check_threshold(threshold)

    def call(self, y_true, y_pred):
        return keras.losses.huber(y_true, y_pred, delta=self.threshold)

    def get_config(self):
        # keras.losses.Loss.get_config omits `dtype`; it is a constructor argument.
        return {**super().get_config(), "threshold": self.threshold, "dtype": self.dtype}
