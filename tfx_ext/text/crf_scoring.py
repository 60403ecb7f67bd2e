"""Linear-chain CRF scores, partition function and log-likelihood (TFA's `tfa.text.crf`).

All of it is `keras.ops`: the forward algorithm is a scan over time
(`stacked_scan`: `tf.scan` on TensorFlow, `keras.ops.scan` elsewhere), so it
runs on every backend, in `tf.function` and under XLA. Sequences are
right-padded: `sequence_lengths[b]` steps of row `b` count, the rest are
ignored.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.text.stacked_scan import stacked_scan


def check_rank(name, value, rank, what):
    """Converts `value` to a tensor and checks its static rank."""
    tensor = ops.convert_to_tensor(value)
    if len(tensor.shape) != rank:
        raise invalid(
            name,
            f"a rank-{rank} tensor {what}",
            f"a tensor of shape {tuple(tensor.shape)}",
        )
    return tensor


def check_potentials(name, value):
    tensor = check_rank(name, value, 3, "[batch_size, max_seq_len, num_tags]")
    if not keras.backend.is_float_dtype(tensor.dtype):
        tensor = ops.cast(tensor, keras.backend.floatx())
    return tensor


def check_lengths(name, value):
    return ops.cast(check_rank(name, value, 1, "[batch_size]"), "int32")


def check_transitions(name, value, num_tags, dtype):
    tensor = check_rank(name, value, 2, "[num_tags, num_tags]")
    shape = tuple(tensor.shape)
    if num_tags is not None and any(d is not None and d != num_tags for d in shape):
        raise invalid(
            name,
            f"a [{num_tags}, {num_tags}] matrix (num_tags={num_tags})",
            f"shape {shape}",
        )
    return ops.cast(tensor, dtype)


def check_tags(name, value):
    return ops.cast(check_rank(name, value, 2, "[batch_size, max_seq_len]"), "int32")


def sequence_mask(lengths, max_len):
    """`[batch, max_len]` booleans: True where the step is inside the sequence."""
    return ops.expand_dims(ops.arange(max_len, dtype="int32"), 0) < ops.expand_dims(lengths, 1)


def crf_filtered_inputs(inputs, tag_bitmap):
    """Constrains the inputs to filter out certain tags at each time step.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        tag_bitmap: A `[batch_size, max_seq_len, num_tags]` boolean tensor of
            the tags allowed at each step.

    Returns:
        `inputs` with the disallowed tags set to `-inf`.
    """
    inputs = check_potentials("inputs", inputs)
    tag_bitmap = ops.cast(
        check_rank("tag_bitmap", tag_bitmap, 3, "[batch_size, max_seq_len, num_tags]"),
        "bool",
    )
    return ops.where(tag_bitmap, inputs, ops.full_like(inputs, float("-inf")))


def crf_unary_score(tag_indices, sequence_lengths, inputs):
    """Computes the unary scores of tag sequences.

    Args:
        tag_indices: A `[batch_size, max_seq_len]` matrix of tag indices.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.

    Returns:
        A `[batch_size]` vector of unary scores.
    """
    tags = check_tags("tag_indices", tag_indices)
    lengths = check_lengths("sequence_lengths", sequence_lengths)
    inputs = check_potentials("inputs", inputs)
    tag_range = ops.arange(ops.shape(inputs)[2], dtype="int32")
    # A masked sum rather than a gather (its gradient is a `where`, not a scatter).
    chosen = ops.logical_and(
        ops.expand_dims(tags, 2) == tag_range,
        ops.expand_dims(sequence_mask(lengths, ops.shape(tags)[1]), 2),
    )
    return ops.sum(ops.where(chosen, inputs, ops.zeros_like(inputs)), axis=(1, 2))


def crf_binary_score(tag_indices, sequence_lengths, transition_params):
    """Computes the binary (transition) scores of tag sequences.

    Args:
        tag_indices: A `[batch_size, max_seq_len]` matrix of tag indices.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.
        transition_params: A `[num_tags, num_tags]` matrix of binary
            potentials.

    Returns:
        A `[batch_size]` vector of binary scores.
    """
    tags = check_tags("tag_indices", tag_indices)
    lengths = check_lengths("sequence_lengths", sequence_lengths)
    transitions = check_rank("transition_params", transition_params, 2, "[num_tags, num_tags]")
    num_tags = ops.shape(transitions)[0]
    flat = ops.reshape(transitions, (-1,))
    scores = ops.take(flat, tags[:, :-1] * num_tags + tags[:, 1:])
    mask = sequence_mask(lengths, ops.shape(tags)[1])[:, 1:]
    return ops.sum(ops.where(mask, scores, ops.zeros_like(scores)), axis=1)


def crf_sequence_score(inputs, tag_indices, sequence_lengths, transition_params):
    """Computes the unnormalized score for a tag sequence.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        tag_indices: A `[batch_size, max_seq_len]` matrix of tag indices.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.
        transition_params: A `[num_tags, num_tags]` transition matrix.

    Returns:
        A `[batch_size]` vector of unnormalized sequence scores (0 for an
        empty sequence).
    """
    inputs = check_potentials("inputs", inputs)
    transitions = check_transitions(
        "transition_params", transition_params, inputs.shape[2], inputs.dtype
    )
    return crf_unary_score(tag_indices, sequence_lengths, inputs) + crf_binary_score(
        tag_indices, sequence_lengths, transitions
    )


def _alpha_step(transitions):
    # Laid out [batch, to, from]: the log-sum-exp reduces the last axis.
    transposed = ops.expand_dims(ops.transpose(transitions), 0)

    def step(alphas, unary):
        return unary + ops.logsumexp(ops.expand_dims(alphas, 1) + transposed, axis=2)

    return step


def crf_forward(inputs, state, transition_params, sequence_lengths):
    """Computes the alpha values in a linear-chain CRF (the forward algorithm).

    See http://www.cs.columbia.edu/~mcollins/fb.pdf for reference.

    Args:
        inputs: A `[batch_size, max_seq_len - 1, num_tags]` tensor of unary
            potentials of the steps after the first.
        state: A `[batch_size, num_tags]` matrix of the first step's alpha
            values (its unary potentials).
        transition_params: A `[num_tags, num_tags]` matrix of binary
            potentials.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.

    Returns:
        A `[batch_size, num_tags]` matrix: the alpha values at each sequence's
        last step.
    """
    inputs = check_potentials("inputs", inputs)
    state = ops.cast(check_rank("state", state, 2, "[batch_size, num_tags]"), inputs.dtype)
    transitions = check_transitions(
        "transition_params", transition_params, inputs.shape[2], inputs.dtype
    )
    lengths = check_lengths("sequence_lengths", sequence_lengths)
    if inputs.shape[1] == 0:
        return state
    # Position 0 of all_alphas is `state`; position t is after inputs[:, t - 1].
    alphas = all_alphas(_alpha_step(transitions), state, inputs)
    return gather_steps(alphas, ops.maximum(lengths - 1, 0))


def all_alphas(step, initial, inputs):
    """`[batch, time + 1, tags]`: `initial`, then `step` applied along `inputs`' time axis.

    The scan runs over one extra dummy step (dropped), so it is never empty,
    even for a 0-step input of unknown length. No masking inside the loop:
    each sequence's result is gathered at its own last step afterwards.
    """
    padded = ops.concatenate([inputs, ops.expand_dims(ops.zeros_like(initial), 1)], axis=1)
    stacked = stacked_scan(step, initial, ops.transpose(padded, (1, 0, 2)))
    return ops.concatenate(
        [ops.expand_dims(initial, 1), ops.transpose(stacked[:-1], (1, 0, 2))], axis=1
    )


def gather_steps(values, index):
    """`values[b, index[b]]` for `[batch, time, tags]` values.

    A masked sum rather than a gather: on these sizes it is as fast, and its
    gradient is a `where` instead of a scatter.
    """
    steps = ops.arange(ops.shape(values)[1], dtype="int32")
    chosen = ops.expand_dims(
        ops.expand_dims(steps, 0) == ops.expand_dims(ops.cast(index, "int32"), 1), 2
    )
    return ops.sum(ops.where(chosen, values, ops.zeros_like(values)), axis=1)


def _last_alphas(inputs, transitions, lengths):
    """The alphas at each sequence's last step (position max(length - 1, 0))."""
    alphas = all_alphas(_alpha_step(transitions), inputs[:, 0], inputs[:, 1:])
    return gather_steps(alphas, ops.maximum(lengths - 1, 0))


