"""N-pair losses for metric learning (Sohn, NeurIPS 2016).

Replace `tfa.losses.NpairsLoss`, `npairs_loss`, `NpairsMultilabelLoss` and
`npairs_multilabel_loss` (same arguments and results). Keras 3 core has no
metric-learning loss.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid


def _similarities(y_pred, owner):
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in str(y_pred.dtype):
        y_pred = ops.cast(y_pred, keras.backend.floatx())
    shape = tuple(y_pred.shape)
    if len(shape) != 2 or None not in shape and shape[0] != shape[1]:
        raise invalid(
            "y_pred",
            "the square similarity matrix of the batch, shape (batch, batch)",
            owner=owner,
            received=f"y_pred.shape={shape}",
        )
    return y_pred


def _check_rows(labels, y_pred, owner, expected):
    if None not in (labels.shape[0], y_pred.shape[0]) and labels.shape[0] != y_pred.shape[0]:
        raise invalid(
            "y_true",
            f"{expected} (y_pred has shape {tuple(y_pred.shape)})",
            owner=owner,
            received=f"y_true.shape={tuple(labels.shape)}",
        )


def _soft_target_cross_entropy(targets, y_pred):
    targets = targets / ops.sum(targets, axis=1, keepdims=True)
    return ops.mean(ops.categorical_crossentropy(targets, y_pred, from_logits=True))


@keras.saving.register_keras_serializable(package="tfx_ext")
def npairs_loss(y_true, y_pred):
    """The n-pairs loss: softmax cross-entropy of each row of similarities against its same-label columns.

    As `tfa.losses.npairs_loss`.

    Args:
        y_true: Integer labels, shape `(batch,)` (or `(batch, 1)`).
        y_pred: Similarities between two embedding matrices `a` and `b`,
            `a @ b.T`, shape `(batch, batch)`.

    Returns:
        The scalar loss (mean over rows).

    Example:

    >>> npairs_loss([0, 1, 2], [[5.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 5.0]])
    0.035976
    """
    y_pred = _similarities(y_pred, "npairs_loss")
    labels = ops.convert_to_tensor(y_true)
    if len(labels.shape) > 2 or (len(labels.shape) == 2 and labels.shape[1] not in (None, 1)):
        raise invalid(
            "y_true",
            "integer labels of shape (batch,) or (batch, 1)",
            owner="npairs_loss",
            received=f"y_true.shape={tuple(labels.shape)}",
        )
    labels = ops.reshape(ops.cast(labels, y_pred.dtype), (-1,))
    _check_rows(labels, y_pred, "npairs_loss", "one label per row of y_pred")
    same = ops.cast(ops.equal(labels[:, None], labels[None, :]), y_pred.dtype)
    return _soft_target_cross_entropy(same, y_pred)


@keras.saving.register_keras_serializable(package="tfx_ext")
def npairs_multilabel_loss(y_true, y_pred):
    """The n-pairs loss for multilabel data, as `tfa.losses.npairs_multilabel_loss`.

    The target of row `i` at column `j` is the number of labels `i` and `j`
    share, each row normalized to sum to 1.

    Args:
        y_true: 0/1 label indicators, shape `(batch, num_classes)` (a
            `tf.SparseTensor` is made dense first).
        y_pred: Similarities, shape `(batch, batch)`.

    Returns:
        The scalar loss (mean over rows).
    """
    y_pred = _similarities(y_pred, "npairs_multilabel_loss")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if isinstance(y_true, tf.SparseTensor):  # TFA accepted sparse indicators
            y_true = tf.sparse.to_dense(y_true)
    labels = ops.cast(ops.convert_to_tensor(y_true), y_pred.dtype)
    if len(labels.shape) != 2:
        raise invalid(
            "y_true",
            "0/1 label indicators of shape (batch, num_classes)",
            owner="npairs_multilabel_loss",
            received=f"y_true.shape={tuple(labels.shape)}",
        )
    _check_rows(labels, y_pred, "npairs_multilabel_loss", "one row of labels per row of y_pred")
    return _soft_target_cross_entropy(ops.matmul(labels, ops.transpose(labels)), y_pred)


class _NpairsBase(keras.losses.Loss):
    # The loss is already one value for the batch (rows are pairs of the same
    # batch), so there is no reduction to choose, as in TFA.
    def __init__(self, name, dtype):
        super().__init__(name=name, reduction=None, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


@keras.saving.register_keras_serializable(package="tfx_ext")
class NpairsLoss(_NpairsBase):
    """N-pair loss (Sohn, 2016): each anchor's similarity row is logits for its positives.

    Batches hold pairs: `y_pred = a @ b.T` for two embedding matrices of the
    same examples (anchors and positives), one pair per label.

    Args:
        name: Optional name for the loss instance. Defaults to `"npairs_loss"`.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: Integer labels, shape `(batch,)`.
        y_pred: Similarity matrix, shape `(batch, batch)`.

    Example:

    >>> similarities = keras.ops.matmul(anchors, keras.ops.transpose(positives))
    >>> NpairsLoss()(labels, similarities)
    """

    def __init__(self, name="npairs_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        return npairs_loss(y_true, y_pred)


@keras.saving.register_keras_serializable(package="tfx_ext")
class NpairsMultilabelLoss(_NpairsBase):
    """N-pair loss for multilabel data: targets weighted by the number of shared labels.

    Args:
        name: Optional name for the loss instance. Defaults to
            `"npairs_multilabel_loss"`.
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: 0/1 label indicators, shape `(batch, num_classes)`.
        y_pred: Similarity matrix, shape `(batch, batch)`.
    """

    def __init__(self, name="npairs_multilabel_loss", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def call(self, y_true, y_pred):
        return npairs_multilabel_loss(y_true, y_pred)
