"""LSTM cell with peephole connections (TFA's `tfa.rnn.PeepholeLSTMCell`).

Keras 3's `LSTMCell` (like Keras 2's) has no peepholes: its gates see the
previous output `h`, not the carry `c`.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="tfx_ext")
class PeepholeLSTMCell(keras.layers.LSTMCell):
    """`keras.layers.LSTMCell` with peephole connections (Gers et al. 2002; Sak et al. 2014).

    The input and forget gates also read the previous carry `c_{t-1}`, the output gate
    the new carry `c_t`, each through a diagonal (per-unit) weight:

        i = σ(x W_i + h_{t-1} U_i + b_i + p_i ⊙ c_{t-1})
        f = σ(x W_f + h_{t-1} U_f + b_f + p_f ⊙ c_{t-1})
        c_t = f ⊙ c_{t-1} + i ⊙ tanh(x W_c + h_{t-1} U_c + b_c)
        o = σ(x W_o + h_{t-1} U_o + b_o + p_o ⊙ c_t)
        h_t = o ⊙ tanh(c_t)

    The peephole weights (`input_gate_peephole_weights`, `forget_gate_peephole_weights`,
    `output_gate_peephole_weights`, shape `[units]`) use `kernel_initializer`, as TFA's.
    Written with `keras.ops` (every backend); `implementation` 1 and 2 compute the same
    function (2 in one fused matmul).

    Args:
        units: Positive integer, dimensionality of the output space.
        **kwargs: Every `keras.layers.LSTMCell` argument.

    Example:

    >>> rnn = keras.layers.RNN(PeepholeLSTMCell(4), return_sequences=True, return_state=True)
    >>> outputs, h, c = rnn(np.random.random([30, 23, 9]).astype("float32"))
    >>> outputs.shape, h.shape, c.shape
    ((30, 23, 4), (30, 4), (30, 4))
    """

    def __init__(self, units, **kwargs):
        super().__init__(units, **kwargs)

    def build(self, input_shape):
        super().build(input_shape)
        for gate in ("input", "forget", "output"):
            setattr(
                self,
                f"{gate}_gate_peephole_weights",
                self.add_weight(
                    shape=(self.units,),
                    name=f"{gate}_gate_peephole_weights",
                    initializer=self.kernel_initializer,
                ),
            )

    def call(self, inputs, states, training=False):
        h_tm1, c_tm1 = states[0], states[1]
        if training and 0.0 < self.dropout < 1.0:
            inputs = inputs * self.get_dropout_mask(inputs)
        if training and 0.0 < self.recurrent_dropout < 1.0:
            h_tm1 = h_tm1 * self.get_recurrent_dropout_mask(h_tm1)
        if self.implementation == 1:
            kernels = ops.split(self.kernel, 4, axis=1)
            recurrent = ops.split(self.recurrent_kernel, 4, axis=1)
            z = [ops.matmul(inputs, k) + ops.matmul(h_tm1, r) for k, r in zip(kernels, recurrent)]
            if self.use_bias:
                z = [zi + bi for zi, bi in zip(z, ops.split(self.bias, 4, axis=0))]
        else:
            z = ops.matmul(inputs, self.kernel) + ops.matmul(h_tm1, self.recurrent_kernel)
            if self.use_bias:
                z = z + self.bias
            z = ops.split(z, 4, axis=1)
        z_i, z_f, z_c, z_o = z
        i = self.recurrent_activation(z_i + self.input_gate_peephole_weights * c_tm1)
        f = self.recurrent_activation(z_f + self.forget_gate_peephole_weights * c_tm1)
        c = f * c_tm1 + i * self.activation(z_c)
        o = self.recurrent_activation(z_o + self.output_gate_peephole_weights * c)
        h = o * self.activation(c)
        return h, [h, c]
