import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_model_round_trip
from tfx_ext.generative import (
    denoising_autoencoder,
    sparse_autoencoder,
    stacked_autoencoder,
    tied_autoencoder,
)
from tfx_ext.layers import DenseTranspose
from tfx_ext.regularizers import KLDivergenceRegularizer

SHAPE = (4, 4)


def images():
    return np.random.default_rng(0).uniform(0, 1, (6, *SHAPE)).astype("float32")


def selu(z):
    return keras.ops.convert_to_numpy(keras.activations.selu(z))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


class AutoencoderBuildersTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_stacked_autoencoder_computes_the_mirrored_stack(self):
        model = stacked_autoencoder(SHAPE, units=(8, 3))
        self.assertEqual(model.output_shape, (None, *SHAPE))
        self.assertEqual(
            model.count_params(), (16 * 8 + 8) + (8 * 3 + 3) + (3 * 8 + 8) + (8 * 16 + 16)
        )
        x = images()
        (k1, b1), (k2, b2), (k3, b3), (k4, b4) = (
            [np.asarray(w) for w in model.get_layer(name).weights]
            for name in ("encoder_1", "codings", "decoder_1", "reconstructions")
        )
        codings = selu(selu(x.reshape(6, -1) @ k1 + b1) @ k2 + b2)
        expected = sigmoid(selu(codings @ k3 + b3) @ k4 + b4).reshape(x.shape)
        self.assertAllClose(model(x), expected, atol=1e-5)
        encoder = keras.Model(model.inputs, model.get_layer("codings").output)
        self.assertAllClose(encoder(x), codings, atol=1e-5)

    def test_tied_autoencoder_decodes_with_transposed_encoder_kernels(self):
        model = tied_autoencoder(SHAPE, units=(8, 3))
        decoders = [layer for layer in model.layers if isinstance(layer, DenseTranspose)]
        self.assertEqual([d.dense.name for d in decoders], ["codings", "encoder_1"])
        # Encoder kernels and biases, plus one bias per decoder layer.
        self.assertEqual(model.count_params(), (16 * 8 + 8) + (8 * 3 + 3) + 8 + 16)
        x = images()
        k1, b1 = (np.asarray(w) for w in model.get_layer("encoder_1").weights)
        k2, b2 = (np.asarray(w) for w in model.get_layer("codings").weights)
        c2, c1 = (np.asarray(d.bias) for d in decoders)
        codings = selu(selu(x.reshape(6, -1) @ k1 + b1) @ k2 + b2)
        expected = sigmoid(selu(codings @ k2.T + c2) @ k1.T + c1).reshape(x.shape)
        self.assertAllClose(model(x), expected, atol=1e-5)
        loaded = assert_model_round_trip(self, model, x, saved_model=False)
        self.assertIs(loaded.get_layer("reconstructions").dense, loaded.get_layer("encoder_1"))

    def test_denoising_autoencoder_corrupts_inputs_only_while_training(self):
        for noise, kind in (
            ("gaussian", keras.layers.GaussianNoise),
            ("dropout", keras.layers.Dropout),
        ):
            with self.subTest(noise=noise):
                model = denoising_autoencoder(SHAPE, units=(8, 3), noise=noise, seed=1)
                self.assertIsInstance(model.get_layer("noise"), kind)
                clean = keras.Sequential([layer for layer in model.layers if layer.name != "noise"])
                x = images()
                self.assertAllClose(model(x, training=False), clean(x), atol=0)
                self.assertNotAllClose(model(x, training=True), clean(x))
        self.assertAllClose(denoising_autoencoder(SHAPE).get_layer("noise").stddev, 0.2)
        self.assertAllClose(
            denoising_autoencoder(SHAPE, noise="dropout").get_layer("noise").rate, 0.5
        )
        self.assertAllClose(
            denoising_autoencoder(SHAPE, noise="dropout", noise_level=0.3).get_layer("noise").rate,
            0.3,
        )

    def test_sparse_autoencoder_adds_the_kl_sparsity_loss_of_its_codings(self):
        model = sparse_autoencoder(SHAPE, units=(8, 12), sparsity_weight=0.05, sparsity_target=0.1)
        codings_layer = model.get_layer("codings")
        self.assertEqual(codings_layer.activation.__name__, "sigmoid")
        self.assertIsInstance(codings_layer.activity_regularizer, KLDivergenceRegularizer)
        x = images()
        model(x)
        codings = keras.ops.convert_to_numpy(keras.Model(model.inputs, codings_layer.output)(x))
        q, p = codings.mean(axis=0).astype("float64"), 0.1
        expected = 0.05 * np.sum(p * np.log(p / q) + (1 - p) * np.log((1 - p) / (1 - q))) / len(x)
        self.assertLen(model.losses, 1)
        self.assertAllClose(keras.ops.convert_to_numpy(model.losses[0]), expected, rtol=1e-4)

    @rejects_bad_input(
        stacked_autoencoder, tied_autoencoder, denoising_autoencoder, sparse_autoencoder
    )
    def test_bad_arguments(self):
        for build in (
            stacked_autoencoder,
            tied_autoencoder,
            denoising_autoencoder,
            sparse_autoencoder,
        ):
            with self.subTest(build=build.__name__):
                with self.assertRaisesRegex(
                    ValueError, "`units`. Expected a non-empty tuple of positive integers"
                ):
                    build(SHAPE, units=(8, 0))
                with self.assertRaisesRegex(ValueError, "`input_shape`. Expected a shape"):
                    build((4, -4))
                with self.assertRaisesRegex(ValueError, "activation"):
                    build(SHAPE, activation="no_such_activation")
        with self.assertRaisesRegex(ValueError, "`noise`. Expected one of 'gaussian', 'dropout'"):
            denoising_autoencoder(SHAPE, noise="salt")
        with self.assertRaisesRegex(ValueError, "`noise_level`"):
            denoising_autoencoder(SHAPE, noise="dropout", noise_level=1.0)
        with self.assertRaisesRegex(ValueError, "`sparsity_target`|`target`"):
            sparse_autoencoder(SHAPE, sparsity_target=0.0)
