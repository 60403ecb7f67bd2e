"""The step both layer-normalized simple RNN cells share, before their normalization.

TFA's `LayerNormSimpleRNNCell` and the book's `LNSimpleRNNCell` differ only in
what they do with this pre-activation (where the bias goes, how the layer
norm centers); the dropout masks and the two products are the same.
"""

from keras import ops


def dropped_preactivation(cell, sequence, states, training):
    """`d1(x_t) W_xh + d2(y_{t-1}) W_hh` of a `SimpleRNNCell`, without the bias.

    Args:
        cell: A built `keras.layers.SimpleRNNCell` (its `kernel`,
            `recurrent_kernel`, dropout rates and masks are used).
        sequence: The step's input, `(batch, features)`.
        states: The previous output, alone or in a one-element list.
        training: Whether the dropout masks apply.
    """
    prev_output = states[0] if isinstance(states, (list, tuple)) else states
    if training and 0.0 < cell.dropout < 1.0:
        sequence = sequence * cell.get_dropout_mask(sequence)
    if training and 0.0 < cell.recurrent_dropout < 1.0:
        prev_output = prev_output * cell.get_recurrent_dropout_mask(prev_output)
    return ops.matmul(sequence, cell.kernel) + ops.matmul(prev_output, cell.recurrent_kernel)
