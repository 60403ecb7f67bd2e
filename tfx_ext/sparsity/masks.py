"""Magnitude masks as tfmot computes them: unstructured, block and m-by-n, in `keras.ops`.

Every function takes the sparsity as a float or a float32 tensor, so the
masks can be recomputed inside a compiled training step.
"""

import math

from keras import ops

POOLING_TYPES = ("AVG", "MAX")


def kept_count(size, sparsity):
    """Weights kept at `sparsity`: `max(round(size * (1 - sparsity)), 1)` in float32, as tfmot.

    `round` is half-to-even (tfmot's `tf.math.round`), and at least one weight
    is always kept.
    """
    sparsity = ops.cast(sparsity, "float32")
    kept = ops.round(ops.cast(size, "float32") * (1.0 - sparsity))
    return ops.cast(ops.maximum(kept, 1.0), "int32")


def threshold_mask(scores, sparsity):
    """1 where `scores >= t`, with `t` the k-th largest score (k = `kept_count`).

    Ties at the threshold are all kept, as in tfmot.
    """
    flat = ops.reshape(scores, (-1,))
    size = int(flat.shape[0])
    threshold = ops.take(ops.sort(flat), size - kept_count(size, sparsity))
    return ops.cast(ops.greater_equal(scores, threshold), scores.dtype)


def _pool_axis(values, axis, window, pooling):
    """Pools `values` over windows of `window` along `axis`; a partial last window
    is padded, and padding is left out of averages (TF's "SAME" pooling)."""
    size = values.shape[axis]
    pad = -size % window
    widths = [[0, 0]] * len(values.shape)
    widths[axis] = [0, pad]
    padded = ops.pad(values, widths)
    shape = list(padded.shape)
    shape[axis : axis + 1] = [(size + pad) // window, window]
    windows = ops.reshape(padded, shape)
    if pooling == "MAX":
        # Magnitudes are >= 0, so zero padding never wins.
        return ops.max(windows, axis=axis + 1)
    counts = [window] * ((size + pad) // window)
    counts[-1] = window - pad
    count_shape = [1] * (len(shape) - 1)
    count_shape[axis] = len(counts)
    return ops.sum(windows, axis=axis + 1) / ops.reshape(
        ops.convert_to_tensor(counts, values.dtype), count_shape
    )


def magnitude_mask(weight, sparsity, block_size=(1, 1), block_pooling_type="AVG"):
    """Mask zeroing the `sparsity` fraction of `weight` with the smallest magnitude.

    With a block size `(a, b)` other than `(1, 1)`, the last two axes are cut
    into `a x b` blocks (the last ones partial when `a` or `b` does not
    divide the axis, as tfmot pads), each scored by the mean (`"AVG"`) or the
    largest (`"MAX"`) magnitude in it, and whole blocks are kept or zeroed.
    """
    magnitude = ops.abs(ops.convert_to_tensor(weight))
    a, b = block_size
    if (a, b) == (1, 1) or len(magnitude.shape) < 2:
        return threshold_mask(magnitude, sparsity)
    *_, rows, cols = magnitude.shape
    matrices = ops.reshape(magnitude, (-1, rows, cols))
    scores = _pool_axis(_pool_axis(matrices, 1, a, block_pooling_type), 2, b, block_pooling_type)
    block_mask = threshold_mask(scores, sparsity)
    mask = ops.repeat(ops.repeat(block_mask, a, axis=1), b, axis=2)[:, :rows, :cols]
    return ops.reshape(mask, tuple(magnitude.shape))


def m_by_n_mask(weight, m, n):
    """Mask with `m` zeros in every `n` consecutive weights along the input axis (tfmot's meaning).

    The groups run along axis -2 (a Dense kernel's input axis, a convolution's
    input channels, an Embedding's vocabulary, as tfmot arranges them for
    TFLite); a last partial group is padded with zeros, which lose every tie.
    """
    magnitude = ops.abs(ops.convert_to_tensor(weight))
    moved = ops.moveaxis(magnitude, -2, -1)
    moved_shape = tuple(moved.shape)
    length = moved_shape[-1]
    pad = -length % n
    rows = ops.pad(ops.reshape(moved, (-1, length)), [[0, 0], [0, pad]])
    groups = ops.reshape(rows, (-1, n))
    _, keep = ops.top_k(groups, n - m, sorted=False)
    mask = ops.sum(ops.one_hot(keep, n, dtype=magnitude.dtype), axis=1)
    mask = ops.reshape(mask, (-1, length + pad))[:, :length]
    return ops.moveaxis(ops.reshape(mask, moved_shape), -1, -2)


def fraction_zero(weight):
    values = ops.convert_to_numpy(weight)
    return float((values == 0).sum()) / max(1, math.prod(values.shape))
