import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.rnn import LayerNormLSTMCell, LayerNormSimpleRNNCell


def layer_norm(x, eps):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


class LayerNormCellsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
        self.h = np.random.default_rng(1).normal(size=(3, 5)).astype("float32")
        self.c = np.random.default_rng(2).normal(size=(3, 5)).astype("float32")

    def test_lstm_matches_numpy(self):
        cell = LayerNormLSTMCell(5, norm_epsilon=1e-3)
        h, (h2, c2) = cell(self.x, [self.h, self.c])
        k, r, b = (
            np.asarray(w, "float64") for w in (cell.kernel, cell.recurrent_kernel, cell.bias)
        )
        z = layer_norm(self.x @ k, 1e-3) + layer_norm(self.h @ r, 1e-3) + b
        i, f, g, o = np.split(z, 4, axis=1)
        c = layer_norm(sigmoid(f) * self.c + sigmoid(i) * np.tanh(g), 1e-3)
        self.assertAllClose(c2, c, atol=1e-5)
        self.assertAllClose(h, sigmoid(o) * np.tanh(c), atol=1e-5)

    def test_simple_rnn_matches_numpy(self):
        cell = LayerNormSimpleRNNCell(5, bias_initializer="ones")
        out, _ = cell(self.x, [self.h])
        k, r, b = (
            np.asarray(w, "float64") for w in (cell.kernel, cell.recurrent_kernel, cell.bias)
        )
        self.assertAllClose(out, np.tanh(layer_norm(self.x @ k + self.h @ r, 1e-5) + b), atol=1e-5)

    def test_round_trips(self):
        for cell in (
            LayerNormLSTMCell(4, norm_epsilon=1e-4),
            LayerNormSimpleRNNCell(4, layernorm_epsilon=1e-4),
        ):
            with self.subTest(cell=type(cell).__name__):
                assert_config_round_trip(self, cell)
                model = keras.Sequential([keras.Input((5, 3)), keras.layers.RNN(cell)])
                assert_model_round_trip(
                    self, model, np.random.default_rng(3).normal(size=(2, 5, 3)).astype("float32")
                )

    @rejects_bad_input(LayerNormLSTMCell, LayerNormSimpleRNNCell)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`norm_epsilon`"):
            LayerNormLSTMCell(4, norm_epsilon=0.0)
        with self.assertRaisesRegex(ValueError, "`layernorm_epsilon`"):
            LayerNormSimpleRNNCell(4, layernorm_epsilon=-1.0)
