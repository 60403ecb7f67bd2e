"""Minibatch standard deviation, a minibatch-discrimination layer for GAN discriminators.

HOML ch. 17 (Progressive Growing of GANs, Karras et al., 2018): the
discriminator sees how varied the batch is, so a generator whose samples all
look alike (mode collapse) is easy to reject. Keras 3 core has no such layer,
nor had TensorFlow Addons.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class MinibatchStandardDeviation(keras.layers.Layer):
    """Appends the batch's mean standard deviation as one more feature (channel).

    For inputs of shape `(batch, ..., channels)` the layer computes the
    standard deviation of each feature over the batch, averages it over all
    features and positions into one scalar, and appends that scalar as an
    extra channel of every example: the output has `channels + 1` channels.
    It owns no weights. Place it near the end of a discriminator (the DCGAN
    builder does so with `minibatch_std=True`).

    Args:
        epsilon: Small number added to the variance before the square root,
            a number > 0. Defaults to `1e-8`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A tensor of rank >= 2, channels last.

    Example:

    >>> x = keras.layers.Conv2D(128, 5, strides=2, padding="same")(x)
    >>> x = MinibatchStandardDeviation()(x)   # 129 channels
    """

    def __init__(self, epsilon=1e-8, **kwargs):
        super().__init__(**kwargs)
        self.epsilon = check_number("epsilon", epsilon, 0.0, low_open=True)

    def build(self, input_shape):
        if len(input_shape) < 2:
            raise invalid("inputs", "a tensor of rank >= 2", f"shape {tuple(input_shape)}")
        self.built = True

    def call(self, inputs):
        mean = ops.mean(inputs, axis=0, keepdims=True)
        std = ops.sqrt(ops.mean(ops.square(inputs - mean), axis=0) + self.epsilon)
        feature = ops.ones_like(inputs[..., :1]) * ops.mean(std)
        return ops.concatenate([inputs, feature], axis=-1)

    def compute_output_shape(self, input_shape):
        channels = input_shape[-1]
        return tuple(input_shape[:-1]) + (None if channels is None else channels + 1,)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}
