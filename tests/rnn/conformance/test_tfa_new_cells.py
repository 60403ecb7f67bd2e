"""TFA's rnn/tests/{peephole_lstm_cell,nas_cell,esn_cell}_test.py and layers/tests/esn_test.py,
ported (same inputs, expected values and tolerances).

Deliberate difference: TFA's config tests expect initializers as the strings they were given
("glorot_uniform"); Keras 3 layers store initializers serialized (a dict naming the class), as
every Keras 3 layer does. The ported tests check the same keys and that each initializer
resolves to the same class.
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.layers import ESN
from tfx_ext.rnn import ESNCell, NASCell, PeepholeLSTMCell

_X = np.array([[1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 2.0, 2.0], [3.0, 3.0, 3.0, 3.0]], np.float32)


def _same_config(test, config, expected):
    test.assertEqual(sorted(config), sorted(expected))
    for key, value in expected.items():
        if key.endswith("initializer"):
            test.assertIs(
                type(keras.initializers.get(config[key])), type(keras.initializers.get(value)), key
            )
        elif key == "activation":
            test.assertEqual(keras.activations.get(config[key]), keras.activations.get(value))
        else:
            test.assertEqual(config[key], value, key)


class PeepholeLSTMCellTest(tf.test.TestCase):
    def test_peephole_lstm_cell(self):
        def run(**kwargs):
            inputs = tf.one_hot([1, 2, 3, 4], 4)
            cell = PeepholeLSTMCell(5, **kwargs)
            cell.build(inputs.shape)
            output, _ = cell(inputs, cell.get_initial_state(batch_size=4))
            return keras.ops.convert_to_numpy(output)

        keras.utils.set_random_seed(12345)
        first = run(kernel_initializer="ones", recurrent_activation="sigmoid", implementation=1)
        second = run(kernel_initializer="ones", recurrent_activation="sigmoid", implementation=2)
        expected = np.asarray([[0.417551] * 5] * 3 + [[0.0] * 5], dtype=np.float32)
        np.testing.assert_allclose(first, second)
        np.testing.assert_allclose(first, expected, rtol=1e-6, atol=1e-6)


class NASCellTest(tf.test.TestCase):
    def test_base(self):
        const = keras.initializers.Constant(0.5)
        cell = NASCell(units=6, kernel_initializer=const, recurrent_initializer=const)
        state = 0.1 * np.ones((3, 6), np.float32)
        output, (new_c, new_h) = cell(_X, [state, state])
        expected_output = np.array([[0.576751] * 6, [0.618936] * 6, [0.627393] * 6])
        expected_state = np.array(
            [
                [0.7157977] * 6 + [0.5767508] * 6,
                [0.7804162] * 6 + [0.6189357] * 6,
                [0.7945764] * 4 + [0.7945765] * 2 + [0.6273934] * 6,
            ]
        )
        np.testing.assert_allclose(output, expected_output, rtol=1e-6, atol=1e-6)
        self.assertEqual(tuple(new_c.shape), (3, 6))
        self.assertEqual(tuple(new_h.shape), (3, 6))
        np.testing.assert_allclose(
            np.concatenate([new_c, new_h], axis=1), expected_state, rtol=1e-6, atol=1e-6
        )

    def test_projection(self):
        const = keras.initializers.Constant(0.5)
        cell = NASCell(
            units=6,
            projection=5,
            kernel_initializer=const,
            recurrent_initializer=const,
            projection_initializer=const,
        )
        state_c = 0.1 * np.ones((3, 6), np.float32)
        state_h = 0.1 * np.ones((3, 5), np.float32)
        output, (new_c, new_h) = cell(_X, [state_c, state_h])
        expected_output = np.array([[1.697418] * 5, [1.840037] * 5, [1.873985] * 5])
        expected_state = np.array(
            [
                [0.69855207] * 6 + [1.69741797] * 5,
                [0.77073824] * 6 + [1.84003687] * 5,
                [0.78973997] * 6 + [1.87398517] * 5,
            ]
        )
        np.testing.assert_allclose(output, expected_output, rtol=1e-6, atol=1e-6)
        self.assertEqual(tuple(new_c.shape), (3, 6))
        self.assertEqual(tuple(new_h.shape), (3, 5))
        np.testing.assert_allclose(
            np.concatenate([new_c, new_h], axis=1), expected_state, rtol=1e-6, atol=1e-6
        )

    def test_keras_rnn(self):
        outputs = keras.layers.RNN(cell=NASCell(10))(np.random.rand(2, 3, 5).astype("float32"))
        self.assertEqual(tuple(outputs.shape), (2, 10))

    def test_config_nas(self):
        cell = NASCell(10, projection=5, use_bias=True, name="nas_cell_3")
        expected = {
            "dtype": "float32",
            "name": "nas_cell_3",
            "trainable": True,
            "units": 10,
            "projection": 5,
            "use_bias": True,
            "kernel_initializer": "glorot_uniform",
            "recurrent_initializer": "glorot_uniform",
            "bias_initializer": "zeros",
            "projection_initializer": "glorot_uniform",
        }
        config = cell.get_config()
        config["dtype"] = (
            keras.DTypePolicy(config["dtype"]).name
            if isinstance(config["dtype"], str)
            else (keras.saving.deserialize_keras_object(config["dtype"]).name)
        )
        _same_config(self, config, expected)
        self.assertEqual(NASCell.from_config(cell.get_config()).get_config(), cell.get_config())


class ESNCellTest(tf.test.TestCase):
    def test_base_esn(self):
        const = keras.initializers.Constant(0.5)
        cell = ESNCell(
            units=3,
            connectivity=1,
            leaky=1,
            spectral_radius=0.9,
            use_norm2=True,
            use_bias=True,
            activation=None,
            kernel_initializer=const,
            recurrent_initializer=const,
            bias_initializer=const,
        )
        state = 0.3 * np.ones((3, 3), np.float32)
        output, (new_state,) = cell(_X, [state])
        expected = np.array([[2.77] * 3, [4.77] * 3, [6.77] * 3], np.float32)
        np.testing.assert_allclose(output, expected, 1e-5)
        np.testing.assert_allclose(new_state, expected, 1e-5)

    def _max_eig(self, **kwargs):
        cell = ESNCell(units=3, recurrent_initializer="ones", connectivity=1.0, **kwargs)
        cell.build((3, 3))
        return np.abs(np.linalg.eigvals(cell.get_weights()[0])).max()

    def test_esn_echo_state_property_eig(self):
        self.assertLess(self._max_eig(use_norm2=False), 1)

    def test_esn_echo_state_property_norm2(self):
        self.assertLess(self._max_eig(use_norm2=True), 1)

    def test_esn_connectivity(self):
        keras.utils.set_random_seed(0)
        cell = ESNCell(units=1000, connectivity=0.5, use_norm2=True, recurrent_initializer="ones")
        cell.build((3, 3))
        actual = np.count_nonzero(cell.get_weights()[0]) / 1000**2
        np.testing.assert_allclose(np.asarray([actual]), np.asarray([0.5]), 1e-2)

    def test_esn_keras_rnn(self):
        outputs = keras.layers.RNN(cell=ESNCell(10))(np.random.rand(2, 3, 5).astype("float32"))
        self.assertEqual(tuple(outputs.shape), (2, 10))

    def test_esn_keras_rnn_e2e(self):
        inputs = np.random.random((2, 3, 4))
        targets = np.abs(np.random.random((2, 5)))
        targets /= targets.sum(axis=-1, keepdims=True)
        model = keras.Sequential(
            [keras.Input((3, 4)), keras.layers.Masking(), keras.layers.RNN(ESNCell(5))]
        )
        model.compile(loss="categorical_crossentropy", optimizer="rmsprop")
        history = model.fit(inputs, targets, epochs=1, batch_size=2, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))

    def test_esn_config(self):
        cell = ESNCell(
            units=3,
            connectivity=1,
            leaky=1,
            spectral_radius=0.9,
            use_norm2=False,
            use_bias=True,
            activation="tanh",
            kernel_initializer="glorot_uniform",
            recurrent_initializer="glorot_uniform",
            bias_initializer="glorot_uniform",
            name="esn_cell_3",
        )
        config = cell.get_config()
        expected = {
            "units": 3,
            "connectivity": 1,
            "leaky": 1,
            "spectral_radius": 0.9,
            "use_norm2": False,
            "use_bias": True,
            "activation": "tanh",
            "kernel_initializer": "glorot_uniform",
            "recurrent_initializer": "glorot_uniform",
            "bias_initializer": "glorot_uniform",
        }
        _same_config(self, {k: config[k] for k in expected}, expected)
        self.assertEqual(config["name"], "esn_cell_3")
        self.assertEqual(ESNCell.from_config(config).get_config(), config)


class ESNLayerTest(tf.test.TestCase):
    def test_layer_esn(self):
        # TFA's `layer_test_esn` (named so that pytest never collected it), run here.
        const = keras.initializers.Constant(0.5)
        for dtype in (np.float16, np.float32, np.float64):
            with self.subTest(dtype=dtype.__name__):
                inp = np.asarray([[[1.0] * 4], [[2.0] * 4], [[3.0] * 4]]).astype(dtype)
                out = np.asarray([[2.5] * 3, [4.5] * 3, [6.5] * 3]).astype(dtype)
                layer = ESN(
                    units=3,
                    connectivity=1,
                    leaky=1,
                    spectral_radius=0.9,
                    use_norm2=True,
                    use_bias=True,
                    activation=None,
                    kernel_initializer=const,
                    recurrent_initializer=const,
                    bias_initializer=const,
                    dtype=np.dtype(dtype).name,
                )
                result = layer(inp)
                expected_dtype = np.dtype(dtype).name
                if keras.backend.backend() == "jax" and expected_dtype == "float64":
                    expected_dtype = (
                        "float32"  # JAX computes float64 as float32 unless x64 mode is on
                    )
                self.assertEqual(keras.backend.standardize_dtype(result.dtype), expected_dtype)
                np.testing.assert_allclose(keras.ops.convert_to_numpy(result), out)

    def test_serialization(self):
        for dtype in ("float16", "float32", "float64"):
            with self.subTest(dtype=dtype):
                esn = ESN(
                    units=3,
                    connectivity=1,
                    leaky=1,
                    spectral_radius=0.9,
                    use_norm2=False,
                    use_bias=True,
                    activation=None,
                    kernel_initializer="ones",
                    recurrent_initializer="ones",
                    bias_initializer="ones",
                    dtype=dtype,
                )
                new_layer = keras.layers.deserialize(keras.layers.serialize(esn))
                self.assertEqual(esn.get_config(), new_layer.get_config())
