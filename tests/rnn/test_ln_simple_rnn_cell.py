"""The book's `LNSimpleRNNCell` ("Hands-On ML" ch. 15), and checkpoint restore of every cell."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.rnn import LayerNormLSTMCell, LayerNormSimpleRNNCell, LNSimpleRNNCell


def numpy_ln_simple_rnn(
    x, kernel, recurrent_kernel, bias, gamma, beta, epsilon, activation=np.tanh
):
    """The book's cell, written from its text: SimpleRNNCell(activation=None) -> LayerNormalization -> activation."""
    h = np.zeros((x.shape[0], kernel.shape[1]))
    outputs = []
    for t in range(x.shape[1]):
        z = x[:, t] @ kernel + h @ recurrent_kernel + bias
        mean = z.mean(-1, keepdims=True)
        variance = z.var(-1, keepdims=True)
        h = activation(gamma * (z - mean) / np.sqrt(variance + epsilon) + beta)
        outputs.append(h)
    return np.stack(outputs, axis=1)


def cell_weights(cell):
    weights = (
        cell.kernel,
        cell.recurrent_kernel,
        cell.bias,
        cell.layer_norm.gamma,
        cell.layer_norm.beta,
    )
    return [np.asarray(w, "float64") for w in weights]


class LNSimpleRNNCellTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = np.random.default_rng(0).normal(size=(3, 6, 4)).astype("float32")

    def randomize(self, cell):
        # Non-trivial gamma, beta and bias so each one's place in the formula matters.
        rng = np.random.default_rng(7)
        for weight in cell.weights:
            weight.assign(rng.normal(size=weight.shape).astype("float32"))

    def test_sequence_matches_numpy_reference(self):
        cell = LNSimpleRNNCell(5)
        rnn = keras.layers.RNN(cell, return_sequences=True)
        rnn.build(self.x.shape)
        self.randomize(cell)
        expected = numpy_ln_simple_rnn(self.x.astype("float64"), *cell_weights(cell), epsilon=1e-3)
        self.assertAllClose(rnn(self.x), expected, atol=1e-5)

    def test_activation_and_epsilon_are_used(self):
        cell = LNSimpleRNNCell(5, activation="relu", layer_norm_epsilon=0.5)
        rnn = keras.layers.RNN(cell, return_sequences=True)
        rnn.build(self.x.shape)
        self.randomize(cell)
        relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
        expected = numpy_ln_simple_rnn(
            self.x.astype("float64"), *cell_weights(cell), epsilon=0.5, activation=relu
        )
        self.assertAllClose(rnn(self.x), expected, atol=1e-5)

    def test_differs_from_tfa_cell(self):
        # Same weights where they correspond: TFA's cell (bias after a
        # scale-only norm, epsilon 1e-5) computes another function.
        book, tfa = LNSimpleRNNCell(5), LayerNormSimpleRNNCell(5)
        for cell in (book, tfa):
            keras.layers.RNN(cell).build(self.x.shape)
        self.randomize(book)
        tfa.kernel.assign(book.kernel)
        tfa.recurrent_kernel.assign(book.recurrent_kernel)
        tfa.bias.assign(book.bias)
        tfa.layernorm.gamma.assign(book.layer_norm.gamma)
        step = self.x[:, 0]
        state = np.zeros((3, 5), "float32")
        self.assertNotAllClose(book(step, [state])[0], tfa(step, [state])[0], atol=1e-2)

    def test_weights_are_the_books(self):
        cell = LNSimpleRNNCell(20)
        model = keras.Sequential([keras.Input((None, 1)), keras.layers.RNN(cell)])
        # kernel 1x20, recurrent 20x20, bias 20, gamma 20, beta 20
        self.assertEqual(model.count_params(), 20 + 400 + 20 + 20 + 20)
        self.assertEqual(len(model.trainable_weights), 5)

    def test_trains_with_dropout(self):
        cell = LNSimpleRNNCell(4, dropout=0.2, recurrent_dropout=0.2, seed=1)
        model = keras.Sequential(
            [keras.Input((6, 4)), keras.layers.RNN(cell), keras.layers.Dense(1)]
        )
        model.compile(optimizer="adam", loss="mse")
        y = self.x.sum(axis=(1, 2))[:, None]
        model.fit(self.x, y, epochs=1, verbose=0)
        out = keras.ops.convert_to_numpy(model(self.x, training=False))
        self.assertAllClose(
            out, model.predict(self.x, verbose=0), atol=1e-6
        )  # no dropout at inference

    def test_round_trips(self):
        cell = LNSimpleRNNCell(4, activation="selu", layer_norm_epsilon=1e-4, use_bias=False)
        clone = assert_config_round_trip(self, cell)
        self.assertEqual(clone.layer_norm_epsilon, 1e-4)
        self.assertFalse(clone.use_bias)
        model = keras.Sequential(
            [keras.Input((6, 4)), keras.layers.RNN(LNSimpleRNNCell(4, layer_norm_epsilon=1e-4))]
        )
        assert_model_round_trip(self, model, self.x)

    @rejects_bad_input(LNSimpleRNNCell)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`units`"):
            LNSimpleRNNCell(0)
        with self.assertRaisesRegex(TypeError, "`units`"):
            LNSimpleRNNCell(2.5)
        with self.assertRaisesRegex(ValueError, "`layer_norm_epsilon`"):
            LNSimpleRNNCell(4, layer_norm_epsilon=0.0)
        with self.assertRaisesRegex(ValueError, "activation"):
            LNSimpleRNNCell(4, activation="no_such_activation")


@pytest.mark.tf_only("tf.train.Checkpoint tracks Keras variables on TensorFlow only")
class CellCheckpointTest(tf.test.TestCase):
    """Every cell's variables, sublayers included, restore into a fresh twin."""

    def test_every_cell_restores_every_variable(self):
        x = np.random.default_rng(0).normal(size=(2, 5, 3)).astype("float32")
        makers = {
            "LNSimpleRNNCell": lambda: LNSimpleRNNCell(4),
            "LayerNormSimpleRNNCell": lambda: LayerNormSimpleRNNCell(4),
            "LayerNormLSTMCell": lambda: LayerNormLSTMCell(4),
        }
        for name, make in makers.items():
            with self.subTest(cell=name):
                keras.utils.set_random_seed(0)
                model = keras.Sequential([keras.Input((5, 3)), keras.layers.RNN(make())])
                rng = np.random.default_rng(1)
                for weight in model.weights:  # gains and shifts away from their 1/0 initial values
                    weight.assign(rng.normal(size=weight.shape).astype("float32"))
                with tempfile.TemporaryDirectory() as tmp:
                    path = tf.train.Checkpoint(model=model).save(os.path.join(tmp, "ckpt"))
                    keras.utils.set_random_seed(2)
                    twin = keras.Sequential([keras.Input((5, 3)), keras.layers.RNN(make())])
                    tf.train.Checkpoint(model=twin).restore(path).assert_consumed()
                self.assertEqual(len(twin.weights), len(model.weights))
                for restored, original in zip(twin.weights, model.weights):
                    self.assertAllEqual(
                        np.asarray(restored), np.asarray(original), msg=original.path
                    )
                self.assertAllClose(twin(x), model(x), atol=0)
