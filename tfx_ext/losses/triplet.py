"""Triplet loss with online semi-hard negative mining.

Replaces `tfa.losses.TripletSemiHardLoss` and `tfa.losses.triplet_semihard_loss`
(same mining rule, distances and results). Keras 3 core has no metric-learning
losses.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number
from tfx_ext.losses.pairwise_distances import (
    check_distance_metric,
    loss_from_config,
    serialize_distance_metric,
)
from tfx_ext.losses.triplet_mining import triplet_batch


@keras.saving.register_keras_serializable(package="tfx_ext")
def triplet_semihard_loss(y_true, y_pred, margin=1.0, distance_metric="L2"):
    """Triplet loss with semi-hard negative mining, as `tfa.losses.triplet_semihard_loss`.

    Mean over anchor-positive pairs (same label, `p != a`) of
    `max(d(a, p) - d(a, n) + margin, 0)`, where `n` is the closest negative
    farther than `p` (semi-hard) or, when there is none, the farthest negative.
    An anchor with no negative in the batch takes the smallest distance of its
    row instead (TFA's rule). Returns 0 when the batch has no positive pair.

    Args:
        y_true: Integer labels, shape `(batch,)` or `(batch, 1)`.
        y_pred: Embeddings, shape `(batch, dim)`, usually L2-normalized.
        margin: The margin. Defaults to `1.0`.
        distance_metric: `"L2"`, `"squared-L2"`, `"angular"`, or a callable
            mapping the embeddings to their `[batch, batch]` distance matrix.

    Returns:
        The scalar loss, in the dtype of `y_pred`.

    Example:

    >>> triplet_semihard_loss([0, 0], [[0.0, 1.0], [1.0, 0.0]])   # 1 + sqrt(2)
    2.4142137
    """
    distance_metric = check_distance_metric(distance_metric)
    distances, positive, negative, row_min, row_max, dtype = triplet_batch(
        y_true, y_pred, distance_metric, "triplet_semihard_loss"
    )

    anchor_positive = distances[:, :, None]  # [a, p, 1]
    anchor_negative = distances[:, None, :]  # [a, 1, n]
    semi_hard = ops.logical_and(negative[:, None, :], anchor_negative > anchor_positive)
    closest_semi_hard = ops.min(ops.where(semi_hard, anchor_negative, row_max[:, :, None]), axis=2)
    # Distances are >= the row minimum, so filling the non-negatives with it
    # gives the farthest negative, or the row minimum when there is none (TFA).
    farthest_negative = ops.max(ops.where(negative, distances, row_min), axis=1, keepdims=True)
    negative_distance = ops.where(ops.any(semi_hard, axis=2), closest_semi_hard, farthest_negative)

    hinge = ops.maximum(distances - negative_distance + margin, 0.0)
    positive = ops.cast(positive, distances.dtype)
    loss = ops.sum(hinge * positive) / ops.maximum(ops.sum(positive), 1.0)
    return ops.cast(loss, dtype)


@keras.saving.register_keras_serializable(package="tfx_ext")
class TripletSemiHardLoss(keras.losses.Loss):
    """Triplet loss with semi-hard negatives mined in the batch (Schroff et al., 2015).

    Trains embeddings so that examples of the same class are closer than
    examples of other classes by at least `margin`. Batches need several
    examples per class. The loss is one value for the whole batch (triplets
    cross examples), so `sample_weight` is not supported. See
    `triplet_semihard_loss` for the exact rule.

    Args:
        margin: The margin, a float >= 0. Defaults to `1.0`.
        distance_metric: `"L2"` (default), `"squared-L2"`, `"angular"`, or a
            callable mapping the embeddings to their distance matrix (register
            it with `keras.saving.register_keras_serializable` to save a model
            using it).
        name: Optional name for the loss instance.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: Integer class labels, shape `(batch,)` or `(batch, 1)`.
        y_pred: Embeddings, shape `(batch, dim)`; usually L2-normalized
            (`keras.layers.UnitNormalization`).

    Example:

    >>> model = keras.Sequential([..., keras.layers.Dense(64),
    ...                           keras.layers.UnitNormalization()])
    >>> model.compile(optimizer="adam", loss=TripletSemiHardLoss(margin=0.5))
    """

    def __init__(self, margin=1.0, distance_metric="L2", name="triplet_semihard_loss", dtype=None):
        super().__init__(name=name, reduction="sum_over_batch_size", dtype=dtype)
        self.margin = check_number("margin", margin, low=0.0)
        self.distance_metric = check_distance_metric(distance_metric)

    def call(self, y_true, y_pred):
        return triplet_semihard_loss(
            ops.convert_to_tensor(y_true),
            ops.convert_to_tensor(y_pred),
            self.margin,
            self.distance_metric,
        )

    def get_config(self):
        return {
            "name": self.name,
            "dtype": self.dtype,
            "margin": self.margin,
            "distance_metric": serialize_distance_metric(self.distance_metric),
        }

    @classmethod
    def from_config(cls, config):
        return loss_from_config(cls, config)
