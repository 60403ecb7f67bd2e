"""Sparsemax activation.

Replaces `tfa.activations.sparsemax`. Keras 3.15 has `keras.activations.sparsemax`
too, but it does not keep TFA's rule for invalid rows (a row with `+inf`, only
`-inf`, or a NaN gives NaN everywhere, as softmax does); this one does, so
ported code gives TFA's results on every input.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext.activations.float_inputs import float_tensor


@keras.saving.register_keras_serializable(package="tfx_ext")
def sparsemax(logits, axis=-1):
    """Sparsemax (Martins & Astudillo, 2016): the Euclidean projection onto the simplex.

    `sparsemax(z)_j = max(z_j - tau(z), 0)`, with `tau` chosen so that each
    slice along `axis` sums to 1. Unlike softmax, small logits get exactly 0.

    Args:
        logits: A floating-point tensor of rank >= 1.
        axis: The axis to normalize. Defaults to `-1`.

    Returns:
        A tensor of the same shape and dtype as `logits`.

    Example:

    >>> sparsemax(np.array([[-1.0, 0.0, 1.0], [-5.0, 1.0, 2.0]]))
    [[0.0, 0.0, 1.0], [0.0, 0.0, 1.0]]
    """
    logits = float_tensor("logits", logits)
    axis = check_int("axis", axis)
    rank = len(logits.shape)
    if not -rank <= axis < rank or rank == 0:
        raise invalid("axis", f"an axis of the logits (rank {rank})", axis)
    axis = axis % rank
    z = ops.moveaxis(logits, axis, -1)
    dtype = z.dtype
    z_sorted = ops.flip(ops.sort(z, axis=-1), axis=-1)
    z_cumsum = ops.cumsum(z_sorted, axis=-1)
    k = ops.arange(1, ops.shape(z)[-1] + 1, dtype=dtype)
    # Support size: the sorted-descending check is 1...1 0...0, so count the 1s.
    k_z = ops.sum(ops.cast(1 + k * z_sorted > z_cumsum, "int32"), axis=-1, keepdims=True)
    tau_sum = ops.take_along_axis(z_cumsum, ops.maximum(k_z, 1) - 1, axis=-1)
    tau = (tau_sum - 1) / ops.cast(k_z, dtype)
    p = ops.maximum(ops.cast(0, dtype), z - tau)
    # k_z == 0 (an inf in the row, or only -inf) or a NaN: TFA returns NaN for the row.
    invalid_row = ops.logical_or(ops.equal(k_z, 0), ops.isnan(z_cumsum[..., -1:]))
    p = ops.where(invalid_row, ops.cast(float("nan"), dtype), p)
    return ops.moveaxis(p, -1, axis)
