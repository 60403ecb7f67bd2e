import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import DenseTranspose


def tied_autoencoder(input_dim=64, codings=16, dtype=None):
    encoder = keras.layers.Dense(codings, activation="tanh", name="encoder", dtype=dtype)
    decoder = DenseTranspose(encoder, name="decoder", dtype=dtype)
    x = keras.Input((input_dim,), dtype=dtype)
    return keras.Model(x, decoder(encoder(x))), encoder, decoder


class DenseTransposeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_output_is_transposed_kernel_product(self):
        encoder = keras.layers.Dense(3, use_bias=False)
        encoder.build((None, 5))
        decoder = DenseTranspose(encoder, activation="sigmoid", bias_initializer="ones")
        h = self.rng.standard_normal((4, 3)).astype("float32")
        kernel = np.asarray(encoder.kernel)
        expected = 1.0 / (1.0 + np.exp(-(h @ kernel.T + 1.0)))
        self.assertAllClose(decoder(h), expected, atol=1e-6)
        self.assertEqual(tuple(decoder.compute_output_shape((None, 3))), (None, 5))

    def test_kernel_is_shared_not_copied(self):
        model, encoder, decoder = tied_autoencoder()
        self.assertIs(decoder.dense.kernel, encoder.kernel)
        # encoder kernel + encoder bias + decoder bias: the kernel counts once.
        self.assertEqual(len(model.trainable_weights), 3)
        self.assertEqual(model.count_params(), 64 * 16 + 16 + 64)

    def test_training_updates_the_tied_kernel_from_both_uses(self):
        model, encoder, _ = tied_autoencoder()
        x_train = digits()[0]
        model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
        before = model.evaluate(x_train, x_train, verbose=0)
        model.fit(x_train, x_train, epochs=5, batch_size=64, verbose=0)
        after = model.evaluate(x_train, x_train, verbose=0)
        self.assertLess(after, 0.8 * before)
        # decoding uses the encoder's current kernel
        codes = np.asarray(encoder(x_train[:3]))
        decoded = model.predict(x_train[:3], verbose=0)
        bias = np.asarray(model.get_layer("decoder").bias)
        self.assertAllClose(decoded, codes @ np.asarray(encoder.kernel).T + bias, atol=1e-5)

    def test_gradients_through_both_uses(self):
        model, _, _ = tied_autoencoder(input_dim=4, codings=2, dtype="float64")
        assert_gradients_match(self, model, self.rng.standard_normal((3, 4)))

    def test_tie_survives_keras_save_and_load(self):
        model, _, _ = tied_autoencoder()
        x = digits()[0][:64]
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, x, epochs=1, verbose=0)
        loaded = assert_model_round_trip(self, model, x)
        encoder, decoder = loaded.get_layer("encoder"), loaded.get_layer("decoder")
        self.assertIs(decoder.dense, encoder)
        self.assertEqual(len(loaded.trainable_weights), 3)
        # still tied when training resumes
        loaded.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        loaded.fit(x, x, epochs=1, verbose=0)
        self.assertIs(decoder.dense.kernel, encoder.kernel)

    def test_tie_survives_in_a_stacked_sequential_autoencoder(self):
        # The book's stacked autoencoder, as one flat Sequential.
        dense_1 = keras.layers.Dense(32, activation="selu", name="dense_1")
        dense_2 = keras.layers.Dense(8, activation="selu", name="dense_2")
        autoencoder = keras.Sequential(
            [
                keras.Input((64,)),
                dense_1,
                dense_2,
                DenseTranspose(dense_2, activation="selu", name="decode_2"),
                DenseTranspose(dense_1, name="decode_1"),
            ]
        )
        x = digits()[0][:16]
        loaded = assert_model_round_trip(self, autoencoder, x)
        self.assertIs(loaded.get_layer("decode_2").dense, loaded.get_layer("dense_2"))
        self.assertIs(loaded.get_layer("decode_1").dense, loaded.get_layer("dense_1"))

    @rejects_bad_input(DenseTranspose)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(TypeError, r"argument `dense`.*keras.layers.Dense"):
            DenseTranspose(keras.layers.Conv1D(2, 1))
        encoder = keras.layers.Dense(4, name="enc")
        encoder.build((None, 6))
        with self.assertRaisesRegex(ValueError, r"expects inputs with 4 features"):
            DenseTranspose(encoder)(np.zeros((2, 5), "float32"))
        with self.assertRaisesRegex(ValueError, r"tied layer 'late' to be built"):
            DenseTranspose(keras.layers.Dense(4, name="late"))(np.zeros((2, 4), "float32"))

    def test_serialization(self):
        encoder = keras.layers.Dense(4, name="enc")
        encoder.build((None, 6))
        layer = DenseTranspose(encoder, activation="relu", use_bias=True, name="dt")
        clone = assert_config_round_trip(self, layer)
        self.assertIsNot(clone.dense, encoder)  # no model: nothing to tie to
        model, _, _ = tied_autoencoder(input_dim=6, codings=4)
        assert_model_round_trip(self, model, self.rng.standard_normal((3, 6)).astype("float32"))


class DenseTransposeTieTest(tf.test.TestCase):
    """The tie must survive every restore path, or the path must fail loudly."""

    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_rebuilding_from_config_alone_fails_instead_of_untying(self):
        # Before the fix each path returned a model whose decoder used a
        # separate copy of the kernel (5 trainable weights instead of 3).
        from tfx_ext.uncertainty import enable_mc_dropout

        encoder = keras.layers.Dense(8, name="enc")
        x = keras.Input((64,))
        h = keras.layers.Dropout(0.1)(encoder(x))
        model = keras.Model(x, DenseTranspose(encoder, name="dec")(h))
        paths = {
            "clone_model": lambda: keras.models.clone_model(model),
            "model_from_json": lambda: keras.models.model_from_json(model.to_json()),
            "Model.from_config": lambda: keras.Model.from_config(model.get_config()),
            "enable_mc_dropout": lambda: enable_mc_dropout(model),
        }
        for name, rebuild in paths.items():
            with self.subTest(path=name):
                with self.assertRaisesRegex(
                    ValueError, r"DenseTranspose 'dec'.*tie to the Dense layer 'enc' is lost"
                ):
                    rebuild()

    @pytest.mark.tf_only("tf.train.Checkpoint tracks Keras variables on TensorFlow only")
    def test_checkpoint_restores_into_a_fresh_twin_with_the_tie(self):
        x = digits()[0][:32]
        model, encoder, decoder = tied_autoencoder()
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, x, epochs=2, verbose=0)
        # The model's weights only: the twin has no optimizer state to match.
        with tempfile.TemporaryDirectory() as tmp:
            path = tf.train.Checkpoint(layers=model.layers).save(os.path.join(tmp, "ckpt"))
            keras.utils.set_random_seed(1)
            twin, twin_encoder, twin_decoder = tied_autoencoder()
            tf.train.Checkpoint(layers=twin.layers).restore(path).assert_existing_objects_matched()
        for restored, original in zip(twin.weights, model.weights):
            self.assertAllEqual(np.asarray(restored), np.asarray(original), msg=original.path)
        self.assertIs(twin_decoder.dense.kernel, twin_encoder.kernel)
        # The twin's decoder reads the restored encoder kernel (independent formula).
        codes = np.tanh(x @ np.asarray(twin_encoder.kernel) + np.asarray(twin_encoder.bias))
        expected = codes @ np.asarray(twin_encoder.kernel).T + np.asarray(twin_decoder.bias)
        self.assertAllClose(twin.predict(x, verbose=0), expected, atol=1e-5)
