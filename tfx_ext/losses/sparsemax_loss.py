"""Sparsemax loss (Martins & Astudillo, ICML 2016).

Replaces `tfa.losses.SparsemaxLoss`, `sparsemax_loss` and
`sparsemax_loss_from_logits` (same arguments and results). Keras 3 core has
neither sparsemax nor its loss.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.activations.sparsemax import sparsemax  # one sparsemax (TFA's inf / NaN rule) for both


@keras.saving.register_keras_serializable(package="tfx_ext")
def sparsemax_loss(logits, sparsemax, labels, name=None):
    """The sparsemax loss per example, from the logits and their sparsemax, as `tfa.losses.sparsemax_loss`.

    `sum_j [s_j > 0] s_j (z_j - s_j / 2) + sum_j y_j (y_j / 2 - z_j)` (the
    loss of the paper, written with the sparsemax `s` instead of its
    threshold; `-inf` logits of zero labels contribute nothing).

    Args:
        logits: Logits `z`, shape `(batch, classes)`.
        sparsemax: `sparsemax(logits)`, same shape.
        labels: Target distributions `y`, same shape.
        name: Unused; kept for TFA's signature.

    Returns:
        The loss per example, shape `(batch,)`.
    """
    del name
    z = ops.convert_to_tensor(logits)
    sparsemax = ops.cast(sparsemax, z.dtype)
    labels = ops.cast(labels, z.dtype)
    for argument, value in (("sparsemax", sparsemax), ("labels", labels)):
        if tuple(value.shape) != tuple(z.shape) and None not in value.shape + z.shape:
            raise invalid(
                argument,
                f"the shape of logits, {tuple(z.shape)}",
                owner="sparsemax_loss",
                received=f"{argument}.shape={tuple(value.shape)}",
            )
    s_part = ops.where(
        ops.logical_or(sparsemax > 0, ops.isnan(sparsemax)),
        sparsemax * (z - 0.5 * sparsemax),
        ops.zeros_like(sparsemax),
    )
    q_part = labels * (0.5 * labels - z)
    q_part = ops.where(
        ops.logical_and(ops.equal(labels, 0), ops.isinf(z)), ops.zeros_like(z), q_part
    )
    return ops.sum(s_part + q_part, axis=1)


@keras.saving.register_keras_serializable(package="tfx_ext")
def sparsemax_loss_from_logits(y_true, logits_pred):
    """`sparsemax_loss(logits_pred, sparsemax(logits_pred), y_true)`, as TFA's (what `SparsemaxLoss` computes)."""
    logits_pred = ops.convert_to_tensor(logits_pred)
    return sparsemax_loss(logits_pred, sparsemax(logits_pred), y_true)


@keras.saving.register_keras_serializable(package="tfx_ext")
class SparsemaxLoss(keras.losses.Loss):
    """Sparsemax loss: the multi-label loss of a model whose output goes through sparsemax.

    `y_pred` must be the logits (the loss needs them and their sparsemax),
    so `from_logits` can only be `True`, as in TFA; `y_true` and `y_pred`
    have shape `(batch, num_classes)`.

    Args:
        from_logits: Must be `True` (the default).
        reduction: Type of reduction. Defaults to `"sum_over_batch_size"`.
        name: Optional name for the loss instance. Defaults to `"sparsemax_loss"`.
        dtype: The dtype of the loss's computations.

    Example:

    >>> model.compile(optimizer="adam", loss=SparsemaxLoss())   # the model outputs logits
    """

    def __init__(
        self, from_logits=True, reduction="sum_over_batch_size", name="sparsemax_loss", dtype=None
    ):
        if from_logits is not True:
            raise invalid(
                "from_logits",
                "True (the loss needs the logits: y_pred must be logits)",
                from_logits,
            )
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.from_logits = from_logits

    def call(self, y_true, y_pred):
        return sparsemax_loss_from_logits(y_true, y_pred)

    def get_config(self):
        # keras.losses.Loss.get_config omits `dtype`; it is a constructor argument.
        return {**super().get_config(), "dtype": self.dtype, "from_logits": self.from_logits}
