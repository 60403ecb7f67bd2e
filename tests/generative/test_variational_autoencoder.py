import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.generative import VariationalAutoencoder

CODINGS = 2


def parts(seed=0):
    keras.utils.set_random_seed(seed)
    x = keras.Input((8,))
    h = keras.layers.Dense(6, activation="selu")(x)
    encoder = keras.Model(
        x, [keras.layers.Dense(CODINGS)(h), keras.layers.Dense(CODINGS)(h)], name="encoder"
    )
    decoder = keras.Sequential(
        [
            keras.Input((CODINGS,)),
            keras.layers.Dense(6, activation="selu"),
            keras.layers.Dense(8, activation="sigmoid"),
        ],
        name="decoder",
    )
    return encoder, decoder


def data():
    return np.random.default_rng(0).uniform(0, 1, (32, 8)).astype("float32")


def gaussian_kl(mean, log_var):
    return np.sum(-log_var / 2 + (np.exp(log_var) + mean**2) / 2 - 0.5, axis=-1)


class VariationalAutoencoderForwardTest(tf.test.TestCase):
    # Passes on JAX too, but is left out of the JAX leg to keep it short: not backend_neutral.
    def test_call_is_encoder_sampling_decoder(self):
        vae = VariationalAutoencoder(*parts(), seed=1)
        x = data()[:4]
        mean, log_var = (keras.ops.convert_to_numpy(t) for t in vae.encode(x))
        self.assertEqual(mean.shape, (4, CODINGS))
        deterministic = VariationalAutoencoder(vae.encoder, vae.decoder, sample_at_inference=False)
        self.assertAllClose(deterministic(x, training=False), vae.decode(mean))
        # Training calls sample: another output than decoding the mean.
        self.assertNotAllClose(deterministic(x, training=True), vae.decode(mean))

    def test_generate_decodes_unit_gaussian_codings(self):
        vae = VariationalAutoencoder(*parts())
        samples = keras.ops.convert_to_numpy(vae.generate(5, seed=3))
        self.assertEqual(samples.shape, (5, 8))
        self.assertAllClose(samples, vae.decode(keras.random.normal((5, CODINGS), seed=3)))
        self.assertNotAllClose(samples, vae.generate(5, seed=4))


class VariationalAutoencoderTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        # One trained VAE for the training, saving and checkpoint tests (eager:
        # a few steps of a tiny model cost less than tracing them).
        cls.vae = VariationalAutoencoder(*parts(), kl_weight=0.5, seed=3, sample_at_inference=False)
        cls.vae.compile(
            loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01), run_eagerly=True
        )
        cls.history = cls.vae.fit(
            data(), data(), epochs=4, batch_size=32, verbose=0, shuffle=False
        ).history["loss"]

    def test_loss_is_reconstruction_plus_weighted_latent_kl(self):
        vae = VariationalAutoencoder(*parts(), kl_weight=0.125, sample_at_inference=False)
        vae.compile(loss="mse", optimizer="sgd")
        x = data()
        mean, log_var = (keras.ops.convert_to_numpy(t) for t in vae.encode(x))
        reconstructions = keras.ops.convert_to_numpy(vae.decode(mean))
        expected = np.mean((reconstructions - x) ** 2) + 0.125 * gaussian_kl(mean, log_var).mean()
        self.assertAllClose(vae.evaluate(x, x, batch_size=32, verbose=0), expected, rtol=1e-5)

    def test_training_lowers_the_loss(self):
        self.assertLess(self.history[-1], self.history[0])

    def test_serialization(self):
        vae, x = self.vae, data()[:6]
        clone = assert_config_round_trip(self, vae)
        self.assertEqual((clone.kl_weight, clone.seed, clone.sample_at_inference), (0.5, 3, False))
        loaded = assert_model_round_trip(self, vae, x, x)
        self.assertIsInstance(loaded, VariationalAutoencoder)
        self.assertAllClose(loaded.generate(3, seed=1), vae.generate(3, seed=1))

    @pytest.mark.tf_only("tf.train.Checkpoint")
    def test_checkpoint_restores_into_a_fresh_twin(self):
        vae = self.vae
        twin = VariationalAutoencoder(*parts(seed=5), kl_weight=0.5, sample_at_inference=False)
        twin.compile(loss="binary_crossentropy", optimizer=keras.optimizers.Adam(0.01))
        twin.optimizer.build(twin.trainable_variables)
        with tempfile.TemporaryDirectory() as tmp:
            path = tf.train.Checkpoint(model=vae, optimizer=vae.optimizer).write(
                os.path.join(tmp, "ckpt")
            )
            tf.train.Checkpoint(model=twin, optimizer=twin.optimizer).read(
                path
            ).assert_existing_objects_matched()
        for restored, original in zip(
            twin.weights + twin.optimizer.variables, vae.weights + vae.optimizer.variables
        ):
            self.assertAllEqual(np.asarray(restored), np.asarray(original), msg=original.path)
        self.assertAllEqual(twin(data(), training=False), vae(data(), training=False))

    @rejects_bad_input(VariationalAutoencoder, VariationalAutoencoder.generate)
    def test_bad_arguments(self):
        encoder, decoder = parts()
        with self.assertRaisesRegex(
            TypeError,
            "`encoder`. Expected a built Sequential \\(with an Input\\) or functional keras.Model",
        ):
            VariationalAutoencoder("encoder", decoder)
        with self.assertRaisesRegex(
            ValueError, "`encoder`. Expected a model with two outputs of the same shape"
        ):
            VariationalAutoencoder(decoder, decoder)
        wide = keras.Sequential([keras.Input((3,)), keras.layers.Dense(8)])
        with self.assertRaisesRegex(
            ValueError, "`decoder`. Expected a model with one input of the codings' shape \\(2,\\)"
        ):
            VariationalAutoencoder(encoder, wide)
        with self.assertRaisesRegex(ValueError, "`kl_weight`. Expected a number >= 0.0"):
            VariationalAutoencoder(encoder, decoder, kl_weight=-1)
        with self.assertRaisesRegex(TypeError, "`seed`"):
            VariationalAutoencoder(encoder, decoder, seed="1")
        vae = VariationalAutoencoder(encoder, decoder)
        with self.assertRaisesRegex(ValueError, "`n`. Expected an integer >= 1. Received: n=0"):
            vae.generate(0)
        with self.assertRaisesRegex(TypeError, "`seed`. Expected an integer or None"):
            vae.generate(2, seed=0.5)
