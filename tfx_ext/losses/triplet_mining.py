"""The batch both triplet losses mine: its distance matrix and which pairs are positives or negatives."""

import collections

from keras import ops

from tfx_ext.losses.pairwise_distances import embeddings_and_labels, pairwise_distances

TripletBatch = collections.namedtuple(
    "TripletBatch", ["distances", "positive", "negative", "row_min", "row_max", "dtype"]
)
TripletBatch.__doc__ = """A batch ready for triplet mining.

`distances` is the `[batch, batch]` matrix (float32 for half-precision
embeddings); `positive` marks same-label pairs other than the anchor itself,
`negative` the other-label pairs; `row_min` and `row_max` (shape `[batch, 1]`)
are each row's extremes, the fill values where an anchor has no positive or no
negative; `dtype` is the embeddings' dtype, the loss's.
"""


def triplet_batch(y_true, y_pred, distance_metric, loss_name):
    """Checks and converts the inputs of `loss_name`, then builds its `TripletBatch`.

    `distance_metric` must already have passed `check_distance_metric`.
    """
    labels, embeddings, dtype = embeddings_and_labels(y_true, y_pred, loss_name)
    distances = ops.cast(pairwise_distances(embeddings, distance_metric), embeddings.dtype)
    batch = ops.shape(distances)[0]
    same = ops.equal(labels[:, None], labels[None, :])
    return TripletBatch(
        distances=distances,
        positive=ops.logical_and(same, ops.logical_not(ops.eye(batch, dtype="bool"))),
        negative=ops.logical_not(same),
        row_min=ops.min(distances, axis=1, keepdims=True),
        row_max=ops.max(distances, axis=1, keepdims=True),
        dtype=dtype,
    )
