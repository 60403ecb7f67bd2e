"""Pairwise distance matrices and the distance-metric argument of the triplet losses."""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid

DISTANCE_METRICS = ("L2", "squared-L2", "angular")


def check_distance_metric(distance_metric):
    """Accepts one of `DISTANCE_METRICS` or a callable; refuses anything else."""
    if callable(distance_metric):
        return distance_metric
    expected = "one of 'L2', 'squared-L2', 'angular', or a callable returning the distance matrix"
    if not isinstance(distance_metric, str):
        raise invalid("distance_metric", expected, distance_metric, TypeError)
    if distance_metric not in DISTANCE_METRICS:
        raise invalid("distance_metric", expected, distance_metric)
    return distance_metric


def serialize_distance_metric(distance_metric):
    """A string as is; a callable as a Keras-serialized object (register it to reload it)."""
    if isinstance(distance_metric, str):
        return distance_metric
    return keras.saving.serialize_keras_object(distance_metric)


def deserialize_distance_metric(distance_metric):
    if isinstance(distance_metric, dict):
        return keras.saving.deserialize_keras_object(distance_metric)
    return distance_metric


def loss_from_config(cls, config):
    """`from_config` of a loss whose config may hold a serialized callable `distance_metric`."""
    config = dict(config)
    if "distance_metric" in config:
        config["distance_metric"] = deserialize_distance_metric(config["distance_metric"])
    return cls(**config)


def pairwise_distances(embeddings, distance_metric="L2"):
    """Distance matrix `[batch, batch]` between the rows of `embeddings`.

    `"L2"` is Euclidean, `"squared-L2"` its square, `"angular"` is one minus
    the cosine similarity; a callable gets the embeddings and returns the matrix
    (used as is). For the named metrics the diagonal is exactly zero, with
    finite gradients.
    """
    if callable(distance_metric):
        return ops.convert_to_tensor(distance_metric(embeddings))
    if distance_metric == "angular":
        normalized = embeddings / ops.sqrt(
            ops.maximum(ops.sum(ops.square(embeddings), axis=-1, keepdims=True), 1e-12)
        )
        distances = ops.maximum(1.0 - ops.matmul(normalized, ops.transpose(normalized)), 0.0)
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


def embeddings_and_labels(y_true, y_pred, loss_name):
    """Converts the triplet losses' inputs, checking one label per embedding row.

    Half-precision embeddings are computed in float32 (distances lose too much
    in float16); the caller casts the loss back to `dtype`.
    """
    embeddings = ops.convert_to_tensor(y_pred)
    dtype = embeddings.dtype
    if dtype in ("float16", "bfloat16"):
        embeddings = ops.cast(embeddings, "float32")
    elif "float" not in str(dtype):
        embeddings = ops.cast(embeddings, keras.backend.floatx())
    labels = ops.convert_to_tensor(y_true)
    if len(embeddings.shape) != 2:
        raise invalid(
            "y_pred",
            "embeddings of shape (batch, dim)",
            owner=loss_name,
            received=f"y_pred.shape={tuple(embeddings.shape)}",
        )
    if len(labels.shape) > 2 or (len(labels.shape) == 2 and labels.shape[1] not in (None, 1)):
        raise invalid(
            "y_true",
            "integer labels of shape (batch,) or (batch, 1)",
            owner=loss_name,
            received=f"y_true.shape={tuple(labels.shape)}",
        )
    true_shape = tuple(labels.shape)
    labels = ops.reshape(labels, (-1,))
    rows, count = embeddings.shape[0], labels.shape[0]
    if rows is not None and count is not None and rows != count:
        raise ValueError(
            f"{loss_name} expects one label per embedding. Received: y_true with "
            f"{count} labels and y_pred with {rows} rows (shapes {true_shape} "
            f"and {tuple(embeddings.shape)})"
        )
    return labels, embeddings, dtype
