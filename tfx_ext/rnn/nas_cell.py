"""The recurrent cell found by neural architecture search (TFA's `tfa.rnn.NASCell`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int

_NAS_BASE = 8  # the cell's eight first-layer branches


@keras.saving.register_keras_serializable(package="tfx_ext")
class NASCell(keras.layers.Layer):
    """Neural Architecture Search recurrent cell (Zoph & Le, ICLR 2017), as TFA's.

    State `[c, m]`: the input and `m` are each projected into eight branches
    (`kernel`, `recurrent_kernel`, `[*, 8 * units]`), combined by the cell's fixed tree of
    sigmoid / relu / tanh nodes; `m` (the output) is optionally projected to
    `projection` units (`projection_weights`). Written with `keras.ops` (every backend).

    Args:
        units: Positive integer, the number of units.
        projection: Optional positive integer, the output dimensionality of a projection of
            the output (`None`: no projection).
        use_bias: Whether the recurrent projection has a bias (TFA's default: False).
        kernel_initializer: Initializer of `kernel`.
        recurrent_initializer: Initializer of `recurrent_kernel`.
        projection_initializer: Initializer of `projection_weights`.
        bias_initializer: Initializer of `bias`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `[batch, input_dim]`.
        states: `[c, m]`: `[batch, units]` and `[batch, projection or units]`.

    Example:

    >>> rnn = keras.layers.RNN(NASCell(4), return_sequences=True, return_state=True)
    >>> outputs, c, m = rnn(np.random.random([30, 23, 9]).astype("float32"))
    >>> outputs.shape, c.shape, m.shape
    ((30, 23, 4), (30, 4), (30, 4))
    """

    def __init__(
        self,
        units,
        projection=None,
        use_bias=False,
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        projection_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units, minimum=1)
        self.projection = (
            None if projection is None else check_int("projection", projection, minimum=1)
        )
        check_bool("use_bias", use_bias)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.projection_initializer = keras.initializers.get(projection_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.output_size = self.projection or self.units
        self.state_size = [self.units, self.output_size]

    def build(self, input_shape):
        input_size = input_shape[-1]
        if input_size is None:
            raise ValueError(
                f"NASCell needs a known last input dimension, got input shape {input_shape}"
            )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.output_size, _NAS_BASE * self.units),
            initializer=self.recurrent_initializer,
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_size, _NAS_BASE * self.units),
            initializer=self.kernel_initializer,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(_NAS_BASE * self.units,), initializer=self.bias_initializer
            )
        if self.projection is not None:
            self.projection_weights = self.add_weight(
                name="projection_weights",
                shape=(self.units, self.projection),
                initializer=self.projection_initializer,
            )

    def call(self, inputs, states):
        c_prev, m_prev = states[0], states[1]
        m_matrix = ops.matmul(m_prev, self.recurrent_kernel)
        if self.use_bias:
            m_matrix = m_matrix + self.bias
        m = ops.split(m_matrix, _NAS_BASE, axis=1)
        x = ops.split(ops.matmul(inputs, self.kernel), _NAS_BASE, axis=1)
        sigmoid, tanh, relu = ops.sigmoid, ops.tanh, ops.relu
        # first layer: eight branches
        l1 = [
            sigmoid(x[0] + m[0]),
            relu(x[1] + m[1]),
            sigmoid(x[2] + m[2]),
            relu(x[3] * m[3]),
            tanh(x[4] + m[4]),
            sigmoid(x[5] + m[5]),
            tanh(x[6] + m[6]),
            sigmoid(x[7] + m[7]),
        ]
        # second layer, the carry injected into its first node
        l2_0 = tanh(tanh(l1[0] * l1[1]) + c_prev)
        l2_1 = tanh(l1[2] + l1[3])
        l2_2 = tanh(l1[4] * l1[5])
        l2_3 = sigmoid(l1[6] + l1[7])
        new_c = l2_0 * l2_1
        new_m = tanh(new_c * tanh(l2_2 + l2_3))
        if self.projection is not None:
            new_m = ops.matmul(new_m, self.projection_weights)
        return new_m, [new_c, new_m]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, size), dtype=self.compute_dtype) for size in self.state_size]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "projection": self.projection,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "projection_initializer": keras.initializers.serialize(self.projection_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
