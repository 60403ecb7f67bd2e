"""The variational autoencoder of HOML ch. 17 as a Keras model.

Keras 3 core has no VAE (its example writes the model, the sampling layer and
the latent loss by hand); TensorFlow Addons had none.
"""

import keras
from keras.saving import deserialize_keras_object, serialize_keras_object

from tfx_ext._core.arguments import check_int, check_number, invalid
from tfx_ext._core.model_graphs import check_graph_model
from tfx_ext.layers.latent_kl_divergence import LatentKLDivergence
from tfx_ext.layers.sampling import Sampling


@keras.saving.register_keras_serializable(package="tfx_ext")
class VariationalAutoencoder(keras.Model):
    """encoder -> (codings mean, codings log-variance) -> sampling -> decoder.

    The model adds the latent loss (`LatentKLDivergence`, times `kl_weight`)
    on every call, so `compile(loss=...)` names only the reconstruction loss:
    `vae.fit(x, x)` then minimizes reconstruction + `kl_weight` * KL, the
    book's VAE (which uses `kl_weight=1 / 784` with a per-pixel loss).

    Args:
        encoder: A Sequential or functional model with two outputs of the same
            shape, the codings' mean and log-variance.
        decoder: A Sequential or functional model from codings to
            reconstructions; its input shape is the codings' shape.
        kl_weight: Factor of the latent loss, a number >= 0. Defaults to 1.
        seed: Seed of the sampling noise, an integer or `None`.
        sample_at_inference: Whether `vae(x, training=False)` (and so
            `predict`) samples the codings (`True`, the book's behaviour, the
            default) or decodes their mean.
        **kwargs: Base model arguments (`name`, ...).

    Call arguments:
        inputs: A batch the encoder accepts.
        training: Whether the call is a training call.

    Example:

    >>> vae = VariationalAutoencoder(encoder, decoder, kl_weight=1 / 64, seed=0)
    >>> vae.compile(loss="binary_crossentropy", optimizer="rmsprop")
    >>> vae.fit(x, x, epochs=25)
    >>> images = vae.generate(12, seed=1)
    """

    def __init__(
        self, encoder, decoder, kl_weight=1.0, seed=None, sample_at_inference=True, **kwargs
    ):
        super().__init__(**kwargs)
        check_graph_model("encoder", encoder, "the VAE")
        check_graph_model("decoder", decoder, "the VAE")
        if len(encoder.outputs) != 2 or tuple(encoder.outputs[0].shape) != tuple(
            encoder.outputs[1].shape
        ):
            raise invalid(
                "encoder",
                "a model with two outputs of the same shape (codings mean and log-variance)",
                f"a model with outputs of shapes {[tuple(o.shape) for o in encoder.outputs]}",
            )
        codings_shape = tuple(encoder.outputs[0].shape[1:])
        if len(decoder.inputs) != 1 or tuple(decoder.inputs[0].shape[1:]) != codings_shape:
            raise invalid(
                "decoder",
                f"a model with one input of the codings' shape {codings_shape}",
                f"a model with inputs of shapes {[tuple(i.shape) for i in decoder.inputs]}",
            )
        self.encoder = encoder
        self.decoder = decoder
        self.kl_weight = check_number("kl_weight", kl_weight, 0.0)
        self.codings_shape = codings_shape
        self.latent_loss = LatentKLDivergence(self.kl_weight, name="latent_loss")
        self.sampling = Sampling(
            seed=seed, sample_at_inference=sample_at_inference, name="sampling"
        )
        self.seed = seed
        self.sample_at_inference = sample_at_inference

    def call(self, inputs, training=None):
        mean, log_var = self.encoder(inputs, training=training)
        mean, log_var = self.latent_loss([mean, log_var])
        codings = self.sampling([mean, log_var], training=training)
        return self.decoder(codings, training=training)

    def encode(self, x):
        """The codings' `[mean, log_var]` for inputs `x` (inference mode)."""
        return self.encoder(x, training=False)

    def decode(self, codings):
        """Reconstructions (or new samples) from `codings` (inference mode)."""
        return self.decoder(codings, training=False)

    def generate(self, n, seed=None):
        """Decodes `n` codings drawn from N(0, I): `n` new samples.

        Args:
            n: How many samples, an integer >= 1.
            seed: Seed of the codings, an integer or `None`.
        """
        n = check_int("n", n, 1)
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise invalid("seed", "an integer or None", seed, TypeError)
        codings = keras.random.normal((n, *self.codings_shape), seed=seed)
        return self.decode(codings)

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "encoder": serialize_keras_object(self.encoder),
            "decoder": serialize_keras_object(self.decoder),
            "kl_weight": self.kl_weight,
            "seed": self.seed,
            "sample_at_inference": self.sample_at_inference,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["encoder"] = deserialize_keras_object(config["encoder"])
        config["decoder"] = deserialize_keras_object(config["decoder"])
        return cls(**config)
