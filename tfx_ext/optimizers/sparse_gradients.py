"""Sparse gradients (`tf.IndexedSlices`) as a dense gradient and a row mask.

TFA's optimizers update only the rows an embedding gradient touches
(`_resource_apply_sparse`); Keras 3 hands `update_step` the `IndexedSlices`
itself. Our update rules stay dense `keras.ops` code and use the mask to leave
the untouched rows as they were, which reproduces TFA's sparse trajectories.
"""

import keras
from keras import ops


def _is_indexed_slices(gradient):
    # Only the TensorFlow backend produces IndexedSlices; no keras.ops type
    # exists for them, so we test for TensorFlow's class there.
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return isinstance(gradient, tf.IndexedSlices)


def densify(gradient, dtype):
    """Returns `(dense_gradient, touched)`.

    `touched` is None for a dense gradient; for `IndexedSlices` it is a boolean
    tensor of the variable's shape, True on the rows the gradient names
    (repeated indices are summed in the dense gradient, as TFA does).
    """
    if not _is_indexed_slices(gradient):
        return ops.cast(gradient, dtype), None
    import tensorflow as tf

    dense = ops.cast(tf.convert_to_tensor(gradient), dtype)
    ones = tf.IndexedSlices(tf.ones_like(gradient.values), gradient.indices, gradient.dense_shape)
    touched = ops.greater(tf.convert_to_tensor(ones), 0)
    return dense, touched


def only_touched(touched, new_value, old_value):
    """`new_value` on the touched rows, `old_value` elsewhere (all of it if dense)."""
    if touched is None:
        return new_value
    return ops.where(touched, new_value, old_value)


def is_sparse(gradient):
    """Whether `gradient` is a `tf.IndexedSlices` (an embedding lookup's gradient on TensorFlow)."""
    return _is_indexed_slices(gradient)


def unique_rows(gradient, dtype):
    """`(values, indices)` of an `IndexedSlices` with repeated rows summed.

    TFA's optimizers saw deduplicated slices (Keras 2 summed repeated indices
    before `_resource_apply_sparse`); Keras 3 hands them over as they are.
    TensorFlow-only: there is no `keras.ops` segment sum over a dynamic
    number of unique indices.
    """
    import tensorflow as tf

    indices, positions = tf.unique(gradient.indices)
    values = tf.math.unsorted_segment_sum(
        tf.cast(gradient.values, dtype), positions, tf.shape(indices)[0]
    )
    return values, indices


def row_update(values, indices, reference):
    """An `IndexedSlices` of `values` at `indices` shaped as `reference`, for the
    optimizer's `assign`/`assign_sub`, which scatter it (only those rows are written)."""
    import tensorflow as tf

    return tf.IndexedSlices(values, indices, tf.shape(reference, out_type=indices.dtype))


def gather_rows(variable, indices):
    """The rows `indices` of a variable (a Keras variable, or the `tf.Variable`
    that Keras's TensorFlow optimizer hands to `update_step`), read by row."""
    import tensorflow as tf

    if isinstance(variable, keras.Variable):
        variable = variable.value
    return tf.gather(variable, indices)
