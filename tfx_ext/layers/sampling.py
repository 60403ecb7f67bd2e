"""Gaussian sampling with the reparameterization trick (HOML ch. 17, VAE).

Keras 3 core has no sampling layer (its VAE example writes one by hand), nor
had TensorFlow Addons.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class Sampling(keras.layers.Layer):
    """Draws codings from N(mean, exp(log_var)) as `mean + exp(log_var / 2) * eps`.

    The noise `eps ~ N(0, I)` is drawn apart from `mean` and `log_var`, so the
    gradient flows through both (Kingma & Welling's reparameterization trick):
    this is the layer between a variational encoder and its decoder.

    At inference the layer samples too by default, as the book's VAE does
    (`sample_at_inference=True`): `vae.predict(x)` then gives a random
    reconstruction. With `sample_at_inference=False`, a call with
    `training=False` returns `mean`, the most likely codings (a deterministic
    reconstruction); training calls always sample.

    Args:
        seed: Seed of the noise, an integer or `None`.
        sample_at_inference: Whether calls with `training=False` sample
            (`True`, the default) or return `mean`.
        **kwargs: Base layer arguments (`name`, `dtype`, ...).

    Call arguments:
        inputs: A list `[mean, log_var]` of two tensors of the same shape
            (`log_var` is the natural log of the variance).
        training: Whether the call is a training call (see above).

    Returns:
        A tensor of the shape of `mean`.

    Example:

    >>> mean = keras.layers.Dense(10)(hidden)
    >>> log_var = keras.layers.Dense(10)(hidden)
    >>> codings = Sampling(seed=42)([mean, log_var])
    """

    def __init__(self, seed=None, sample_at_inference=True, **kwargs):
        super().__init__(**kwargs)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise invalid("seed", "an integer or None", seed, TypeError)
        check_bool("sample_at_inference", sample_at_inference)
        self.seed = seed
        self.sample_at_inference = sample_at_inference
        self.seed_generator = keras.random.SeedGenerator(seed)

    def _check(self, inputs):
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise invalid("inputs", "a list [mean, log_var] of two tensors", inputs)
        mean, log_var = inputs
        if tuple(mean.shape) != tuple(log_var.shape):
            raise invalid(
                "inputs",
                "mean and log_var of the same shape",
                f"shapes {tuple(mean.shape)} and {tuple(log_var.shape)}",
            )
        return mean, log_var

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise invalid("inputs", "a list [mean, log_var] of two tensors", input_shape)
        self.built = True

    def call(self, inputs, training=None):
        mean, log_var = self._check(inputs)
        if not training and not self.sample_at_inference:
            return mean
        eps = keras.random.normal(ops.shape(mean), dtype=mean.dtype, seed=self.seed_generator)
        return mean + ops.exp(log_var / 2) * eps

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "seed": self.seed,
            "sample_at_inference": self.sample_at_inference,
        }
