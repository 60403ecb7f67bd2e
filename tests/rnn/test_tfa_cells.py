"""PeepholeLSTMCell, NASCell, ESNCell and the ESN layer against independent references,
their round trips and their argument checks."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.layers import ESN
from tfx_ext.rnn import ESNCell, NASCell, PeepholeLSTMCell


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np(weight):
    return np.asarray(keras.ops.convert_to_numpy(weight), "float64")


class TfaCellsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.x = rng.normal(size=(3, 4)).astype("float32")
        self.h = rng.normal(size=(3, 5)).astype("float32")
        self.c = rng.normal(size=(3, 5)).astype("float32")

    def test_peephole_cell_matches_the_equations(self):
        for implementation in (1, 2):
            with self.subTest(implementation=implementation):
                cell = PeepholeLSTMCell(
                    5, implementation=implementation, bias_initializer="random_normal"
                )
                h, (h2, c2) = cell(self.x, [self.h, self.c])
                z = self.x @ _np(cell.kernel) + self.h @ _np(cell.recurrent_kernel) + _np(cell.bias)
                zi, zf, zc, zo = np.split(z, 4, axis=1)
                p_i, p_f, p_o = (
                    _np(w)
                    for w in (
                        cell.input_gate_peephole_weights,
                        cell.forget_gate_peephole_weights,
                        cell.output_gate_peephole_weights,
                    )
                )
                i, f = sigmoid(zi + p_i * self.c), sigmoid(zf + p_f * self.c)
                c = f * self.c + i * np.tanh(zc)
                o = sigmoid(zo + p_o * c)
                self.assertAllClose(c2, c, atol=1e-5)
                self.assertAllClose(h, o * np.tanh(c), atol=1e-5)
                self.assertAllClose(h2, h)

    def test_peepholes_matter(self):
        # zero peephole weights give Keras's LSTMCell exactly
        cell = PeepholeLSTMCell(5)
        plain = keras.layers.LSTMCell(5)
        cell.build((None, 4))
        plain.build((None, 4))
        plain.set_weights(cell.get_weights()[:3])
        for w in (
            cell.input_gate_peephole_weights,
            cell.forget_gate_peephole_weights,
            cell.output_gate_peephole_weights,
        ):
            w.assign(np.zeros(5, "float32"))
        self.assertAllClose(
            cell(self.x, [self.h, self.c])[0], plain(self.x, [self.h, self.c])[0], atol=1e-6
        )
        cell.input_gate_peephole_weights.assign(np.ones(5, "float32"))
        self.assertNotAllClose(
            cell(self.x, [self.h, self.c])[0], plain(self.x, [self.h, self.c])[0]
        )

    def test_esn_reservoir_has_the_asked_spectral_radius_and_leaks(self):
        cell = ESNCell(6, connectivity=0.5, leaky=0.3, spectral_radius=0.7)
        out, (state,) = cell(self.x, [self.h[:, :1].repeat(6, axis=1)])
        reservoir = _np(cell.recurrent_kernel)
        self.assertAllClose(np.abs(np.linalg.eigvals(reservoir)).max(), 0.7, atol=1e-5)
        h0 = self.h[:, :1].repeat(6, axis=1)
        expected = 0.7 * h0 + 0.3 * np.tanh(
            self.x @ _np(cell.kernel) + h0 @ reservoir + _np(cell.bias)
        )
        self.assertAllClose(out, expected, atol=1e-5)
        self.assertEmpty(cell.trainable_weights)  # a reservoir: only a readout is trained

    def test_round_trips(self):
        x = np.random.default_rng(3).normal(size=(2, 5, 3)).astype("float32")
        for make in (
            lambda: keras.layers.RNN(PeepholeLSTMCell(4)),
            lambda: keras.layers.RNN(NASCell(4, projection=3, use_bias=True)),
            lambda: keras.layers.RNN(ESNCell(4, connectivity=0.5)),
            lambda: ESN(4, leaky=0.5, return_sequences=True),
        ):
            layer = make()
            with self.subTest(
                layer=type(layer.cell).__name__ if type(layer) is keras.layers.RNN else "ESN"
            ):
                assert_config_round_trip(
                    self, layer.cell if type(layer) is keras.layers.RNN else layer
                )
                model = keras.Sequential([keras.Input((5, 3)), layer])
                assert_model_round_trip(self, model, x)

    @rejects_bad_input(NASCell, ESNCell, ESN, PeepholeLSTMCell)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`units`"):
            NASCell(0)
        with self.assertRaisesRegex(TypeError, "`projection`"):
            NASCell(4, projection=2.5)
        with self.assertRaisesRegex(TypeError, "`use_bias`"):
            NASCell(4, use_bias="yes")
        with self.assertRaisesRegex(ValueError, "`connectivity`"):
            ESNCell(4, connectivity=1.5)
        with self.assertRaisesRegex(ValueError, "`spectral_radius`"):
            ESN(4, spectral_radius=-0.1)
        with self.assertRaisesRegex(ValueError, "`leaky`"):
            ESN(4, leaky=2)
        with self.assertRaisesRegex(TypeError, "`use_norm2`"):
            ESNCell(4, use_norm2=1)
        with self.assertRaisesRegex(ValueError, "units"):  # Keras's LSTMCell check
            PeepholeLSTMCell(0)
