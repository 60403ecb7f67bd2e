"""Triplet loss with online semi-hard negative mining.

Replaces `tfa.losses.TripletSemiHardLoss` (same mining rule and distances).
Keras 3 core has no metric-learning losses.
"""

import keras
from keras import ops

from tfx_ext.arguments import check_choice, check_number

DISTANCE_METRICS = ("L2", "squared-L2", "angular")


def pairwise_distances(embeddings, distance_metric="L2"):
    """Distance matrix `[batch, batch]` between the rows of `embeddings`.

    `"L2"` is Euclidean, `"squared-L2"` its square, `"angular"` is one minus
    the cosine similarity. The diagonal is exactly zero, with finite gradients.
    """
    if distance_metric == "angular":
        normalized = embeddings / ops.sqrt(
            ops.maximum(ops.sum(ops.square(embeddings), axis=-1, keepdims=True), 1e-12)
        )
        distances = 1.0 - ops.matmul(normalized, ops.transpose(normalized))
    else:
        sq_norms = ops.sum(ops.square(embeddings), axis=-1)
        gram = ops.matmul(embeddings, ops.transpose(embeddings))
        distances = ops.maximum(sq_norms[:, None] + sq_norms[None, :] - 2.0 * gram, 0.0)
        if distance_metric == "L2":
            # sqrt has an infinite gradient at 0: take it of 1 there, then zero it.
            positive = distances > 0.0
            distances = ops.sqrt(ops.where(positive, distances, 1.0))
            distances = ops.where(positive, distances, 0.0)
    off_diagonal = 1.0 - ops.eye(ops.shape(embeddings)[0], dtype=embeddings.dtype)
    return distances * off_diagonal


def triplet_semihard_loss(y_true, y_pred, margin=1.0, distance_metric="L2"):
    """Mean over anchor-positive pairs of `max(d(a, p) - d(a, n) + margin, 0)`.

    For each anchor `a` and positive `p` (same label, `p != a`) the negative
    `n` is the closest one farther than `p` (semi-hard); when there is none,
    the farthest negative. Pairs whose anchor has no negative in the batch are
    left out. Returns 0 when the batch has no valid pair.
    """
    embeddings = ops.convert_to_tensor(y_pred)
    labels = ops.reshape(y_true, (-1,))
    distances = pairwise_distances(embeddings, distance_metric)
    batch = ops.shape(distances)[0]

    same = ops.equal(labels[:, None], labels[None, :])
    positive = ops.logical_and(same, ops.logical_not(ops.eye(batch, dtype="bool")))
    negative = ops.logical_not(same)

    anchor_positive = distances[:, :, None]  # [a, p, 1]
    anchor_negative = distances[:, None, :]  # [a, 1, n]
    semi_hard = ops.logical_and(negative[:, None, :], anchor_negative > anchor_positive)
    big = ops.max(distances) + 1.0
    closest_semi_hard = ops.min(ops.where(semi_hard, anchor_negative, big), axis=2)
    farthest_negative = ops.max(ops.where(negative, distances, -big), axis=1)
    negative_distance = ops.where(
        ops.any(semi_hard, axis=2), closest_semi_hard, farthest_negative[:, None]
    )

    valid = ops.logical_and(positive, ops.any(negative, axis=1)[:, None])
    hinge = ops.maximum(distances - negative_distance + margin, 0.0)
    valid = ops.cast(valid, distances.dtype)
    return ops.sum(hinge * valid) / ops.maximum(ops.sum(valid), 1.0)


@keras.saving.register_keras_serializable(package="tfx_ext")
class TripletSemiHardLoss(keras.losses.Loss):
    """Triplet loss with semi-hard negatives mined in the batch (Schroff et al., 2015).

    Trains embeddings so that examples of the same class are closer than
    examples of other classes by at least `margin`. Batches need several
    examples per class. The loss is one value for the whole batch (triplets
    cross examples), so `sample_weight` is not supported.

    Args:
        margin: The margin, a float >= 0. Defaults to `1.0`.
        distance_metric: `"L2"` (default), `"squared-L2"` or `"angular"`.
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
        self.distance_metric = check_choice("distance_metric", distance_metric, DISTANCE_METRICS)

    def call(self, y_true, y_pred):
        if len(y_pred.shape) != 2:
            raise ValueError(
                "TripletSemiHardLoss expects embeddings of shape (batch, dim). "
                f"Received y_pred with shape {tuple(y_pred.shape)}"
            )
        return triplet_semihard_loss(y_true, y_pred, self.margin, self.distance_metric)

    def get_config(self):
        return {
            "name": self.name,
            "margin": self.margin,
            "distance_metric": self.distance_metric,
        }
