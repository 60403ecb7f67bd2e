"""Contrastive loss for siamese networks.

Replaces `tfa.losses.ContrastiveLoss` (same convention: `y_pred` is the
distance between the two embeddings, `y_true` is 1 for similar pairs).
Keras 3 core has no contrastive loss.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number
from tfx_ext._core.predictions import shapes_compatible, squeeze_or_expand_to_same_rank


def _check_same_shape(y_true, y_pred):
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    if not shapes_compatible(true_shape, pred_shape):
        raise ValueError(
            "contrastive_loss expects one label per distance: y_true and y_pred of "
            f"the same shape. Received: y_true.shape={true_shape}, y_pred.shape={pred_shape}"
        )


@keras.saving.register_keras_serializable(package="tfx_ext")
def contrastive_loss(y_true, y_pred, margin=1.0):
    """`y * d**2 + (1 - y) * max(margin - d, 0)**2` for distances `d` and labels `y`.

    As `tfa.losses.contrastive_loss`; registered, so a model compiled with
    `loss=contrastive_loss` reloads after `import tfx_ext`.

    Args:
        y_true: Binary labels, 1 for similar pairs, shape `(batch,)`.
        y_pred: Distances between the pairs' embeddings, shape `(batch,)`
            (`(batch, 1)` against `(batch,)` is accepted either way).
        margin: Minimum distance wanted between dissimilar pairs.

    Returns:
        The loss per pair, shape of `y_pred`.

    Raises:
        ValueError: if `y_true` and `y_pred` hold different numbers of pairs.

    Example:

    >>> contrastive_loss([1, 0], [0.5, 0.2])   # 0.5**2, (1 - 0.2)**2
    [0.25, 0.64]
    """
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
    _check_same_shape(y_true, y_pred)
    hinge = ops.maximum(margin - y_pred, 0.0)
    return y_true * ops.square(y_pred) + (1.0 - y_true) * ops.square(hinge)


@keras.saving.register_keras_serializable(package="tfx_ext")
class ContrastiveLoss(keras.losses.Loss):
    """Contrastive loss (Hadsell, Chopra & LeCun, 2006).

    Pulls similar pairs together (`y_true=1`: loss `d**2`) and pushes
    dissimilar pairs at least `margin` apart (`y_true=0`: loss
    `max(margin - d, 0)**2`).

    Args:
        margin: Minimum distance wanted between dissimilar pairs, a float > 0.
            Defaults to `1.0`.
        reduction: Type of reduction. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: Binary labels, 1 for similar pairs, shape `(batch,)`.
        y_pred: Distances between the pairs' embeddings, shape `(batch,)`.

    Example:

    >>> d = keras.ops.norm(left - right, axis=-1)
    >>> ContrastiveLoss(margin=1.0)(labels, d)
    """

    def __init__(
        self, margin=1.0, reduction="sum_over_batch_size", name="contrastive_loss", dtype=None
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = check_number("margin", margin, low=0.0, low_open=True)

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        # keras.losses.Loss.get_config omits `dtype`; it is a constructor argument.
        return {**super().get_config(), "dtype": self.dtype, "margin": self.margin}
