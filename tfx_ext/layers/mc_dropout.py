"""Monte Carlo dropout layers: dropout that stays on at inference.

Keras 3 core has no MC variants (`Dropout(...)(x, training=True)` works in a
functional graph but is lost when the layer is reused or the model cloned).
`tfx_ext.uncertainty.enable_mc_dropout` swaps a trained model's dropout layers
for these; `tfx_ext.uncertainty.mc_predict` averages their stochastic passes.
"""

import keras


class _AlwaysStochastic:
    """Mixin: run the parent dropout in training mode whatever `training` says."""

    mc = True

    def call(self, inputs, training=None):
        return super().call(inputs, training=True)


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCDropout(_AlwaysStochastic, keras.layers.Dropout):
    """`keras.layers.Dropout` that also drops units at inference (Gal & Ghahramani, 2016).

    Same arguments as `keras.layers.Dropout` (`rate`, `noise_shape`, `seed`);
    the `training` call argument is ignored.

    Example:

    >>> model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(100, activation="relu"),
    ...                           MCDropout(0.2), keras.layers.Dense(10, activation="softmax")])
    >>> tfx_ext.uncertainty.mc_predict(model, x, samples=100).mean
    """


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCAlphaDropout(_AlwaysStochastic, keras.layers.AlphaDropout):
    """`keras.layers.AlphaDropout` that stays on at inference, for SELU nets.

    Keeps the mean and variance of SELU activations, so a self-normalizing net
    stays normalized under MC sampling. Same arguments as `AlphaDropout`.

    Example:

    >>> x = keras.layers.Dense(100, activation="selu", kernel_initializer="lecun_normal")(x)
    >>> x = MCAlphaDropout(0.1)(x)
    """


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCSpatialDropout1D(_AlwaysStochastic, keras.layers.SpatialDropout1D):
    """`keras.layers.SpatialDropout1D` (drops whole channels) that stays on at inference."""


@keras.saving.register_keras_serializable(package="tfx_ext")
class MCSpatialDropout2D(_AlwaysStochastic, keras.layers.SpatialDropout2D):
    """`keras.layers.SpatialDropout2D` (drops whole feature maps) that stays on at inference."""


# Each Keras dropout class and its MC twin, most specific first (SpatialDropout
# subclasses Dropout).
MC_TWINS = (
    (keras.layers.SpatialDropout2D, MCSpatialDropout2D),
    (keras.layers.SpatialDropout1D, MCSpatialDropout1D),
    (keras.layers.AlphaDropout, MCAlphaDropout),
    (keras.layers.Dropout, MCDropout),
)
