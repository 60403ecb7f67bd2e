"""Triplet loss with online hard positive and hard negative mining.

Replaces `tfa.losses.TripletHardLoss` and `tfa.losses.triplet_hard_loss` (same
mining rule, soft margin and results). Keras 3 core has none.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_number
from tfx_ext.losses.pairwise_distances import (
    check_distance_metric,
    loss_from_config,
    serialize_distance_metric,
)
from tfx_ext.losses.triplet_mining import triplet_batch


@keras.saving.register_keras_serializable(package="tfx_ext")
def triplet_hard_loss(y_true, y_pred, margin=1.0, soft=False, distance_metric="L2"):
    """Triplet loss over each anchor's hardest positive and hardest negative (batch-hard).

    For every anchor, `hp` is the largest distance to a positive (same label,
    not itself; the row's smallest distance when there is none) and `hn` the
    smallest distance to a negative (the row's largest when there is none).
    The loss is the mean over anchors of `max(hp - hn + margin, 0)`, or of
    `log(1 + exp(hp - hn))` with `soft=True` (Hermans et al., 2017).

    Args:
        y_true: Integer labels, shape `(batch,)` or `(batch, 1)`.
        y_pred: Embeddings, shape `(batch, dim)`, usually L2-normalized.
        margin: The margin (unused with `soft=True`). Defaults to `1.0`.
        soft: Whether to use the soft-margin form. Defaults to `False`.
        distance_metric: `"L2"`, `"squared-L2"`, `"angular"`, or a callable
            mapping the embeddings to their `[batch, batch]` distance matrix.

    Returns:
        The scalar loss, in the dtype of `y_pred`.

    Example:

    >>> triplet_hard_loss([0, 0], [[0.0, 1.0], [1.0, 0.0]])
    1.0
    """
    distance_metric = check_distance_metric(distance_metric)
    distances, positive, negative, row_min, row_max, dtype = triplet_batch(
        y_true, y_pred, distance_metric, "triplet_hard_loss"
    )
    hardest_positive = ops.max(ops.where(positive, distances, row_min), axis=1)
    hardest_negative = ops.min(ops.where(negative, distances, row_max), axis=1)
    gap = hardest_positive - hardest_negative
    if soft:
        losses = ops.log1p(ops.exp(gap))
    else:
        losses = ops.maximum(gap + margin, 0.0)
    return ops.cast(ops.mean(losses), dtype)


@keras.saving.register_keras_serializable(package="tfx_ext")
class TripletHardLoss(keras.losses.Loss):
    """Batch-hard triplet loss: each anchor's hardest positive against its hardest negative.

    Stricter than `TripletSemiHardLoss`, so more sensitive to label noise; the
    usual choice for person re-identification (Hermans et al., 2017). One value
    per batch, so `sample_weight` is not supported. See `triplet_hard_loss`.

    Args:
        margin: The margin, a float >= 0. Defaults to `1.0`.
        soft: Whether to use the soft margin `log(1 + exp(hp - hn))`.
            Defaults to `False`.
        distance_metric: `"L2"` (default), `"squared-L2"`, `"angular"`, or a
            callable mapping the embeddings to their distance matrix.
        name: Optional name for the loss instance.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: Integer class labels, shape `(batch,)` or `(batch, 1)`.
        y_pred: Embeddings, shape `(batch, dim)`.

    Example:

    >>> model.compile(optimizer="adam", loss=TripletHardLoss(margin=0.3))
    """

    def __init__(
        self, margin=1.0, soft=False, distance_metric="L2", name="triplet_hard_loss", dtype=None
    ):
        super().__init__(name=name, reduction="sum_over_batch_size", dtype=dtype)
        self.margin = check_number("margin", margin, low=0.0)
        check_bool("soft", soft)
        self.soft = soft
        self.distance_metric = check_distance_metric(distance_metric)

    def call(self, y_true, y_pred):
        return triplet_hard_loss(
            ops.convert_to_tensor(y_true),
            ops.convert_to_tensor(y_pred),
            self.margin,
            self.soft,
            self.distance_metric,
        )

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "margin": self.margin,
            "soft": self.soft,
            "distance_metric": serialize_distance_metric(self.distance_metric),
        }

    @classmethod
    def from_config(cls, config):
        return loss_from_config(cls, config)
