"""Contrastive loss for siamese networks.

Replaces `tfa.losses.ContrastiveLoss` (same convention: `y_pred` is the
distance between the two embeddings, `y_true` is 1 for similar pairs).
Keras 3 core has no contrastive loss.
"""

import keras
from keras import ops

from tfx_ext.arguments import check_number
from tfx_ext.ranks import squeeze_or_expand_to_same_rank


def contrastive_loss(y_true, y_pred, margin=1.0):
    """`y * d**2 + (1 - y) * max(margin - d, 0)**2` for distances `d` and labels `y`."""
    y_pred = ops.convert_to_tensor(y_pred)
    y_true = ops.cast(y_true, y_pred.dtype)
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

    def __init__(self, margin=1.0, reduction="sum_over_batch_size", name="contrastive_loss", dtype=None):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.margin = check_number("margin", margin, low=0.0, low_open=True)

    def call(self, y_true, y_pred):
        y_true, y_pred = squeeze_or_expand_to_same_rank(y_true, y_pred)
        return contrastive_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {**super().get_config(), "margin": self.margin}
