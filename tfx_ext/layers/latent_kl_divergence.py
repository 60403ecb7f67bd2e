"""The VAE latent loss: KL divergence of the codings from N(0, I) (HOML ch. 17).

Keras 3 core has no such layer (its VAE example computes it in `train_step`).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class LatentKLDivergence(keras.layers.Layer):
    """Adds a VAE's latent loss, `weight * KL(N(mean, exp(log_var)) || N(0, I))`.

    For each example the KL divergence of a diagonal Gaussian from the unit
    Gaussian has the closed form
    `-0.5 * sum(1 + log_var - exp(log_var) - mean ** 2)` over the latent
    (last) axis; the layer adds `weight` times its mean over the batch with
    `add_loss`, and returns its inputs unchanged, so it sits between the
    encoder and `Sampling`. The book divides the latent loss by the number of
    pixels (784 on Fashion-MNIST) to put it on the scale of a reconstruction
    loss averaged over pixels: `weight=1 / 784`.

    Args:
        weight: Factor of the loss, a number >= 0. Defaults to 1.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A list `[mean, log_var]` of two tensors of the same shape.

    Returns:
        The list `[mean, log_var]`, unchanged.

    Example:

    >>> mean, log_var = LatentKLDivergence(weight=1 / 784)([mean, log_var])
    >>> codings = Sampling()([mean, log_var])
    """

    def __init__(self, weight=1.0, **kwargs):
        super().__init__(**kwargs)
        self.weight = check_number("weight", weight, 0.0)

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise invalid("inputs", "a list [mean, log_var] of two tensors", input_shape)
        if tuple(input_shape[0]) != tuple(input_shape[1]):
            raise invalid(
                "inputs",
                "mean and log_var of the same shape",
                f"shapes {tuple(input_shape[0])} and {tuple(input_shape[1])}",
            )
        self.built = True

    def call(self, inputs):
        mean, log_var = inputs
        kl = -0.5 * ops.sum(1.0 + log_var - ops.exp(log_var) - ops.square(mean), axis=-1)
        self.add_loss(self.weight * ops.mean(kl))
        return [mean, log_var]

    def compute_output_shape(self, input_shape):
        return [tuple(input_shape[0]), tuple(input_shape[1])]

    def get_config(self):
        return {**super().get_config(), "weight": self.weight}
