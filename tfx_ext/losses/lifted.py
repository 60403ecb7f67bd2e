"""Lifted structured loss for metric learning (Oh Song et al., CVPR 2016).

Replaces `tfa.losses.LiftedStructLoss` and `lifted_struct_loss` (same
arguments and results). Keras 3 core has no metric-learning loss.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number
from tfx_ext.losses.pairwise_distances import embeddings_and_labels, pairwise_distances


@keras.saving.register_keras_serializable(package="tfx_ext")
def lifted_struct_loss(labels, embeddings, margin=1.0):
    """The lifted structured loss of a batch, as `tfa.losses.lifted_struct_loss`.

    For each positive pair `(i, j)`: `J = log(sum over negatives k of i or j
    of exp(margin - d(., k))) + d(i, j)`, and the loss is
    `sum(max(J, 0)**2) / (2 * number of positive pairs)` (a smooth
    log-sum-exp over the hardest negatives of both ends of the pair).

    Args:
        labels: Integer labels, shape `(batch,)` or `(batch, 1)`.
        embeddings: Embeddings, shape `(batch, dim)`, not L2-normalized.
        margin: The margin. Defaults to `1.0`.

    Returns:
        The scalar loss, in the dtype of `embeddings` (half precision is
        computed in float32).
    """
    labels, embeddings, dtype = embeddings_and_labels(labels, embeddings, "lifted_struct_loss")
    distances = pairwise_distances(embeddings, "L2")
    same = ops.equal(labels[:, None], labels[None, :])
    negatives = ops.cast(ops.logical_not(same), distances.dtype)
    diff = margin - distances
    # The largest `margin - d` over each row's negatives, shifted so the max ignores the rest.
    row_min = ops.min(diff, axis=1, keepdims=True)
    row_max = ops.max((diff - row_min) * negatives, axis=1, keepdims=True) + row_min
    pair_max = ops.maximum(row_max, ops.transpose(row_max))  # [i, j]
    # exp_sums[i, j] = sum over negatives k of j of exp(diff[j, k] - pair_max[i, j]).
    exp_sums = ops.sum(
        negatives[None, :, :] * ops.exp(diff[None, :, :] - pair_max[:, :, None]), axis=2
    )
    loss_mat = pair_max + ops.log(exp_sums + ops.transpose(exp_sums)) + distances
    positives = ops.cast(same, distances.dtype) - ops.eye(
        ops.shape(distances)[0], dtype=distances.dtype
    )
    pairs = ops.sum(positives) / 2.0
    loss = 0.25 * ops.sum(ops.square(ops.maximum(loss_mat * positives, 0.0))) / pairs
    return ops.cast(loss, dtype)


@keras.saving.register_keras_serializable(package="tfx_ext")
class LiftedStructLoss(keras.losses.Loss):
    """Lifted structured loss (Oh Song et al., 2016): every positive pair against all negatives of the batch.

    Pulls same-label embeddings together and pushes every other example of
    the batch beyond `margin`, through a smooth maximum over the negatives.
    The loss is one value for the batch, so there is no reduction to choose
    (as TFA). See `lifted_struct_loss`.

    Args:
        margin: The margin, a float >= 0. Defaults to `1.0`.
        name: Optional name for the loss instance. Defaults to `"lifted_struct_loss"`.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: Integer labels, shape `(batch,)` or `(batch, 1)`.
        y_pred: Embeddings, shape `(batch, dim)`.

    Example:

    >>> model.compile(optimizer="adam", loss=LiftedStructLoss(margin=1.0))
    """

    def __init__(self, margin=1.0, name="lifted_struct_loss", dtype=None):
        super().__init__(name=name, reduction=None, dtype=dtype)
        self.margin = check_number("margin", margin, low=0.0)

    def call(self, y_true, y_pred):
        return lifted_struct_loss(y_true, y_pred, self.margin)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype, "margin": self.margin}
