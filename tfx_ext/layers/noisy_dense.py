"""NoisyDense layer.

Replaces `tfa.layers.NoisyDense` (same weights, names and noise). Keras 3
core has no equivalent.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, check_number


def _scaled_noise(shape, dtype, seed):
    x = keras.random.normal(shape, dtype=dtype, seed=seed)
    return ops.sign(x) * ops.sqrt(ops.abs(x))


@keras.saving.register_keras_serializable(package="tfx_ext")
class NoisyDense(keras.layers.Layer):
    """A dense layer whose weights carry learned Gaussian noise (Fortunato et al., 2017).

    `activation(x @ (mu_kernel + sigma_kernel * eps_kernel) + mu_bias + sigma_bias * eps_bias)`.
    `mu_*` and `sigma_*` are trained; the noise `eps_*` is a non-trainable
    weight drawn at build and again at each `reset_noise()` (the caller
    decides when, as in TFA); `remove_noise()` zeroes it for evaluation.

    With `use_factorised=True` (default) the noise is factorised,
    `eps_kernel = f(e_in) f(e_out)^T` with `f(e) = sign(e) sqrt(|e|)`, and
    `sigma_*` start at `sigma / sqrt(input_dim)`; otherwise it is independent
    and `sigma_*` start at 0.017.

    Args:
        units: Dimensionality of the output, an integer >= 1.
        sigma: Scale of the initial `sigma_*` (factorised noise only).
            Defaults to `0.5`.
        use_factorised: Factorised (default) or independent noise.
        activation: Activation function. Defaults to none (linear).
        use_bias: Whether to add a (noisy) bias. Defaults to `True`.
        kernel_regularizer, bias_regularizer: Applied to both the `mu_` and
            the `sigma_` weights.
        activity_regularizer: Regularizer of the output.
        kernel_constraint, bias_constraint: Applied to both the `mu_` and the
            `sigma_` weights.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor of shape `(batch, ..., input_dim)`.

    Example:

    >>> layer = NoisyDense(32, activation="relu")
    >>> layer(keras.Input((16,))).shape
    (None, 32)
    """

    def __init__(
        self,
        units,
        sigma=0.5,
        use_factorised=True,
        activation=None,
        use_bias=True,
        kernel_regularizer=None,
        bias_regularizer=None,
        activity_regularizer=None,
        kernel_constraint=None,
        bias_constraint=None,
        **kwargs,
    ):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.units = check_int("units", units, minimum=1)
        self.sigma = check_number("sigma", sigma, low=0)
        for name, value in (("use_factorised", use_factorised), ("use_bias", use_bias)):
            check_bool(name, value)
        self.use_factorised = use_factorised
        self.activation = keras.activations.get(activation)
        self.use_bias = use_bias
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.bias_constraint = keras.constraints.get(bias_constraint)
        self.seed_generator = keras.random.SeedGenerator()
        self.input_spec = keras.layers.InputSpec(min_ndim=2)

    def build(self, input_shape):
        last_dim = input_shape[-1]
        if last_dim is None:
            raise ValueError(
                "The last dimension of the inputs to `NoisyDense` should be defined. Found `None`."
            )
        self.last_dim = int(last_dim)
        if self.use_factorised:
            mu_init = 1.0 / self.last_dim**0.5
            sigma_init = self.sigma / self.last_dim**0.5
        else:
            mu_init = (3.0 / self.last_dim) ** 0.5
            sigma_init = 0.017
        sigma_init = keras.initializers.Constant(sigma_init)
        mu_init = keras.initializers.RandomUniform(-mu_init, mu_init)

        def weight(name, shape, initializer, regularizer=None, constraint=None, trainable=True):
            return self.add_weight(
                name=name,
                shape=shape,
                initializer=initializer,
                regularizer=regularizer,
                constraint=constraint,
                trainable=trainable,
            )

        kernel_shape = (self.last_dim, self.units)
        self.sigma_kernel = weight(
            "sigma_kernel",
            kernel_shape,
            sigma_init,
            self.kernel_regularizer,
            self.kernel_constraint,
        )
        self.mu_kernel = weight(
            "mu_kernel", kernel_shape, mu_init, self.kernel_regularizer, self.kernel_constraint
        )
        self.eps_kernel = weight("eps_kernel", kernel_shape, "zeros", trainable=False)
        if self.use_bias:
            bias_shape = (self.units,)
            self.sigma_bias = weight(
                "sigma_bias", bias_shape, sigma_init, self.bias_regularizer, self.bias_constraint
            )
            self.mu_bias = weight(
                "mu_bias", bias_shape, mu_init, self.bias_regularizer, self.bias_constraint
            )
            self.eps_bias = weight("eps_bias", bias_shape, "zeros", trainable=False)
        else:
            self.sigma_bias = self.mu_bias = self.eps_bias = None
        self.input_spec = keras.layers.InputSpec(min_ndim=2, axes={-1: self.last_dim})
        self.reset_noise()

    @property
    def kernel(self):
        return self.mu_kernel + self.sigma_kernel * self.eps_kernel

    @property
    def bias(self):
        if self.use_bias:
            return self.mu_bias + self.sigma_bias * self.eps_bias
        return None

    def reset_noise(self):
        """Draws new noise into `eps_kernel` (and `eps_bias`)."""
        dtype = self.eps_kernel.dtype
        if self.use_factorised:
            in_eps = _scaled_noise((self.last_dim, 1), dtype, self.seed_generator)
            out_eps = _scaled_noise((1, self.units), dtype, self.seed_generator)
            self.eps_kernel.assign(ops.matmul(in_eps, out_eps))
            bias_noise = out_eps[0]
        else:
            self.eps_kernel.assign(
                keras.random.normal(
                    (self.last_dim, self.units), dtype=dtype, seed=self.seed_generator
                )
            )
            bias_noise = keras.random.normal((self.units,), dtype=dtype, seed=self.seed_generator)
        if self.use_bias:
            self.eps_bias.assign(bias_noise)

    def remove_noise(self):
        """Sets the noise to zero: the layer computes with `mu_*` alone."""
        self.eps_kernel.assign(ops.zeros(self.eps_kernel.shape, dtype=self.eps_kernel.dtype))
        if self.use_bias:
            self.eps_bias.assign(ops.zeros(self.eps_bias.shape, dtype=self.eps_bias.dtype))

    def call(self, inputs):
        outputs = ops.matmul(inputs, self.kernel)
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {
            **super().get_config(),
            "units": self.units,
            "sigma": self.sigma,
            "use_factorised": self.use_factorised,
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
            "activity_regularizer": keras.regularizers.serialize(self.activity_regularizer),
            "kernel_constraint": keras.constraints.serialize(self.kernel_constraint),
            "bias_constraint": keras.constraints.serialize(self.bias_constraint),
        }
