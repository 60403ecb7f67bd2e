"""Weighted cross-entropy over sequences: TFA's `sequence_loss` and `SequenceLoss`."""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid


def _check_flags(
    average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch
):
    if average_across_timesteps and sum_over_timesteps:
        raise ValueError(
            "average_across_timesteps and sum_over_timesteps cannot be set to True at same time."
        )
    if average_across_batch and sum_over_batch:
        raise ValueError(
            "average_across_batch and sum_over_batch cannot be set to True at same time."
        )
    if average_across_batch and sum_over_timesteps:
        raise ValueError(
            "average_across_batch and sum_over_timesteps cannot be set to True at same "
            "time because of ambiguous order."
        )
    if sum_over_batch and average_across_timesteps:
        raise ValueError(
            "sum_over_batch and average_across_timesteps cannot be set to True at same "
            "time because of ambiguous order."
        )


def _divide_no_nan(x, y):
    safe = ops.where(ops.equal(y, 0), ops.ones_like(y), y)
    return ops.where(ops.equal(y, 0), ops.zeros_like(x), x / safe)


def _count_nonzero(x, axis=None):
    return ops.sum(ops.cast(ops.not_equal(x, 0), "float32"), axis=axis)


@keras.saving.register_keras_serializable(package="tfx_ext")
def sequence_loss(
    logits,
    targets,
    weights,
    average_across_timesteps=True,
    average_across_batch=True,
    sum_over_timesteps=False,
    sum_over_batch=False,
    softmax_loss_function=None,
    name=None,
):
    """Computes the weighted cross-entropy loss for a sequence of logits.

    The per-target cross-entropy (shape `[batch_size, sequence_length]`) is
    weighted, then reduced: `average_across_*` divides by the sum of the
    weights, `sum_over_*` by the number of non-zero weights (TFA's TF 2
    recommendation). The result has rank 0, 1 or 2.

    Args:
        logits: `[batch_size, sequence_length, num_decoder_symbols]` floats.
        targets: `[batch_size, sequence_length]` int ids, or
            `[batch_size, sequence_length, num_decoder_symbols]` one-hot.
        weights: `[batch_size, sequence_length]` floats.
        average_across_timesteps: Average over the time axis.
        average_across_batch: Average over the batch axis.
        sum_over_timesteps: Sum over time, divided by the non-zero weights.
        sum_over_batch: Sum over the batch, divided by the non-zero weights.
        softmax_loss_function: Optional `fn(labels=..., logits=...)` on
            flattened targets and `[N, num_classes]` logits.
        name: Ignored; kept so TFA calls port unchanged.

    Returns:
        A float tensor of rank 0, 1 or 2.

    Raises:
        ValueError: on wrong ranks or incompatible reduction flags.

    Example:

    >>> sequence_loss(logits, targets, weights)  # mean cross-entropy per symbol
    """
    del name
    logits = ops.convert_to_tensor(logits)
    targets = ops.convert_to_tensor(targets)
    weights = ops.convert_to_tensor(weights)
    if len(logits.shape) != 3:
        raise invalid(
            "logits", "a [batch_size x sequence_length x logits] tensor", tuple(logits.shape)
        )
    targets_rank = len(targets.shape)
    if targets_rank not in (2, 3):
        raise invalid(
            "targets",
            "a [batch_size x sequence_length] tensor of ids or a "
            "[batch_size x sequence_length x num_classes] one-hot tensor",
            tuple(targets.shape),
        )
    if len(weights.shape) != 2:
        raise invalid("weights", "a [batch_size x sequence_length] tensor", tuple(weights.shape))
    _check_flags(average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch)

    weights = ops.cast(weights, logits.dtype)
    num_classes = ops.shape(logits)[2]
    logits_flat = ops.reshape(logits, (-1, num_classes))
    if softmax_loss_function is None:
        if targets_rank == 2:
            crossent = ops.sparse_categorical_crossentropy(
                ops.reshape(targets, (-1,)), logits_flat, from_logits=True
            )
        else:
            crossent = ops.categorical_crossentropy(
                ops.reshape(ops.cast(targets, logits.dtype), (-1, num_classes)),
                logits_flat,
                from_logits=True,
            )
    else:
        crossent = softmax_loss_function(labels=ops.reshape(targets, (-1,)), logits=logits_flat)
    crossent = crossent * ops.reshape(weights, (-1,))

    if average_across_timesteps and average_across_batch:
        return _divide_no_nan(ops.sum(crossent), ops.sum(weights))
    if sum_over_timesteps and sum_over_batch:
        return _divide_no_nan(ops.sum(crossent), ops.cast(_count_nonzero(weights), crossent.dtype))
    crossent = ops.reshape(crossent, ops.shape(logits)[0:2])
    if average_across_timesteps or average_across_batch:
        axis = 0 if average_across_batch else 1
        return _divide_no_nan(ops.sum(crossent, axis=axis), ops.sum(weights, axis=axis))
    if sum_over_timesteps or sum_over_batch:
        axis = 0 if sum_over_batch else 1
        count = ops.cast(_count_nonzero(weights, axis=axis), crossent.dtype)
        return _divide_no_nan(ops.sum(crossent, axis=axis), count)
    return crossent


