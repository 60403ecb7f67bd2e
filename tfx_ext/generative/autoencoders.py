"""Builders of the autoencoders of HOML ch. 17: stacked, tied, denoising, sparse.

Each returns an uncompiled, flat `keras.Sequential` (Flatten -> encoder Dense
layers -> decoder Dense layers -> Reshape), the book's layout with its
defaults (SELU hidden layers, a sigmoid output for inputs in [0, 1]). The
coding layer is named `"codings"`, so the encoder is
`keras.Model(ae.inputs, ae.get_layer("codings").output)`. The model is flat
because Keras 3.15 reloads a tied model from a `.keras` file only when the tied
`Dense` layers are in the same model as their `DenseTranspose` layers.
"""

import math

import keras

from tfx_ext._core.arguments import check_choice, check_number, invalid
from tfx_ext.layers.dense_transpose import DenseTranspose
from tfx_ext.regularizers.kl_divergence import KLDivergenceRegularizer


def _positive_ints(name, value, expected):
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value,)
    try:
        values = tuple(value)
    except TypeError:
        raise invalid(name, expected, value, TypeError) from None
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise invalid(name, expected, value)
    return values


def _autoencoder(
    name,
    input_shape,
    units,
    activation,
    output_activation,
    tied=False,
    noise=None,
    codings_activation=None,
    codings_regularizer=None,
):
    input_shape = _positive_ints(
        "input_shape", input_shape, "a shape: a tuple of positive integers"
    )
    units = _positive_ints(
        "units", units, "a non-empty tuple of positive integers (hidden sizes, codings last)"
    )
    keras.activations.get(activation)
    keras.activations.get(output_activation)
    layers = [keras.Input(input_shape), keras.layers.Flatten(name="flatten")]
    if noise is not None:
        layers.append(noise)
    encoders = []
    for i, size in enumerate(units):
        last = i == len(units) - 1
        encoders.append(
            keras.layers.Dense(
                size,
                activation=codings_activation if last and codings_activation else activation,
                activity_regularizer=codings_regularizer if last else None,
                name="codings" if last else f"encoder_{i + 1}",
            )
        )
    layers += encoders
    outputs = math.prod(input_shape)
    sizes = list(units[-2::-1]) + [outputs]
    for i, size in enumerate(sizes):
        act = output_activation if i == len(sizes) - 1 else activation
        decoder_name = "reconstructions" if i == len(sizes) - 1 else f"decoder_{len(sizes) - 1 - i}"
        if tied:
            layers.append(
                DenseTranspose(encoders[len(encoders) - 1 - i], activation=act, name=decoder_name)
            )
        else:
            layers.append(keras.layers.Dense(size, activation=act, name=decoder_name))
    layers.append(keras.layers.Reshape(input_shape, name="reshape"))
    return keras.Sequential(layers, name=name)


def stacked_autoencoder(
    input_shape, units=(100, 30), activation="selu", output_activation="sigmoid"
):
    """A stacked autoencoder: Dense layers down to the codings and back.

    Args:
        input_shape: Shape of one example, e.g. `(28, 28)`.
        units: Sizes of the encoder's Dense layers, the codings' size last
            (the decoder mirrors them). Defaults to the book's `(100, 30)`.
        activation: Activation of the hidden layers. Defaults to `"selu"`.
        output_activation: Activation of the reconstructions. Defaults to
            `"sigmoid"` (inputs scaled to [0, 1], binary cross-entropy loss).

    Returns:
        An uncompiled `keras.Sequential` from inputs to reconstructions.

    Example:

    >>> ae = stacked_autoencoder((28, 28), units=(100, 30))
    >>> ae.compile(loss="binary_crossentropy", optimizer=keras.optimizers.SGD(1.5))
    """
    return _autoencoder("stacked_autoencoder", input_shape, units, activation, output_activation)


def tied_autoencoder(input_shape, units=(100, 30), activation="selu", output_activation="sigmoid"):
    """A stacked autoencoder whose decoder reuses the encoder's kernels, transposed.

    Each decoder layer is a `tfx_ext.layers.DenseTranspose` tied to its
    mirror encoder `Dense`: about half the weights of `stacked_autoencoder`.
    Arguments as `stacked_autoencoder`.

    Example:

    >>> ae = tied_autoencoder((28, 28), units=(100, 30))
    """
    return _autoencoder(
        "tied_autoencoder", input_shape, units, activation, output_activation, tied=True
    )


def denoising_autoencoder(
    input_shape,
    units=(100, 30),
    noise="gaussian",
    noise_level=None,
    activation="selu",
    output_activation="sigmoid",
    seed=None,
):
    """A stacked autoencoder that corrupts its inputs while training.

    The corruption is a `keras.layers.GaussianNoise` (`noise="gaussian"`,
    `noise_level` its standard deviation, the book's 0.2 by default) or a
    `keras.layers.Dropout` (`noise="dropout"`, `noise_level` its rate, the
    book's 0.5 by default) right after the input: active in training only,
    so the trained model maps clean inputs to clean reconstructions.

    Args:
        input_shape, units, activation, output_activation: As
            `stacked_autoencoder`.
        noise: `"gaussian"` or `"dropout"`.
        noise_level: Standard deviation (> 0) or rate (in (0, 1)), or `None`
            for the book's value.
        seed: Seed of the noise, an integer or `None`.

    Example:

    >>> ae = denoising_autoencoder((28, 28), noise="dropout", noise_level=0.5)
    """
    check_choice("noise", noise, ("gaussian", "dropout"))
    if noise == "gaussian":
        level = (
            0.2
            if noise_level is None
            else check_number("noise_level", noise_level, 0.0, low_open=True)
        )
        layer = keras.layers.GaussianNoise(level, seed=seed, name="noise")
    else:
        level = (
            0.5
            if noise_level is None
            else check_number("noise_level", noise_level, 0.0, 1.0, True, True)
        )
        layer = keras.layers.Dropout(level, seed=seed, name="noise")
    return _autoencoder(
        "denoising_autoencoder", input_shape, units, activation, output_activation, noise=layer
    )


def sparse_autoencoder(
    input_shape,
    units=(100, 300),
    sparsity_weight=0.05,
    sparsity_target=0.1,
    activation="selu",
    output_activation="sigmoid",
):
    """A stacked autoencoder with sparse codings (few active units per input).

    The coding layer has sigmoid activations and a
    `tfx_ext.regularizers.KLDivergenceRegularizer(sparsity_weight,
    sparsity_target)` activity regularizer, the book's sparse autoencoder
    (300 codings, weight 0.05, target 0.1).

    Args:
        input_shape, units, activation, output_activation: As
            `stacked_autoencoder` (`units` defaults to the book's `(100, 300)`).
        sparsity_weight: Factor of the sparsity loss, a number >= 0.
        sparsity_target: Target mean activation of each coding unit, in (0, 1).

    Example:

    >>> ae = sparse_autoencoder((28, 28), units=(100, 300))
    """
    regularizer = KLDivergenceRegularizer(sparsity_weight, sparsity_target)
    return _autoencoder(
        "sparse_autoencoder",
        input_shape,
        units,
        activation,
        output_activation,
        codings_activation="sigmoid",
        codings_regularizer=regularizer,
    )
