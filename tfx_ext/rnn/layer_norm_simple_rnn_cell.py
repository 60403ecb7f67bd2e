"""Simple RNN cell with layer normalization (TFA's `tfa.rnn.LayerNormSimpleRNNCell`).

Not the book's `LNSimpleRNNCell` (HOML ch. 15): that one normalizes with
centering (epsilon 1e-3) and has the bias before the normalization; it is
`tfx_ext.rnn.LNSimpleRNNCell`.
"""

import keras

from tfx_ext._core.arguments import check_number
from tfx_ext.rnn.simple_rnn_step import dropped_preactivation


@keras.saving.register_keras_serializable(package="tfx_ext")
class LayerNormSimpleRNNCell(keras.layers.SimpleRNNCell):
    """`SimpleRNNCell` with layer normalization (scaling only) before the bias.

    `y_t = f(ln(d1(x_t) W_xh + d2(y_{t-1}) W_hh) + b)`: the layer norm only
    scales (gamma); the cell's bias does the centering afterwards.

    Args:
        units: Positive integer, dimensionality of the output space.
        layernorm_epsilon: Positive float, the normalization epsilon.
        gamma_initializer, gamma_regularizer, gamma_constraint: For the
            normalization gain (`self.layernorm.gamma`).
        **kwargs: Every `keras.layers.SimpleRNNCell` argument.

    Call arguments:
        inputs: `[batch, input_dim]`.
        states: `[y_{t-1}]`.
        training: Whether dropout is active.

    Example:

    >>> rnn = keras.layers.RNN(LayerNormSimpleRNNCell(8))
    >>> rnn(np.zeros((2, 5, 3), "float32")).shape
    (2, 8)
    """

    def __init__(
        self,
        units,
        layernorm_epsilon=1e-5,
        gamma_initializer="ones",
        gamma_regularizer=None,
        gamma_constraint=None,
        **kwargs,
    ):
        check_number("layernorm_epsilon", layernorm_epsilon, low=0, low_open=True)
        super().__init__(units, **kwargs)
        self.layernorm = keras.layers.LayerNormalization(
            axis=-1,
            epsilon=layernorm_epsilon,
            center=False,
            scale=True,
            gamma_initializer=gamma_initializer,
            gamma_regularizer=gamma_regularizer,
            gamma_constraint=gamma_constraint,
            name="layernorm",
            dtype=self.dtype_policy,
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.layernorm.build((None, self.units))

    def call(self, sequence, states, training=False):
        net = dropped_preactivation(self, sequence, states, training)
        output = self.layernorm(net)
        if self.bias is not None:
            output = output + self.bias
        if self.activation is not None:
            output = self.activation(output)
        new_state = [output] if isinstance(states, (list, tuple)) else output
        return output, new_state

    def get_config(self):
        ln = self.layernorm
        return {
            **super().get_config(),
            "layernorm_epsilon": ln.epsilon,
            "gamma_initializer": keras.initializers.serialize(ln.gamma_initializer),
            "gamma_regularizer": keras.regularizers.serialize(ln.gamma_regularizer),
            "gamma_constraint": keras.constraints.serialize(ln.gamma_constraint),
        }
