"""The two-variable problems TFA's optimizer tests run (`run_dense_sample`, `run_sparse_sample`)."""

import keras
import numpy as np
import pytest


def requires_indexed_slices():
    """Sparse gradients (`tf.IndexedSlices`) exist only on the TensorFlow backend."""
    if keras.backend.backend() != "tensorflow":
        pytest.skip("tf.IndexedSlices gradients exist only on the TensorFlow backend")


def _repeat(optimizer, grads_and_vars, iterations):
    """`iterations` optimizer steps; on TensorFlow inside one `tf.function` (fast)."""
    grads_and_vars = list(grads_and_vars)

    def step():
        optimizer.apply_gradients(grads_and_vars)

    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        optimizer.build([v for _, v in grads_and_vars])
        step = tf.function(step)
    for _ in range(iterations):
        step()


def run_dense_sample(
    optimizer,
    iterations,
    values=([1.0, 2.0], [3.0, 4.0]),
    grads=([0.1, 0.2], [0.03, 0.04]),
    dtype="float32",
):
    """Applies the same gradients `iterations` times; returns the variables' values."""
    variables = [keras.Variable(np.array(v, dtype), dtype=dtype) for v in values]
    gradients = [keras.ops.convert_to_tensor(np.array(g, dtype)) for g in grads]
    _repeat(optimizer, zip(gradients, variables), iterations)
    return [keras.ops.convert_to_numpy(v) for v in variables]


def indexed_slices(values, indices, dense_shape):
    import tensorflow as tf

    return tf.IndexedSlices(tf.constant(values), tf.constant(indices), tf.constant(dense_shape))


def run_sparse_sample(optimizer, iterations, values=([1.0, 2.0], [3.0, 4.0]), grads=None):
    """TFA's sparse sample: gradient 0.1 on row 0 of var_0, 0.04 on row 1 of var_1."""
    import tensorflow as tf

    variables = [tf.Variable(v) for v in values]
    if grads is None:
        grads = [indexed_slices([0.1], [0], [2]), indexed_slices([0.04], [1], [2])]
    _repeat(optimizer, zip(grads, variables), iterations)
    return [v.numpy() for v in variables]
