"""Beam back-tracking: `gather_tree` and `gather_tree_from_array` (TFA's beam search ops).

TFA ran `gather_tree` as a custom C++ kernel; here it is a `keras.ops.fori_loop`
walking the parent pointers backwards, so it runs on any backend and inside
`tf.function`/XLA. The parent-id check raises `InvalidArgumentError` on the
TensorFlow backend (as TFA's CPU kernel did) and `ValueError` on others when
the values are concrete.
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import invalid


def _check_parents(parent_ids, mask, beam_width):
    """Raises when a parent id inside the sequences lies outside [0, beam_width)."""
    valid = ops.logical_or(
        ops.logical_not(mask),
        ops.logical_and(parent_ids >= 0, parent_ids < beam_width),
    )
    message = "Saw invalid parent id: all parent ids must be in [0, beam_width)"
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf  # the one backend whose asserts work inside graphs

        tf.debugging.Assert(tf.reduce_all(valid), [message])
    else:
        try:
            ok = bool(np.all(ops.convert_to_numpy(valid)))
        except Exception:  # traced values: nothing concrete to check
            return
        if not ok:
            raise ValueError(message)


def gather_tree(step_ids, parent_ids, max_sequence_lengths, end_token):
    """Calculates the full beams from the per-step ids and parent beam ids.

    Walks back from each beam's last step through `parent_ids`. Past a
    batch entry's `max_sequence_lengths`, and past the first `end_token` of a
    beam, every value is `end_token`.

    Args:
        step_ids: int32 `[max_time, batch_size, beam_width]` predicted ids.
        parent_ids: int32 `[max_time, batch_size, beam_width]` parent beam indices.
        max_sequence_lengths: int32 `[batch_size]`.
        end_token: The end token id.

    Returns:
        int32 `[max_time, batch_size, beam_width]`: the reordered ids.

    Raises:
        InvalidArgumentError (TensorFlow) / ValueError: if `parent_ids` holds an
        index outside `[0, beam_width)` within the sequences.

    Example:

    >>> gather_tree(step_ids, parent_ids, max_sequence_lengths=[3], end_token=10)
    """
    step_ids = ops.cast(ops.convert_to_tensor(step_ids), "int32")
    parent_ids = ops.cast(ops.convert_to_tensor(parent_ids), "int32")
    if len(step_ids.shape) != 3 or len(parent_ids.shape) != 3:
        raise invalid(
            "step_ids",
            "int tensors of rank 3 [max_time, batch_size, beam_width]",
            tuple(step_ids.shape),
        )
    lengths = ops.cast(ops.convert_to_tensor(max_sequence_lengths), "int32")
    end_token = ops.cast(ops.convert_to_tensor(end_token), "int32")
    shape = ops.shape(parent_ids)
    max_time, beam_width = shape[0], shape[2]
    lengths = ops.minimum(lengths, max_time)
    time = ops.arange(max_time, dtype="int32")
    mask = ops.expand_dims(time[:, None] < lengths[None, :], -1)  # [T, B, 1]
    _check_parents(parent_ids, ops.broadcast_to(mask, shape), beam_width)

    identity = ops.broadcast_to(
        ops.arange(beam_width, dtype="int32")[None, :], ops.shape(parent_ids[0])
    )
    end_fill = ops.full(ops.shape(parent_ids[0]), end_token, dtype="int32")

    def body(i, carry):
        beams, out = carry
        t = max_time - 1 - i
        inside = ops.take(mask, t, axis=0)  # [B, 1]
        ids = ops.take_along_axis(ops.take(step_ids, t, axis=0), beams, axis=1)
        parents = ops.take_along_axis(ops.take(parent_ids, t, axis=0), beams, axis=1)
        row = ops.where(inside, ids, end_fill)
        # Steps past a batch entry's length keep the beam identity: each beam
        # starts its walk at its own index on its last step.
        beams = ops.where(inside, ops.clip(parents, 0, beam_width - 1), identity)
        out = ops.slice_update(out, [t, 0, 0], row[None])
        return beams, out

    _, out = ops.fori_loop(0, max_time, body, (identity, ops.zeros_like(step_ids)))
    # Everything after a beam's first end_token is end_token.
    seen_end = ops.cumsum(ops.cast(out == end_token, "int32"), axis=0) > 0
    return ops.where(seen_end, end_token, out)


def gather_tree_from_array(t, parent_ids, sequence_length):
    """Reorders a stacked per-step array along the beams chosen by the search.

    Args:
        t: A tensor `[max_time, batch_size, beam_width, ...]` or
            `[max_time, batch_size * beam_width, ...]` (e.g. a stacked
            alignment history).
        parent_ids: int `[max_time, batch_size, beam_width]`.
        sequence_length: int `[batch_size, beam_width]`.

    Returns:
        A tensor shaped like `t` whose beams follow the back-tracked paths;
        steps past a beam's length keep their values.

    Example:

    >>> gather_tree_from_array(alignment_history, parent_ids, lengths)
    """
    t = ops.convert_to_tensor(t)
    parent_ids = ops.cast(ops.convert_to_tensor(parent_ids), "int32")
    sequence_length = ops.cast(ops.convert_to_tensor(sequence_length), "int32")
    shape = ops.shape(parent_ids)
    max_time, batch_size, beam_width = shape[0], shape[1], shape[2]
    beam_ids = ops.broadcast_to(ops.arange(beam_width, dtype="int32")[None, None, :], shape)
    sorted_beam_ids = gather_tree(
        beam_ids, parent_ids, ops.max(sequence_length, axis=1), beam_width + 1
    )
    time = ops.arange(max_time, dtype="int32")
    in_bound = time[:, None, None] < sequence_length[None, :, :]
    sorted_beam_ids = ops.where(in_bound, sorted_beam_ids, beam_ids)

    final_shape = ops.shape(t)
    gather_from = ops.reshape(t, (max_time, batch_size, beam_width, -1))
    ordered = ops.take_along_axis(gather_from, sorted_beam_ids[..., None], axis=2)
    return ops.reshape(ordered, final_shape)
