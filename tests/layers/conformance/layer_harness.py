"""The checks TFA's `layer_test` runs on a layer, written for Keras 3.

TFA's layer tests call `layer_test(cls, kwargs, input_shape | input_data,
expected_output)`. This runs the same procedure: random inputs drawn as TFA
draws them, a functional model around the layer, `predict` compared with the
expected output at TFA's tolerance (rtol 1e-3, atol 1e-6), the output shape
against `compute_output_shape`, a model rebuilt from its config with the same
weights giving the same output, and one training step.

TFA ran its layer tests both eagerly and as graphs (`maybe_run_functions_eagerly`);
`run_eagerly=True` runs the same checks eagerly, which saves the tracing when a
test loops over dtypes.
"""

import keras
import numpy as np

TFA_RTOL = 1e-3
TFA_ATOL = 1e-6


def _shapes_agree(expected, actual):
    return len(expected) == len(actual) and all(
        e is None or e == a for e, a in zip(expected, actual)
    )


def run_layer_test(
    test,
    layer_cls,
    kwargs=None,
    input_shape=None,
    input_data=None,
    expected_output=None,
    validate_training=True,
    run_eagerly=False,
):
    if input_data is None:
        if input_shape is None:
            raise ValueError("input_shape is None")
        data_shape = [np.random.randint(1, 4) if d is None else d for d in input_shape]
        input_data = (10 * np.random.random(data_shape) - 0.5).astype("float32")
    elif input_shape is None:
        input_shape = input_data.shape
    layer = layer_cls(**(kwargs or {}))

    x = keras.Input(shape=tuple(input_shape[1:]), dtype=str(input_data.dtype))
    model = keras.Model(x, layer(x))
    if run_eagerly:
        model.compile(run_eagerly=True)
    actual = np.asarray(model.predict(input_data, verbose=0))
    computed = tuple(layer.compute_output_shape(tuple(input_shape)))
    test.assertTrue(
        _shapes_agree(computed, actual.shape),
        f"output shape {actual.shape}, compute_output_shape {computed}",
    )
    if expected_output is not None:
        np.testing.assert_allclose(actual, expected_output, rtol=TFA_RTOL, atol=TFA_ATOL)

    recovered = keras.Model.from_config(model.get_config())
    if run_eagerly:
        recovered.compile(run_eagerly=True)
    if model.weights:
        recovered.set_weights(model.get_weights())
        np.testing.assert_allclose(
            recovered.predict(input_data, verbose=0), actual, rtol=TFA_RTOL, atol=TFA_ATOL
        )

    if validate_training:
        trained = keras.Model(x, layer(x))
        trained.compile("rmsprop", "mse", run_eagerly=run_eagerly)
        trained.train_on_batch(input_data, actual)
    return actual


def assert_allclose_according_to_type(a, b, rtol=1e-6, atol=1e-6, half_rtol=1e-3, half_atol=1e-3):
    """TFA's `test_utils.assert_allclose_according_to_type`: looser for float16."""
    a = np.asarray(keras.ops.convert_to_numpy(a))
    b = np.asarray(keras.ops.convert_to_numpy(b))
    if np.float16 in (a.dtype, b.dtype):
        rtol, atol = max(rtol, half_rtol), max(atol, half_atol)
    np.testing.assert_allclose(a, b, rtol=rtol, atol=atol)
