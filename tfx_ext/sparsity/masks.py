"""Magnitude masks: unstructured, block and m-by-n, in `keras.ops`."""

import math

from keras import ops


def _keep_largest(scores, sparsity):
    """A 0/1 mask keeping the `(1 - sparsity)` largest scores (ties broken by position)."""
    flat = ops.reshape(scores, (-1,))
    size = flat.shape[0]
    # As tfmot: keep round((1 - sparsity) * size), rounding the kept count (not the pruned one).
    prune = size - int(round((1.0 - sparsity) * size))
    if prune <= 0:
        return ops.ones_like(scores)
    if prune >= size:
        return ops.zeros_like(scores)
    _, keep = ops.top_k(flat, size - prune, sorted=False)
    mask = ops.scatter(ops.expand_dims(keep, -1), ops.ones((size - prune,), scores.dtype), (size,))
    return ops.reshape(mask, ops.shape(scores))


def magnitude_mask(weight, sparsity, block_size=(1, 1)):
    """Mask zeroing the `sparsity` fraction of `weight` with the smallest magnitude.

    With a block size `(a, b)` other than `(1, 1)`, the last two axes are cut
    into `a x b` blocks, each scored by its mean magnitude, and whole blocks
    are kept or zeroed.
    """
    magnitude = ops.abs(ops.convert_to_tensor(weight))
    a, b = block_size
    if (a, b) == (1, 1) or len(weight.shape) < 2:
        return _keep_largest(magnitude, sparsity)
    *lead, rows, cols = weight.shape
    blocks = ops.reshape(magnitude, (-1, rows // a, a, cols // b, b))
    scores = ops.mean(blocks, axis=(2, 4))
    block_mask = _keep_largest(scores, sparsity)
    mask = ops.repeat(ops.repeat(block_mask, a, axis=1), b, axis=2)
    return ops.reshape(mask, tuple(weight.shape))


def m_by_n_mask(weight, m, n, axis=-2):
    """Mask keeping the `m` largest of every `n` consecutive weights along `axis` (2:4 sparsity)."""
    magnitude = ops.abs(ops.convert_to_tensor(weight))
    moved = ops.moveaxis(magnitude, axis, -1)
    moved_shape = tuple(moved.shape)
    groups = ops.reshape(moved, (-1, n))
    _, keep = ops.top_k(groups, m, sorted=False)
    mask = ops.sum(ops.one_hot(keep, n, dtype=weight.dtype), axis=1)
    return ops.moveaxis(ops.reshape(mask, moved_shape), -1, axis)


def check_block_size(weight_shape, block_size, layer_name):
    a, b = block_size
    if (a, b) == (1, 1):
        return
    if len(weight_shape) < 2 or weight_shape[-2] % a or weight_shape[-1] % b:
        raise ValueError(
            f"Invalid value received for argument `block_size`. Expected a block that "
            f"divides the last two axes of the weight of shape {tuple(weight_shape)} in "
            f"layer '{layer_name}'. Received: block_size={tuple(block_size)}"
        )


def check_m_by_n(weight_shape, m_by_n, layer_name, axis=-2):
    m, n = m_by_n
    size = weight_shape[axis] if len(weight_shape) >= 2 else None
    if size is None or size % n:
        raise ValueError(
            f"Invalid value received for argument `sparsity_m_by_n`. Expected groups of "
            f"n={n} that divide the input axis of the weight of shape {tuple(weight_shape)} "
            f"in layer '{layer_name}'. Received: sparsity_m_by_n={tuple(m_by_n)}"
        )


def fraction_zero(weight):
    values = ops.convert_to_numpy(weight)
    return float((values == 0).sum()) / max(1, math.prod(values.shape))
