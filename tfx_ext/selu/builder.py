"""The self-normalizing MLP builder and the input standardization it needs (HOML ch. 11).

`self_normalizing_mlp` builds a plain stack of dense SELU layers with LeCun
normal initialization; `adapt_normalization` standardizes its inputs.
"""

import numbers

import keras
import numpy as np

from tfx_ext._core.arguments import check_data, check_int, check_number, invalid
from tfx_ext.layers.mc_dropout import MCAlphaDropout


def self_normalizing_mlp(
    input_shape,
    hidden_units,
    output_units,
    output_activation=None,
    dropout_rate=0.0,
    mc=False,
    adapt_data=None,
    name="self_normalizing_mlp",
):
    """Builds a self-normalizing MLP: Normalization, then SELU + LeCun normal layers.

    Args:
        input_shape: Shape of one example, e.g. `(64,)`.
        hidden_units: Units of each hidden layer, a non-empty list of ints.
        output_units: Units of the output layer, an integer >= 1.
        output_activation: Activation of the output layer (e.g. `"softmax"`).
        dropout_rate: AlphaDropout rate after each hidden layer, in `[0, 1)`.
        mc: Use `MCAlphaDropout` (stays on at inference, for `mc_predict`).
        adapt_data: Optional training inputs to adapt the `Normalization`
            layer with (see `adapt_normalization`); otherwise call
            `adapt_normalization(model.layers[0], x)` yourself.
        name: Name of the model.

    Returns:
        A `keras.Sequential` model (not compiled).

    Raises:
        ValueError: `input_shape` is not a tuple of positive sizes,
            `hidden_units` is empty or holds a size < 1, `output_units` < 1,
            `dropout_rate` outside `[0, 1)`, or `adapt_data` is empty, holds
            NaN/inf or examples of another shape.
        TypeError: A size is not an integer or `adapt_data` not numeric.

    Example:

    >>> model = self_normalizing_mlp((64,), [100] * 20, 10, "softmax",
    ...                              dropout_rate=0.1, mc=True, adapt_data=x_train)
    """
    input_shape = _check_input_shape(input_shape)
    if not isinstance(hidden_units, (list, tuple)) or not hidden_units:
        raise invalid("hidden_units", "a non-empty list of integers", hidden_units)
    hidden_units = [check_int("hidden_units", u, minimum=1) for u in hidden_units]
    output_units = check_int("output_units", output_units, minimum=1)
    dropout_rate = check_number("dropout_rate", dropout_rate, 0.0, 1.0, high_open=True)
    normalization = keras.layers.Normalization(name="standardize")
    if adapt_data is not None:
        adapt_data = check_data("adapt_data", adapt_data, example_shape=input_shape)
    layers = [keras.Input(input_shape), normalization]
    dropout = MCAlphaDropout if mc else keras.layers.AlphaDropout
    for i, units in enumerate(hidden_units):
        layers.append(
            keras.layers.Dense(
                units, activation="selu", kernel_initializer="lecun_normal", name=f"hidden_{i}"
            )
        )
        if dropout_rate > 0:
            layers.append(dropout(dropout_rate, name=f"alpha_dropout_{i}"))
    layers.append(
        keras.layers.Dense(
            output_units,
            activation=output_activation,
            kernel_initializer="lecun_normal",
            name="output",
        )
    )
    model = keras.Sequential(layers, name=name)
    if adapt_data is not None:
        adapt_normalization(normalization, adapt_data)
    return model


def _check_input_shape(input_shape):
    expected = "the shape of one example, a tuple of integers >= 1 such as (64,)"
    if not isinstance(input_shape, (list, tuple)) or not input_shape:
        raise invalid("input_shape", expected, input_shape)
    for size in input_shape:
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 1:
            raise invalid("input_shape", expected, input_shape)
    return tuple(input_shape)


def adapt_normalization(normalization, data):
    """Adapts a `Normalization` layer, giving constant features unit variance.

    Keras divides by `max(std, 1e-7)`, and its streaming variance of a
    constant feature (a border pixel) comes out as rounding noise (~1e-11)
    rather than 0: the feature would then be scaled by ~1e5, turning any
    other value into a huge activation at inference and swamping the other
    features' scales when the model is quantized to int8. A feature that is
    constant in `data` gets its exact value as mean and unit variance: it
    just stays centered at 0.

    Args:
        normalization: A `keras.layers.Normalization` layer (adapted in place).
        data: The training inputs, a non-empty finite numeric array.

    Raises:
        TypeError: `normalization` is not a `Normalization` layer, or `data`
            is not numeric.
        ValueError: `data` is empty or holds NaN/inf (one NaN would make the
            model predict NaN everywhere).

    Example:

    >>> adapt_normalization(model.layers[0], x_train)
    """
    if not isinstance(normalization, keras.layers.Normalization):
        raise invalid(
            "normalization", "a keras.layers.Normalization layer", normalization, TypeError
        )
    data = np.asarray(check_data("data", data))
    normalization.adapt(data)
    kept = tuple(a % data.ndim for a in normalization.axis)
    reduced = tuple(a for a in range(data.ndim) if a not in kept)
    constant = np.ptp(data, axis=reduced) == 0
    mean = keras.ops.convert_to_numpy(normalization.adapt_mean)
    variance = keras.ops.convert_to_numpy(normalization.adapt_variance)
    constant = constant.reshape(mean.shape)
    exact = data[tuple(0 if a in reduced else slice(None) for a in range(data.ndim))].reshape(
        mean.shape
    )
    normalization.adapt_mean.assign(np.where(constant, exact, mean).astype(mean.dtype))
    normalization.adapt_variance.assign(
        np.where(constant | (variance <= 1e-12), 1.0, variance).astype(variance.dtype)
    )
    normalization.finalize_state()
