"""InstanceNormalization layer.

Replaces `tfa.layers.InstanceNormalization`: Keras 3's
`keras.layers.GroupNormalization(groups=-1)` under TFA's name. TFA's
`GroupNormalization` is Keras 3's `keras.layers.GroupNormalization` (same
arguments and defaults: `groups=32, axis=-1, epsilon=1e-3, center=True,
scale=True`, zeros/ones initializers).
"""

import warnings

import keras


@keras.saving.register_keras_serializable(package="tfx_ext")
class InstanceNormalization(keras.layers.GroupNormalization):
    """Normalizes each channel of each example on its own (Ulyanov et al., 2016).

    `keras.layers.GroupNormalization` with one group per channel; it takes
    the same arguments except `groups` (overwritten, with a warning, as TFA).

    Args:
        axis: The channel axis. Defaults to `-1`.
        epsilon: Added to the variance. Defaults to `1e-3`.
        center: Whether to add the learned offset `beta`. Defaults to `True`.
        scale: Whether to multiply by the learned `gamma`. Defaults to `True`.
        beta_initializer, gamma_initializer, beta_regularizer,
        gamma_regularizer, beta_constraint, gamma_constraint: For the weights.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor whose channel axis has a known size.

    Example:

    >>> InstanceNormalization()(keras.Input((32, 32, 3))).shape
    (None, 32, 32, 3)
    """

    def __init__(self, **kwargs):
        if "groups" in kwargs:
            warnings.warn("The given value for groups will be overwritten.", stacklevel=2)
        kwargs["groups"] = -1
        super().__init__(**kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("groups")  # always one group per channel (and set to the channel count by build)
        return config
