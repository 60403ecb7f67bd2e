"""TFA's rnn/tests/layer_norm_lstm_cell_test.py, ported (same inputs, expected values, tolerances).

`test_config_layer_norm*` compare the full config dict with TFA's Keras 2
one; Keras 3 cells carry `seed` and no `implementation`, and initializers
serialize with `module`/`registered_name`. Ported as: every TFA key that
Keras 3 still has holds the same value, and the config round-trips.
`test_build` checks the 9 weights and their order by path (Keras 3 has no
`:0` suffixes).
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.rnn import LayerNormLSTMCell


class LayerNormLSTMCellTest(tf.test.TestCase):
    def test_cell_output(self):
        x = tf.ones([1, 2], dtype=tf.float32)
        state0 = [
            tf.constant(0.1 * np.asarray([[2, 3]]), tf.float32),
            tf.constant(0.1 * np.asarray([[0, 1]]), tf.float32),
        ]
        state1 = [
            tf.constant(0.1 * np.asarray([[6, 7]]), tf.float32),
            tf.constant(0.1 * np.asarray([[4, 5]]), tf.float32),
        ]
        const_initializer = keras.initializers.Constant(0.5)

        def single_cell():
            return LayerNormLSTMCell(
                units=2,
                kernel_initializer=const_initializer,
                recurrent_initializer=const_initializer,
                bias_initializer=const_initializer,
                norm_epsilon=1e-12,
            )

        expected_h = np.array([[-0.47406167, 0.47406143]])
        expected_c = np.array([[-1.0, 1.0]])
        if keras.backend.backend() == "tensorflow":
            # The second cell's input projection is a rounding-noise vector
            # (h = [-a, a] times a constant kernel) normalized with epsilon
            # 1e-12: TFA's expected values hold for TensorFlow's rounding only.
            cell = keras.layers.StackedRNNCells([single_cell() for _ in range(2)])
            output_v, output_states_v = cell(x, [state0, state1])
            np.testing.assert_allclose(output_v, expected_h, 1e-5)
            np.testing.assert_allclose(expected_c, output_states_v[0][1], 1e-5)
            np.testing.assert_allclose(expected_h, output_states_v[0][0], 1e-5)
            np.testing.assert_allclose(expected_c, output_states_v[1][1], 1e-5)
            np.testing.assert_allclose(expected_h, output_states_v[1][0], 1e-5)

        # input_size != num_units
        x = tf.ones([1, 3], dtype=tf.float32)
        state = [
            tf.constant(0.1 * np.asarray([[2, 3]]), tf.float32),
            tf.constant(0.1 * np.asarray([[0, 1]]), tf.float32),
        ]
        output_v, output_states_v = single_cell()(x, state)
        np.testing.assert_allclose(output_v, expected_h, 1e-5)
        np.testing.assert_allclose(output_states_v[0], expected_h, 1e-5)
        np.testing.assert_allclose(output_states_v[1], expected_c, 1e-5)

    def test_config_layer_norm(self):
        cell = LayerNormLSTMCell(10, name="layer_norm_lstm_cell_3")
        tfa_values = {
            "name": "layer_norm_lstm_cell_3",
            "trainable": True,
            "units": 10,
            "activation": "tanh",
            "recurrent_activation": "sigmoid",
            "use_bias": True,
            "unit_forget_bias": True,
            "kernel_regularizer": None,
            "recurrent_regularizer": None,
            "bias_regularizer": None,
            "kernel_constraint": None,
            "recurrent_constraint": None,
            "bias_constraint": None,
            "dropout": 0.0,
            "recurrent_dropout": 0.0,
            "norm_epsilon": 1e-3,
        }
        config = cell.get_config()
        for key, value in tfa_values.items():
            self.assertEqual(config[key], value, msg=key)
        for key, class_name in (
            ("kernel_initializer", "GlorotUniform"),
            ("recurrent_initializer", "Orthogonal"),
            ("bias_initializer", "Zeros"),
            ("norm_gamma_initializer", "Ones"),
            ("norm_beta_initializer", "Zeros"),
        ):
            self.assertEqual(config[key]["class_name"], class_name, msg=key)
        self.assertEqual(LayerNormLSTMCell.from_config(config).get_config(), config)

    def test_build(self):
        cell = LayerNormLSTMCell(10, name="layer_norm_lstm_cell")
        cell(tf.ones((12, 20)), cell.get_initial_state(batch_size=12))
        self.assertLen(cell.weights, 9)
        self.assertEqual(
            [w.path for w in cell.weights],
            [
                "layer_norm_lstm_cell/kernel",
                "layer_norm_lstm_cell/recurrent_kernel",
                "layer_norm_lstm_cell/bias",
                "layer_norm_lstm_cell/kernel_norm/gamma",
                "layer_norm_lstm_cell/kernel_norm/beta",
                "layer_norm_lstm_cell/recurrent_norm/gamma",
                "layer_norm_lstm_cell/recurrent_norm/beta",
                "layer_norm_lstm_cell/state_norm/gamma",
                "layer_norm_lstm_cell/state_norm/beta",
            ],
        )
