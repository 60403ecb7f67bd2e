"""Pinball (quantile) loss.

Replaces `tfa.losses.PinballLoss`; also takes one quantile per output column,
so one model predicts several quantiles at once. Keras 3 core has no
quantile loss.
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_number, invalid
from tfx_ext._core.predictions import expand_to_columns


@keras.saving.register_keras_serializable(package="tfx_ext")
def pinball_loss(y_true, y_pred, tau=0.5):
    """Mean pinball loss over the last axis: `max(tau * d, (tau - 1) * d)`, `d = y_true - y_pred`.

    As `tfa.losses.pinball_loss`; registered, so a model compiled with
    `loss=pinball_loss` reloads after `import tfx_ext`.

    Args:
        y_true: Targets, shape `(batch, d0, ..., dn)`; a list is fine.
        y_pred: Predictions, same shape.
        tau: A float in `[0, 1]`, or a sequence broadcast over the last
            axis of `y_pred`. Defaults to `0.5`.

    Returns:
        The loss per example, shape `(batch, d0, ..., dn-1)`.

    Example:

    >>> pinball_loss([0., 0., 1., 1.], [1., 1., 1., 0.], tau=0.1)
    0.475
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
    tau = ops.cast(ops.convert_to_tensor(tau), y_pred.dtype)
    delta = y_true - y_pred
    return ops.mean(ops.maximum(tau * delta, (tau - 1.0) * delta), axis=-1)


def _check_tau(tau):
    if isinstance(tau, np.ndarray) and tau.ndim == 1:  # TFA took a tensor of quantiles
        tau = [float(t) for t in tau]
    elif isinstance(tau, np.ndarray) and tau.ndim == 0:
        tau = float(tau)
    if isinstance(tau, (list, tuple)):
        if not tau:
            raise invalid("tau", "a float in [0, 1] or a non-empty list of them", tau)
        return [check_number("tau", t, 0.0, 1.0) for t in tau]
    return check_number("tau", tau, 0.0, 1.0)


@keras.saving.register_keras_serializable(package="tfx_ext")
class PinballLoss(keras.losses.Loss):
    """Pinball loss for quantile regression (Koenker & Bassett, 1978).

    Minimizing it makes `y_pred` the `tau`-quantile of `y_true` given the
    inputs: under-prediction costs `tau` per unit, over-prediction `1 - tau`.
    `tau=0.5` is half the mean absolute error.

    Args:
        tau: The quantile, a float in `[0, 1]`, or a list with one quantile
            per column of `y_pred` (e.g. `[0.1, 0.5, 0.9]` for an interval and
            its median). Defaults to `0.5`.
        reduction: Type of reduction. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance.
        dtype: The dtype of the loss's computations.

    Example:

    >>> model.compile(optimizer="adam", loss=PinballLoss(tau=[0.1, 0.5, 0.9]))
    """

    def __init__(self, tau=0.5, reduction="sum_over_batch_size", name="pinball_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.tau = _check_tau(tau)

    def call(self, y_true, y_pred):
        # Loss.__call__ maps over nested structures, so a Python list arrives
        # as a list of scalar tensors: stack it back into one tensor.
        y_true = ops.convert_to_tensor(y_true)
        y_pred = ops.convert_to_tensor(y_pred)
        if isinstance(self.tau, list) and y_pred.shape[-1] not in (None, len(self.tau)):
            raise ValueError(
                f"PinballLoss has {len(self.tau)} quantiles (tau={self.tau}) but "
                f"y_pred has {y_pred.shape[-1]} columns: expected one per quantile."
            )
        y_true, y_pred = expand_to_columns(y_true, y_pred)
        return pinball_loss(y_true, y_pred, self.tau)

    def get_config(self):
        # keras.losses.Loss.get_config omits `dtype`; it is a constructor argument.
        return {**super().get_config(), "dtype": self.dtype, "tau": self.tau}