def crf_log_norm(inputs, sequence_lengths, transition_params):
    """Computes the normalization (log partition function) for a CRF.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.
        transition_params: A `[num_tags, num_tags]` transition matrix.

    Returns:
        A `[batch_size]` vector of log normalizers (0 for an empty sequence).
    """
    inputs = check_potentials("inputs", inputs)
    lengths = check_lengths("sequence_lengths", sequence_lengths)
    transitions = check_transitions(
        "transition_params", transition_params, inputs.shape[2], inputs.dtype
    )
    if inputs.shape[1] == 1:
        alphas = inputs[:, 0]
    else:
        alphas = _last_alphas(inputs, transitions, lengths)
    log_norm = ops.logsumexp(alphas, axis=1)
    return ops.where(lengths <= 0, ops.zeros_like(log_norm), log_norm)


def crf_multitag_sequence_score(inputs, tag_bitmap, sequence_lengths, transition_params):
    """Computes the unnormalized score of all tag sequences matching `tag_bitmap`.

    With one-hot rows in `tag_bitmap` this equals `crf_sequence_score`.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        tag_bitmap: A `[batch_size, max_seq_len, num_tags]` boolean tensor of
            the tags consistent with each step's observation.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.
        transition_params: A `[num_tags, num_tags]` transition matrix.

    Returns:
        A `[batch_size]` vector: the log-sum-exp of the matching sequences'
        scores.
    """
    filtered = crf_filtered_inputs(inputs, tag_bitmap)
    return crf_log_norm(filtered, sequence_lengths, transition_params)


