"""Monte Carlo dropout layers: dropout that stays on at inference.

Keras 3 core has no MC variants (`Dropout(...)(x, training=True)` works in a
functional graph but is lost when the layer is reused or the model cloned).
`tfx_ext.uncertainty.enable_mc_dropout` swaps a trained model's dropout layers
for these; `tfx_ext.uncertainty.mc_predict` averages their stochastic passes.
"""

import keras

from tfx_ext._core.arguments import check_number


class _AlwaysStochastic:
    """Mixin: run the parent dropout in training mode whatever `training` says.

    Its layers are `tfx_ext._core.protocols.MCLayer`s (`mc = True`).
    """

    mc = True

    def __init__(self, rate, *args, **kwargs):
        # Keras accepts rate=1, which drops everything and then divides by 1 - rate = 0.
        rate = check_number("rate", rate, 0.0, 1.0, high_open=True)
        super().__init__(rate, *args, **kwargs)

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCDropout(_AlwaysStochastic, keras.layers.Dropout):
    """`keras.layers.Dropout` that also drops units at inference (Gal & Ghahramani, 2016).

    Args:
        rate: Fraction of the units to drop, a float in `[0, 1)`.
        noise_shape: Shape of the binary dropout mask, as in `Dropout`.
        seed: Seed of the random masks, an integer or `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: Input tensor of any rank.
        training: Ignored: units are dropped in every call.

    Returns:
        The inputs with a fraction `rate` of units zeroed and the rest scaled
        by `1 / (1 - rate)`.

    Raises:
        ValueError, TypeError: `rate` is not a number in `[0, 1)`.

    Example:

    >>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(100, activation="relu"),
    ...                           MCDropout(0.2), keras.layers.Dense(10, activation="softmax")])
    >>> tfx_ext.uncertainty.mc_predict(model, x, samples=100).mean
    """


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCAlphaDropout(_AlwaysStochastic, keras.layers.AlphaDropout):
    """`keras.layers.AlphaDropout` that stays on at inference, for SELU nets.

    Keeps the mean and variance of SELU activations, so a self-normalizing net
    stays normalized under MC sampling.

    Args:
        rate: Drop probability, a float in `[0, 1)`.
        noise_shape: Shape of the binary dropout mask, as in `AlphaDropout`.
        seed: Seed of the random masks, an integer or `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: Input tensor of any rank.
        training: Ignored: units are dropped in every call.

    Raises:
        ValueError, TypeError: `rate` is not a number in `[0, 1)`.

    Example:

    >>> x = keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal")(x)
    >>> x = MCAlphaDropout(0.1)(x)
    """


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCSpatialDropout1D(_AlwaysStochastic, keras.layers.SpatialDropout1D):
    """`keras.layers.SpatialDropout1D` (drops whole channels) that stays on at inference.

    Args:
        rate: Fraction of the channels to drop, a float in `[0, 1)`.
        seed: Seed of the random masks, an integer or `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A 3D tensor `(batch, steps, channels)`.
        training: Ignored: channels are dropped in every call.

    Raises:
        ValueError, TypeError: `rate` is not a number in `[0, 1)`.

    Example:

    >>> x = keras.layers.Conv1D(32, 3, activation="relu")(x)
    >>> x = MCSpatialDropout1D(0.2)(x)
    """


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCSpatialDropout2D(_AlwaysStochastic, keras.layers.SpatialDropout2D):
    """`keras.layers.SpatialDropout2D` (drops whole feature maps) that stays on at inference.

    Args:
        rate: Fraction of the feature maps to drop, a float in `[0, 1)`.
        data_format: `"channels_last"` or `"channels_first"`, as in
            `SpatialDropout2D`.
        seed: Seed of the random masks, an integer or `None`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A 4D tensor of feature maps.
        training: Ignored: feature maps are dropped in every call.

    Raises:
        ValueError, TypeError: `rate` is not a number in `[0, 1)`.

    Example:

    >>> x = keras.layers.Conv2D(32, 3, activation="relu")(x)
    >>> x = MCSpatialDropout2D(0.2)(x)
    """


# Each Keras dropout class and its MC twin, most specific first (SpatialDropout
# subclasses Dropout).
MC_TWINS = (
    (keras.layers.SpatialDropout2D, MCSpatialDropout2D),
    (keras.layers.SpatialDropout1D, MCSpatialDropout1D),
    (keras.layers.AlphaDropout, MCAlphaDropout),
    (keras.layers.Dropout, MCDropout),
)
