"""The book's layer-normalized simple RNN cell ("Hands-On ML" ch. 15).

`LNSimpleRNNCell` is the cell the book writes by hand: a `SimpleRNNCell`
without activation, then `LayerNormalization` (Keras defaults: epsilon 1e-3,
gain and shift), then the activation. TFA's `LayerNormSimpleRNNCell` (ours is
`tfx_ext.rnn.LayerNormSimpleRNNCell`) is another cell: its normalization
only scales (epsilon 1e-5) and the cell's bias is added after it.
"""

import keras

from tfx_ext._core.arguments import check_int, check_number
from tfx_ext.rnn.simple_rnn_step import dropped_preactivation


@keras.saving.register_keras_serializable(package="tfx_ext")
class LNSimpleRNNCell(keras.layers.SimpleRNNCell):
    """Simple RNN cell normalized as in "Hands-On ML" ch. 15 (`LNSimpleRNNCell`).

    `y_t = f(ln(x_t W_x + y_{t-1} W_y + b))`, where `ln` is a full
    `keras.layers.LayerNormalization` (centering with its own shift `beta`,
    scaling with `gamma`). The cell's bias comes before the normalization, as
    in the book, so the centering cancels it: `beta` does the shifting.

    Differences from `LayerNormSimpleRNNCell` (TFA's cell): that one
    normalizes without centering, with epsilon 1e-5, and adds the bias after
    the normalization. Both have the same number of weights per unit but
    compute different functions: pick the one whose results you reproduce.

    Args:
        units: Positive integer, dimensionality of the output space.
        activation: Activation applied after the normalization. Defaults to
            `"tanh"`.
        layer_norm_epsilon: Positive float added to the variance. Defaults to
            `1e-3` (Keras's `LayerNormalization` default, the book's value).
        **kwargs: Every other `keras.layers.SimpleRNNCell` argument
            (`use_bias`, initializers, regularizers, constraints, `dropout`,
            `recurrent_dropout`, `seed`) and base layer arguments.

    Call arguments:
        sequence: `[batch, input_dim]`, one time step.
        states: `[y_{t-1}]`.
        training: Whether dropout is active.

    Raises:
        ValueError, TypeError: `units` is not an integer >= 1 or
            `layer_norm_epsilon` not a float > 0.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((None, 1)),
    ...     keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True),
    ...     keras.layers.RNN(LNSimpleRNNCell(20), return_sequences=True),
    ...     keras.layers.TimeDistributed(keras.layers.Dense(10)),
    ... ])
    """

    def __init__(self, units, activation="tanh", layer_norm_epsilon=1e-3, **kwargs):
        units = check_int("units", units, minimum=1)
        self.layer_norm_epsilon = check_number(
            "layer_norm_epsilon", layer_norm_epsilon, low=0.0, low_open=True
        )
        super().__init__(units, activation=activation, **kwargs)
        self.layer_norm = keras.layers.LayerNormalization(
            epsilon=self.layer_norm_epsilon, name="layer_norm", dtype=self.dtype_policy
        )

    def build(self, input_shape):
        super().build(input_shape)
        self.layer_norm.build((None, self.units))

    def call(self, sequence, states, training=False):
        net = dropped_preactivation(self, sequence, states, training)
        if self.bias is not None:
            net = net + self.bias
        output = self.layer_norm(net)
        if self.activation is not None:
            output = self.activation(output)
        new_state = [output] if isinstance(states, (list, tuple)) else output
        return output, new_state

    def get_config(self):
        return {**super().get_config(), "layer_norm_epsilon": self.layer_norm_epsilon}
