"""Gradient check: autodiff against central finite differences ("Hands-On ML" App. D)."""

import contextlib

import keras
import numpy as np

from tfx_ext._core.arguments import check_data, check_int, check_number, invalid
from tfx_ext._core.private_api import float64_promotion_table


def _relative_error(analytic, numeric):
    # A non-finite gradient is infinitely wrong: NaN would pass `error > tol`
    # checks and hide in `max(errors.values())` unless it came first.
    if not (np.all(np.isfinite(analytic)) and np.all(np.isfinite(numeric))):
        return float("inf")
    scale = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if scale == 0.0:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / scale)


def check_gradients(fn, inputs, epsilon=1e-6, seed=0):
    """Compares autodiff gradients with central finite differences, in float64.

    The output of `fn` is projected on a fixed random tensor to get a scalar,
    whose gradient is taken with respect to every input and, when `fn` is a
    Keras layer (or model), every trainable variable. Each finite difference
    perturbs one element by `+-epsilon`, so keep the inputs and layers small.

    Args:
        fn: A Keras layer or model built with `dtype="float64"`, or a callable
            of the inputs (e.g. `lambda y_pred: loss(y_true, y_pred)`).
        inputs: An array or a list of arrays (cast to float64).
        epsilon: Finite-difference step. Defaults to `1e-6`.
        seed: Seed of the random projection.

    Returns:
        A dict from `"input_<i>"` and variable paths to the relative error
        `||autodiff - numeric|| / (||autodiff|| + ||numeric||)`: about 1e-9
        when the gradients are right, of order 1 when they are wrong, and
        `inf` when either gradient has a NaN or an infinity.

    Raises:
        TypeError: `fn` is not callable, or `inputs` not numeric.
        ValueError: `epsilon` is not > 0, `inputs` are empty or not finite,
            or the layer's variables are not float64.

    Example:

    >>> layer = Maxout(2, dtype="float64")
    >>> errors = check_gradients(layer, np.random.randn(3, 4))
    >>> assert max(errors.values()) < 1e-6
    """
    if not callable(fn):
        raise invalid("fn", "a Keras layer or model, or a callable of the inputs", fn, TypeError)
    # A step of 0 divides by zero; below ~1e-12 float64 round-off swamps the difference.
    epsilon = check_number("epsilon", epsilon, low=0.0, low_open=True)
    seed = check_int("seed", seed)
    if isinstance(inputs, (list, tuple)) and not inputs:
        raise invalid("inputs", "an array or a non-empty list of arrays", inputs)
    if keras.backend.backend() == "jax":
        with _jax_float64():
            return _check(fn, inputs, epsilon, seed, _jax_autodiff)
    return _check(fn, inputs, epsilon, seed, _tensorflow_autodiff)


@contextlib.contextmanager
def _jax_float64():
    """Real float64 on JAX for the duration of the check.

    JAX computes in 32 bits unless its 64-bit mode is on, and Keras's type
    promotion on JAX turns every float64 result into float32 (to match that
    default): central differences in float32 cannot tell a right gradient from
    a slightly wrong one. Keras has no public switch for the promotion, so its
    table entry is set for the check and restored after it.
    """
    import jax

    table = float64_promotion_table()
    saved = table.get("float64")
    table["float64"] = "float64"
    try:
        with jax.enable_x64(True):
            yield
    finally:
        table["float64"] = saved


def _tensorflow_autodiff(fn, arrays, single, variables, projection):
    import tensorflow as tf  # GradientTape: no keras.ops gradient API.

    tensors = [tf.constant(a) for a in arrays]
    with tf.GradientTape() as tape:
        tape.watch(tensors)
        out = fn(tensors[0] if single else tensors)
        objective = tf.reduce_sum(tf.cast(out, tf.float64) * projection)
    grads = tape.gradient(objective, tensors + [v.value for v in variables])
    return [None if g is None else np.asarray(tf.convert_to_tensor(g)) for g in grads]


def _jax_autodiff(fn, arrays, single, variables, projection):
    import jax
    import jax.numpy as jnp

    def objective(input_values, variable_values):
        # A stateless scope lets `fn` read traced values in place of its variables.
        with keras.StatelessScope(state_mapping=list(zip(variables, variable_values))):
            out = fn(input_values[0] if single else list(input_values))
        return jnp.sum(jnp.asarray(out, dtype="float64") * projection)

    input_grads, variable_grads = jax.grad(objective, argnums=(0, 1))(
        [jnp.asarray(a) for a in arrays], [jnp.asarray(v.value, dtype="float64") for v in variables]
    )
    return [np.asarray(g) for g in list(input_grads) + list(variable_grads)]


def _check(fn, inputs, epsilon, seed, autodiff):
    single = not isinstance(inputs, (list, tuple))
    arrays = [
        np.asarray(check_number("inputs", float(x)))
        if np.ndim(x) == 0 and not isinstance(x, str)
        else check_data("inputs", x).astype("float64")
        for x in ([inputs] if single else inputs)
    ]
    variables = list(getattr(fn, "trainable_variables", []))

    def call(values):
        tensors = [keras.ops.convert_to_tensor(np.array(v)) for v in values]
        return fn(tensors[0] if single else tensors)

    if hasattr(fn, "built") and not fn.built:
        call(arrays)
        variables = list(fn.trainable_variables)
    for v in variables:
        if v.dtype != "float64":
            raise ValueError(
                f"check_gradients needs float64 variables: build the layer with "
                f"dtype='float64'. Variable '{v.path}' is {v.dtype}."
            )
    originals = [np.array(keras.ops.convert_to_numpy(v), dtype="float64") for v in variables]
    # Re-assigning gives float64 storage to variables built while JAX was
    # 32-bit; the original values are assigned back at the end.
    for variable, value in zip(variables, originals):
        variable.assign(value)

    projection = np.random.default_rng(seed).standard_normal(np.shape(call(arrays)))

    def scalar(values):
        return float(
            np.sum(
                np.asarray(keras.ops.convert_to_numpy(call(values)), dtype="float64") * projection
            )
        )

    grads = autodiff(fn, arrays, single, variables, projection)

    errors = {}
    for i, (array, grad) in enumerate(zip(arrays, grads)):
        numeric = np.zeros_like(array)
        for index in np.ndindex(array.shape):
            original = array[index]
            array[index] = original + epsilon
            plus = scalar(arrays)
            array[index] = original - epsilon
            minus = scalar(arrays)
            array[index] = original
            numeric[index] = (plus - minus) / (2 * epsilon)
        analytic = np.zeros_like(array) if grad is None else np.asarray(grad)
        errors[f"input_{i}"] = _relative_error(analytic, numeric)

    for variable, grad, value in zip(variables, grads[len(arrays) :], originals):
        value = value.copy()
        numeric = np.zeros_like(value)
        for index in np.ndindex(value.shape):
            original = value[index]
            value[index] = original + epsilon
            variable.assign(value)
            plus = scalar(arrays)
            value[index] = original - epsilon
            variable.assign(value)
            minus = scalar(arrays)
            value[index] = original
            variable.assign(value)
            numeric[index] = (plus - minus) / (2 * epsilon)
        analytic = np.zeros_like(value) if grad is None else grad
        errors[variable.path] = _relative_error(analytic, numeric)
    return errors
