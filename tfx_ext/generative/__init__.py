"""Representation and generative learning (HOML ch. 17): autoencoders, VAE, GAN training.

Keras 3 core has none of these (its examples write them by hand);
TensorFlow Addons had none either.
"""

from tfx_ext.generative.autoencoders import (
    denoising_autoencoder,
    sparse_autoencoder,
    stacked_autoencoder,
    tied_autoencoder,
)
from tfx_ext.generative.dcgan import dcgan_discriminator, dcgan_generator
from tfx_ext.generative.gan import GAN
from tfx_ext.generative.variational_autoencoder import VariationalAutoencoder

__all__ = [
    "GAN",
    "VariationalAutoencoder",
    "dcgan_discriminator",
    "dcgan_generator",
    "denoising_autoencoder",
    "sparse_autoencoder",
    "stacked_autoencoder",
    "tied_autoencoder",
]