@keras.saving.register_keras_serializable(package="tfx_ext")
class SequenceLoss(keras.losses.Loss):
    """Weighted cross-entropy loss for a sequence of logits (`sequence_loss` as a Loss).

    `sample_weight` plays the role of `weights`; when it is None every
    target weighs 1 (TFA required it). The reduction is this loss's own (the
    flags), not Keras's `reduction`.

    Args:
        average_across_timesteps, average_across_batch, sum_over_timesteps,
        sum_over_batch, softmax_loss_function: As in `sequence_loss`. The
            defaults sum over both axes and divide by the non-zero weights.
        name: The loss name.

    Call arguments:
        y_true: Target ids `[batch, time]` (or one-hot `[batch, time, classes]`).
        y_pred: Logits `[batch, time, classes]`.
        sample_weight: Optional `[batch, time]` weights (a padding mask).

    Example:

    >>> model.compile("adam", loss=SequenceLoss())
    >>> model.fit(x, y, sample_weight=mask)
    """

    def __init__(
        self,
        average_across_timesteps=False,
        average_across_batch=False,
        sum_over_timesteps=True,
        sum_over_batch=True,
        softmax_loss_function=None,
        name=None,
        **kwargs,
    ):
        _check_flags(
            average_across_timesteps, average_across_batch, sum_over_timesteps, sum_over_batch
        )
        kwargs.pop("reduction", None)
        super().__init__(name=name or "sequence_loss", reduction="none", **kwargs)
        self.average_across_timesteps = average_across_timesteps
        self.average_across_batch = average_across_batch
        self.sum_over_timesteps = sum_over_timesteps
        self.sum_over_batch = sum_over_batch
        self.softmax_loss_function = softmax_loss_function

    def __call__(self, y_true, y_pred, sample_weight=None):
        y_pred = ops.convert_to_tensor(y_pred)
        if sample_weight is None:
            sample_weight = ops.ones(ops.shape(y_pred)[:2], dtype=y_pred.dtype)
        return sequence_loss(
            y_pred,
            y_true,
            sample_weight,
            average_across_timesteps=self.average_across_timesteps,
            average_across_batch=self.average_across_batch,
            sum_over_timesteps=self.sum_over_timesteps,
            sum_over_batch=self.sum_over_batch,
            softmax_loss_function=self.softmax_loss_function,
        )

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def get_config(self):
        config = super().get_config()
        config.pop("reduction", None)
        config.update(
            average_across_timesteps=self.average_across_timesteps,
            average_across_batch=self.average_across_batch,
            sum_over_timesteps=self.sum_over_timesteps,
            sum_over_batch=self.sum_over_batch,
            softmax_loss_function=keras.saving.serialize_keras_object(self.softmax_loss_function),
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        fn = config.get("softmax_loss_function")
        if fn is not None and not callable(fn):
            config["softmax_loss_function"] = keras.saving.deserialize_keras_object(fn)
        return cls(**config)
