"""Generalized intersection-over-union loss for bounding boxes.

Replaces `tfa.losses.GIoULoss` and `giou_loss` (same arguments, defaults and
results). Keras 3 core has no box loss (KerasCV/KerasHub have their own).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, invalid


def _divide_no_nan(numerator, denominator):
    safe = ops.where(ops.equal(denominator, 0.0), ops.ones_like(denominator), denominator)
    return ops.where(ops.equal(denominator, 0.0), ops.zeros_like(numerator), numerator / safe)


def _extent(low, high):
    return ops.maximum(high - low, 0.0)


def giou(boxes1, boxes2, mode="giou"):
    """GIoU (or IoU, `mode="iou"`) of boxes `[y_min, x_min, y_max, x_max]`, over the last axis."""
    y1_min, x1_min, y1_max, x1_max = ops.unstack(boxes1, 4, axis=-1)
    y2_min, x2_min, y2_max, x2_max = ops.unstack(boxes2, 4, axis=-1)
    area1 = _extent(x1_min, x1_max) * _extent(y1_min, y1_max)
    area2 = _extent(x2_min, x2_max) * _extent(y2_min, y2_max)
    intersection = _extent(ops.maximum(x1_min, x2_min), ops.minimum(x1_max, x2_max)) * _extent(
        ops.maximum(y1_min, y2_min), ops.minimum(y1_max, y2_max)
    )
    union = area1 + area2 - intersection
    iou = _divide_no_nan(intersection, union)
    if mode == "iou":
        return iou
    enclosure = _extent(ops.minimum(x1_min, x2_min), ops.maximum(x1_max, x2_max)) * _extent(
        ops.minimum(y1_min, y2_min), ops.maximum(y1_max, y2_max)
    )
    return iou - _divide_no_nan(enclosure - union, enclosure)


def _boxes(y_true, y_pred):
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in str(y_pred.dtype):
        y_pred = ops.cast(y_pred, "float32")
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    for argument, boxes in (("y_true", y_true), ("y_pred", y_pred)):
        if not boxes.shape or boxes.shape[-1] != 4:
            raise invalid(
                argument,
                "boxes [y_min, x_min, y_max, x_max] on the last axis (size 4)",
                owner="giou_loss",
                received=f"{argument}.shape={tuple(boxes.shape)}",
            )
    return y_true, y_pred


@keras.saving.register_keras_serializable(package="tfx_ext")
def giou_loss(y_true, y_pred, mode="giou"):
    """`1 - GIoU` (or `1 - IoU`) per box pair, as `tfa.losses.giou_loss`.

    Args:
        y_true: True boxes `[y_min, x_min, y_max, x_max]`, shape `(..., 4)`.
        y_pred: Predicted boxes, same layout.
        mode: `"giou"` (default) or `"iou"`.

    Returns:
        The loss per box, in `[0, 2]` (GIoU) or `[0, 1]` (IoU); axes of
        size 1 are squeezed, as TFA.

    Example:

    >>> giou_loss([[4.0, 3.0, 7.0, 5.0]], [[3.0, 4.0, 6.0, 8.0]])   # IoU 0.125 (mode="iou": 0.875)
    1.075
    """
    check_choice("mode", mode, ("giou", "iou"))
    y_true, y_pred = _boxes(y_true, y_pred)
    loss = 1.0 - giou(y_pred, y_true, mode)
    # TFA squeezed every axis of size 1; only statically known ones can be
    # (an unknown batch size must keep its axis for Keras's reduction).
    ones = tuple(axis for axis, size in enumerate(loss.shape) if size == 1)
    return ops.squeeze(loss, axis=ones) if ones else loss


@keras.saving.register_keras_serializable(package="tfx_ext")
class GIoULoss(keras.losses.Loss):
    """Generalized intersection over union loss (Rezatofighi et al., 2019).

    `1 - GIoU`, where GIoU is IoU minus the share of the smallest enclosing
    box that the union leaves empty: unlike `1 - IoU`, it still has a
    gradient when the boxes do not overlap.

    Args:
        mode: `"giou"` (default) or `"iou"`.
        reduction: Type of reduction. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"giou_loss"`.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: True boxes `[y_min, x_min, y_max, x_max]`, shape `(batch, 4)`.
        y_pred: Predicted boxes, same layout.

    Example:

    >>> GIoULoss()([[4., 3., 7., 5.], [5., 6., 10., 7.]], [[3., 4., 6., 8.], [14., 14., 15., 15.]])
    1.5041667
    """

    def __init__(self, mode="giou", reduction="sum_over_batch_size", name="giou_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.mode = check_choice("mode", mode, ("giou", "iou"))

    def call(self, y_true, y_pred):
        y_true, y_pred = _boxes(y_true, y_pred)
        # Not squeezed here: one loss per box, so sample weights keep their meaning.
        return 1.0 - giou(y_pred, y_true, self.mode)

    def get_config(self):
        # keras.losses.Loss.get_config omits `dtype`; it is a constructor argument.
        return {**super().get_config(), "dtype": self.dtype, "mode": self.mode}
