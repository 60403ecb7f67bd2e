"""LSTM cell with layer normalization (TFA's `tfa.rnn.LayerNormLSTMCell`).

Keras 3 core has `LSTMCell` and `LayerNormalization` but no cell that
normalizes inside the recurrence (HOML ch. 15).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number


@keras.saving.register_keras_serializable(package="tfx_ext")
class LayerNormLSTMCell(keras.layers.LSTMCell):
    """LSTM cell with layer normalization before the internal nonlinearities.

    Ba et al. 2016 (https://arxiv.org/abs/1607.06450): the input projection,
    the recurrent projection and the new carry state each go through their own
    `LayerNormalization` (`kernel_norm`, `recurrent_norm`, `state_norm`).

    Args:
        units: Positive integer, dimensionality of the output space.
        norm_gamma_initializer: Initializer of the normalization gains.
        norm_beta_initializer: Initializer of the normalization shifts.
        norm_epsilon: Positive float, the normalization epsilon.
        **kwargs: Every `keras.layers.LSTMCell` argument (activation,
            initializers, regularizers, constraints, dropout, ...).

    Call arguments:
        inputs: `[batch, input_dim]`.
        states: `[h, c]`, each `[batch, units]`.
        training: Whether dropout is active.

    Example:

    >>> rnn = keras.layers.RNN(LayerNormLSTMCell(4), return_sequences=True)
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    (2, 5, 4)
    """

    def __init__(
        self,
        units,
        norm_gamma_initializer="ones",
        norm_beta_initializer="zeros",
        norm_epsilon=1e-3,
        **kwargs,
    ):
        check_number("norm_epsilon", norm_epsilon, low=0, low_open=True)
        super().__init__(units, **kwargs)
        self.norm_gamma_initializer = keras.initializers.get(norm_gamma_initializer)
        self.norm_beta_initializer = keras.initializers.get(norm_beta_initializer)
        self.norm_epsilon = norm_epsilon
        self.kernel_norm = self._norm_layer("kernel_norm")
        self.recurrent_norm = self._norm_layer("recurrent_norm")
        self.state_norm = self._norm_layer("state_norm")

    def _norm_layer(self, name):
        return keras.layers.LayerNormalization(
            epsilon=self.norm_epsilon,
            gamma_initializer=self.norm_gamma_initializer,
            beta_initializer=self.norm_beta_initializer,
            name=name,
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.kernel_norm.build((None, self.units * 4))
        self.recurrent_norm.build((None, self.units * 4))
        self.state_norm.build((None, self.units))

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        z = self.kernel_norm(ops.matmul(inputs, self.kernel))
        z = z + self.recurrent_norm(ops.matmul(h_tm1, self.recurrent_kernel))
        if self.use_bias:
            z = z + self.bias
        c, o = self._compute_carry_and_output_fused(ops.split(z, 4, axis=1), c_tm1)
        c = self.state_norm(c)
        h = o * self.activation(c)
        return h, [h, c]

    def get_config(self):
        return {
            **super().get_config(),
            "norm_gamma_initializer": keras.initializers.serialize(self.norm_gamma_initializer),
            "norm_beta_initializer": keras.initializers.serialize(self.norm_beta_initializer),
            "norm_epsilon": self.norm_epsilon,
        }