def crf_log_likelihood(inputs, tag_indices, sequence_lengths, transition_params=None):
    """Computes the log-likelihood of tag sequences in a CRF.

    Args:
        inputs: A `[batch_size, max_seq_len, num_tags]` tensor of unary
            potentials.
        tag_indices: A `[batch_size, max_seq_len]` matrix of tag indices.
        sequence_lengths: A `[batch_size]` vector of true sequence lengths.
        transition_params: A `[num_tags, num_tags]` transition matrix; when
            `None`, a new Glorot-uniform `keras.Variable` named `transitions`
            is created (as TFA did).

    Returns:
        `(log_likelihood, transition_params)`: a `[batch_size]` vector, and the
        transition matrix used.
    """
    inputs = check_potentials("inputs", inputs)
    num_tags = inputs.shape[2]
    if transition_params is None:
        if num_tags is None:
            raise invalid(
                "inputs",
                "a known number of tags (last axis) when transition_params is None",
                "None",
            )
        initial = keras.initializers.GlorotUniform()((num_tags, num_tags))
        transition_params = keras.Variable(initial, name="transitions")
    transitions = check_transitions("transition_params", transition_params, num_tags, inputs.dtype)
    tags = check_tags("tag_indices", tag_indices)
    lengths = check_lengths("sequence_lengths", sequence_lengths)
    scores = crf_sequence_score(inputs, tags, lengths, transitions)
    log_likelihood = scores - crf_log_norm(inputs, lengths, transitions)
    return log_likelihood, transition_params
