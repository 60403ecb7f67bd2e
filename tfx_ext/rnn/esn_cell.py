"""Echo state network cell (TFA's `tfa.rnn.ESNCell`): a fixed random reservoir."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, check_number


def _check_bool(name, value):
    check_bool(name, value)
    return value


@keras.saving.register_keras_serializable(package="tfx_ext")
class ESNCell(keras.layers.Layer):
    """Echo State Network cell (Jaeger 2001), with TFA's arguments and results.

    `h_t = (1 - leaky) h_{t-1} + leaky * activation([x_t, h_{t-1}] [kernel; recurrent_kernel] + bias)`.
    All weights are non-trainable: only a readout on top of the reservoir is trained. The
    reservoir (`recurrent_kernel`, `[units, units]`) is drawn from `recurrent_initializer`,
    each connection kept with probability `connectivity` (drawn from Keras's seeded global
    generator: `keras.utils.set_random_seed` makes it reproducible), then scaled so that its
    spectral radius is `spectral_radius` (its largest absolute eigenvalue, computed with
    `keras.ops.eig`), or, with `use_norm2`, so that its Frobenius norm — an upper bound of the
    spectral radius, cheaper than the eigenvalues — is. Either way the echo state property's
    condition max|eig(W)| < 1 holds for `spectral_radius` < 1.

    Args:
        units: Positive integer, the reservoir's size.
        connectivity: Float in [0, 1], the probability of a connection between two units.
        leaky: Float in [0, 1], the leaking rate (1: no leaky integration).
        spectral_radius: Float in [0, 1], the reservoir's spectral radius (see above).
        use_norm2: Scale by the 2-norm instead of the eigenvalues.
        use_bias: Whether to add a bias.
        activation: Activation (default `tanh`; `None`: linear).
        kernel_initializer: Initializer of the input `kernel`.
        recurrent_initializer: Initializer of the reservoir before masking and scaling.
        bias_initializer: Initializer of `bias`.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: `[batch, input_dim]`.
        states: `[h]`, `[batch, units]`.

    Example:

    >>> rnn = keras.layers.RNN(ESNCell(4), return_sequences=True, return_state=True)
    >>> outputs, h = rnn(np.random.random([30, 23, 9]).astype("float32"))
    >>> outputs.shape, h.shape
    ((30, 23, 4), (30, 4))
    """

    def __init__(
        self,
        units,
        connectivity=0.1,
        leaky=1,
        spectral_radius=0.9,
        use_norm2=False,
        use_bias=True,
        activation="tanh",
        kernel_initializer="glorot_uniform",
        recurrent_initializer="glorot_uniform",
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.units = check_int("units", units, minimum=1)
        check_number("connectivity", connectivity, low=0, high=1)
        check_number("leaky", leaky, low=0, high=1)
        check_number("spectral_radius", spectral_radius, low=0, high=1)
        self.connectivity, self.leaky, self.spectral_radius = connectivity, leaky, spectral_radius
        self.use_norm2 = _check_bool("use_norm2", use_norm2)
        self.use_bias = _check_bool("use_bias", use_bias)
        self.activation = keras.activations.get(activation)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.recurrent_initializer = keras.initializers.get(recurrent_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.state_size = self.units
        self.output_size = self.units

    def _reservoir(self, shape, dtype=None):
        weights = ops.convert_to_tensor(self.recurrent_initializer(shape, dtype=dtype))
        keep = keras.random.uniform(shape, dtype=weights.dtype) <= self.connectivity
        weights = ops.where(keep, weights, ops.zeros_like(weights))
        if self.use_norm2:
            norm = ops.sqrt(ops.sum(ops.square(weights)))
            scale = self.spectral_radius / ops.where(ops.equal(norm, 0), ops.ones_like(norm), norm)
        else:
            # eig of a float matrix: complex eigenvalues; float64 so that the scaling of a
            # float16 reservoir does not lose its radius.
            eigenvalues = ops.eig(ops.cast(weights, "float64"))[0]
            radius = ops.max(ops.abs(eigenvalues))
            scale = ops.where(
                ops.equal(radius, 0), ops.zeros_like(radius), self.spectral_radius / radius
            )
        return weights * ops.cast(scale, weights.dtype)

    def build(self, input_shape):
        input_size = input_shape[-1]
        if input_size is None:
            raise ValueError(
                f"ESNCell needs a known last input dimension, got input shape {input_shape}"
            )
        self.recurrent_kernel = self.add_weight(
            name="recurrent_kernel",
            shape=(self.units, self.units),
            initializer=self._reservoir,
            trainable=False,
        )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(input_size, self.units),
            initializer=self.kernel_initializer,
            trainable=False,
        )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias", shape=(self.units,), initializer=self.bias_initializer, trainable=False
            )

    def call(self, inputs, states):
        state = states[0] if isinstance(states, (list, tuple)) else states
        output = ops.matmul(inputs, self.kernel) + ops.matmul(state, self.recurrent_kernel)
        if self.use_bias:
            output = output + self.bias
        output = self.activation(output)
        output = (1 - self.leaky) * state + self.leaky * output
        return output, [output]

    def get_initial_state(self, batch_size=None):
        return [ops.zeros((batch_size, self.units), dtype=self.compute_dtype)]

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "connectivity": self.connectivity,
            "leaky": self.leaky,
            "spectral_radius": self.spectral_radius,
            "use_norm2": self.use_norm2,
            "use_bias": self.use_bias,
            "activation": keras.activations.serialize(self.activation),
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "recurrent_initializer": keras.initializers.serialize(self.recurrent_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }
