"""Viterbi decoding of a linear-chain CRF (TFA's `tfa.text.crf_decode` and friends).

`crf_decode`, `crf_decode_forward`, `crf_decode_backward` and
`crf_constrained_decode` are `keras.ops` (a scan forward with back-pointers,
then a reverse scan that follows them; `stacked_scan`), so they run on every
backend, in `tf.function`, under XLA and inside a Keras model that is saved
and served. `viterbi_decode` is NumPy, for one sequence, as in TFA.
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.text.crf_scoring import (
    check_lengths,
    check_potentials,
    check_rank,
    check_transitions,
    crf_filtered_inputs,
    gather_steps,
)
from tfx_ext.text.stacked_scan import stacked_scan


def _max_step(transitions):
    # Candidates laid out [batch, to, from]: the max and argmax reduce the
    # last, contiguous axis (faster on CPU than reducing the middle one:
    # crf_decode went from 2.0x to 1.5x the baseline's time in scripts/bench/crf.py).
    transposed = ops.expand_dims(ops.transpose(transitions), 0)

    def step(score, unary):
        candidates = ops.expand_dims(score, 1) + transposed
        return unary + ops.max(candidates, axis=2), ops.cast(
            ops.argmax(candidates, axis=2), "int32"
        )

    return step


def crf_decode_forward(inputs, state, transition_params, sequence_lengths):
    """Computes forward decoding (max-product) in a linear-chain CRF.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        state: A `[batch_size, num_tags]` matrix of the previous step's scores.
        transition_params: A `[num_tags, num_tags]` matrix of binary potentials.
        sequence_lengths: A `[batch_size]` vector of the number of steps of
            `inputs` to decode per row.

    Returns:
        `(backpointers, last_score)`: `[batch_size, max_seq_len, num_tags]`
        int32 back-pointers (0 past each sequence's length), and the
        `[batch_size, num_tags]` scores after each sequence's last step.
    """
    inputs = check_potentials("inputs", inputs)
    state = ops.cast(check_rank("state", state, 2, "[batch_size, num_tags]"), inputs.dtype)
    transitions = check_transitions(
        "transition_params", transition_params, inputs.shape[2], inputs.dtype
    )
    lengths = ops.expand_dims(check_lengths("sequence_lengths", sequence_lengths), 1)
    if inputs.shape[1] == 0:
        return ops.zeros(ops.shape(inputs), "int32"), state
    step = _max_step(transitions)

    # The step counter rides in the carry: Keras's TensorFlow scan cannot zip
    # several inputs of unknown length (Keras 3.15), and its outputs must have
    # the carry's structure.
    def scan_fn(carry, unary):
        score, _, t = carry
        new_score, pointers = step(score, unary)
        valid = t < lengths
        score = ops.where(valid, new_score, score)
        pointers = ops.where(valid, pointers, ops.zeros_like(pointers))
        return (score, pointers, t + 1), (score, pointers, t)

    initial = (state, ops.zeros(ops.shape(state), "int32"), ops.zeros((), "int32"))
    (score, _, _), (_, pointers, _) = ops.scan(scan_fn, initial, ops.transpose(inputs, (1, 0, 2)))
    return ops.transpose(pointers, (1, 0, 2)), score


def crf_decode_backward(inputs, state):
    """Computes backward decoding in a linear-chain CRF.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` int tensor of
            back-pointers, in the order they are followed (reversed time).
        state: A `[batch_size, 1]` matrix of the tag index to start from.

    Returns:
        A `[batch_size, max_seq_len, 1]` tensor of the tags the pointers lead to.
    """
    pointers = ops.cast(
        check_rank("inputs", inputs, 3, "[batch_size, max_seq_len, num_tags]"), "int32"
    )
    state = ops.cast(check_rank("state", state, 2, "[batch_size, 1]"), "int32")

    def scan_fn(tag, row):
        tag = ops.take_along_axis(row, tag, axis=1)
        return tag, tag

    _, tags = ops.scan(scan_fn, state, ops.transpose(pointers, (1, 0, 2)))
    return ops.transpose(tags, (1, 0, 2))


def _viterbi(potentials, transitions, lengths):
    """Best tags `[batch, time]` (0 past each length) and their scores `[batch]`.

    The loops do only what must be sequential, with no masking inside: the
    forward one carries the max-product scores and their back-pointers, the
    backward one follows the pointers. The lengths are applied outside the
    loops: each row's last score is gathered at its own last step, and past
    the end the pointers are the identity (the backward walk keeps the best
    last tag until it reaches the sequence).
    """
    step = _max_step(transitions)
    first = potentials[:, 0]
    # One dummy step at the end keeps the scan non-empty for one-step inputs.
    rest = ops.concatenate([potentials[:, 1:], ops.expand_dims(ops.zeros_like(first), 1)], axis=1)
    initial = (first, ops.zeros(ops.shape(first), "int32"))
    scores, pointers = stacked_scan(
        lambda carry, unary: step(carry[0], unary),
        initial,
        ops.transpose(rest, (1, 0, 2)),
    )
    scores = ops.concatenate(
        [ops.expand_dims(first, 1), ops.transpose(scores[:-1], (1, 0, 2))], axis=1
    )
    last_score = gather_steps(scores, ops.maximum(lengths - 1, 0))

    # Time-major rows: row 0 (identity) keeps the scan non-empty; row t maps
    # the tag at position t to the tag at t - 1.
    steps = ops.arange(ops.shape(potentials)[1], dtype="int32")
    identity = ops.broadcast_to(
        ops.arange(ops.shape(potentials)[2], dtype="int32"), ops.shape(first)
    )
    rows = ops.concatenate([ops.expand_dims(identity, 0), pointers[:-1]], axis=0)
    follow = ops.expand_dims(steps, 1) < ops.expand_dims(lengths, 0)  # [time, batch]
    follow = ops.logical_and(follow, ops.expand_dims(steps > 0, 1))
    rows = ops.where(ops.expand_dims(follow, 2), rows, ops.expand_dims(identity, 0))
    tag_range = ops.expand_dims(ops.arange(ops.shape(potentials)[2], dtype="int32"), 0)

    def backward(tag, row):
        # row[b, tag[b]] as a masked sum: cheaper than take_along_axis here.
        return ops.sum(
            ops.where(tag_range == ops.expand_dims(tag, 1), row, ops.zeros_like(row)),
            axis=1,
        )

    best = ops.cast(ops.argmax(last_score, axis=1), "int32")
    stacked = stacked_scan(backward, best, rows, reverse=True)  # [time, batch]
    tags = ops.concatenate([ops.transpose(stacked[1:], (1, 0)), ops.expand_dims(best, 1)], axis=1)
    inside = ops.logical_or(
        ops.expand_dims(steps, 0) < ops.expand_dims(lengths, 1),
        ops.expand_dims(steps == 0, 0),
    )
    return ops.where(inside, tags, ops.zeros_like(tags)), ops.max(last_score, axis=1)


def crf_decode(potentials, transition_params, sequence_length):
    """Decodes the highest scoring sequence of tags.

    Args:
        potentials: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        transition_params: A `[num_tags, num_tags]` matrix of binary
            potentials.
        sequence_length: A `[batch_size]` vector of true sequence lengths.

    Returns:
        `(decode_tags, best_score)`: a `[batch_size, max_seq_len]` int32 matrix
        of the best tags (0 past each length), and the `[batch_size]` scores
        of those sequences.

    Example:

    >>> potentials = np.array([[[4., 5, -3], [3, -1, 3], [-1, 2, 1]]])
    >>> transitions = np.array([[-3., 5, -2], [3, 4, 1], [1, 2, 1]])
    >>> tags, score = tfx_ext.text.crf_decode(potentials, transitions, [3])
    """
    potentials = check_potentials("potentials", potentials)
    transitions = check_transitions(
        "transition_params", transition_params, potentials.shape[2], potentials.dtype
    )
    lengths = check_lengths("sequence_length", sequence_length)
    if potentials.shape[1] == 0:
        raise invalid(
            "potentials",
            "at least one time step",
            f"a tensor of shape {tuple(potentials.shape)}",
        )
    if potentials.shape[1] == 1:
        return ops.cast(ops.argmax(potentials, axis=2), "int32"), ops.max(potentials[:, 0], axis=1)
    return _viterbi(potentials, transitions, lengths)


def crf_constrained_decode(potentials, tag_bitmap, transition_params, sequence_length):
    """Decodes the highest scoring sequence of tags allowed by `tag_bitmap`.

    Args:
        potentials: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        tag_bitmap: A `[batch_size, max_seq_len, num_tags]` boolean tensor of
            the tags allowed at each step.
        transition_params: A `[num_tags, num_tags]` matrix of binary
            potentials.
        sequence_length: A `[batch_size]` vector of true sequence lengths.

    Returns:
        `(decode_tags, best_score)` as `crf_decode`.
    """
    filtered = crf_filtered_inputs(potentials, tag_bitmap)
    return crf_decode(filtered, transition_params, sequence_length)


def viterbi_decode(score, transition_params):
    """Decodes the highest scoring sequence of tags outside of the graph (NumPy).

    Args:
        score: A `[seq_len, num_tags]` matrix of unary potentials.
        transition_params: A `[num_tags, num_tags]` matrix of binary
            potentials.

    Returns:
        `(viterbi, viterbi_score)`: a list of `seq_len` tag indices, and the
        score of that sequence.
    """
    score = np.asarray(score)
    transitions = np.asarray(transition_params)
    if score.ndim != 2 or score.shape[0] == 0:
        raise invalid(
            "score",
            "a [seq_len, num_tags] matrix with seq_len >= 1",
            f"shape {score.shape}",
        )
    if transitions.shape != (score.shape[1], score.shape[1]):
        raise invalid(
            "transition_params",
            f"a [{score.shape[1]}, {score.shape[1]}] matrix",
            f"shape {transitions.shape}",
        )
    trellis = np.zeros_like(score)
    pointers = np.zeros(score.shape, dtype=np.int32)
    trellis[0] = score[0]
    for t in range(1, score.shape[0]):
        candidates = trellis[t - 1][:, None] + transitions
        trellis[t] = score[t] + candidates.max(axis=0)
        pointers[t] = candidates.argmax(axis=0)
    path = [int(trellis[-1].argmax())]
    for row in pointers[:0:-1]:
        path.append(int(row[path[-1]]))
    path.reverse()
    return path, trellis[-1].max()


@keras.saving.register_keras_serializable(package="tfx_ext")
class CrfDecodeForwardRnnCell(keras.layers.Layer):
    """An RNN cell computing one step of forward Viterbi decoding.

    `keras.layers.RNN(CrfDecodeForwardRnnCell(transitions), return_sequences=True,
    return_state=True)` returns the back-pointers and the last scores, as
    `crf_decode_forward` (which runs the same step as a `keras.ops.scan`).

    Args:
        transition_params: A `[num_tags, num_tags]` matrix of binary
            potentials (a constant of the cell, saved in its config).

    Call arguments:
        inputs: A `[batch_size, num_tags]` matrix of unary potentials.
        states: The `[batch_size, num_tags]` scores of the previous step (or a
            one-element list of it).
    """

    def __init__(self, transition_params, **kwargs):
        super().__init__(**kwargs)
        transitions = np.asarray(transition_params, dtype="float32")
        if transitions.ndim != 2 or transitions.shape[0] != transitions.shape[1]:
            raise invalid(
                "transition_params",
                "a square [num_tags, num_tags] matrix",
                f"shape {transitions.shape}",
            )
        self._transitions = transitions
        self._num_tags = transitions.shape[0]

    @property
    def state_size(self):
        return self._num_tags

    @property
    def output_size(self):
        return self._num_tags

    def call(self, inputs, states):
        state = states[0] if isinstance(states, (list, tuple)) else states
        transitions = ops.cast(self._transitions, state.dtype)
        new_state, pointers = _max_step(transitions)(state, inputs)
        return pointers, [new_state]

    def get_config(self):
        return {**super().get_config(), "transition_params": self._transitions.tolist()}
