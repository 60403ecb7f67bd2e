"""Weight normalization wrapper.

Replaces `tfa.layers.WeightNormalization` (same `g`/`v` parametrization and
data-dependent initialization). Keras 3 core has no equivalent; for
normalizing activations instead of weights, Keras has
`keras.layers.GroupNormalization` and `LayerNormalization`.
"""

import keras
from keras import ops

from tfx_ext.layers.linear import channels_axis, is_linear_layer, linear, per_channel

_EPSILON = 1e-12


@keras.saving.register_keras_serializable(package="tfx_ext")
class WeightNormalization(keras.layers.Wrapper):
    """Reparametrizes a layer's kernel as `w = g * v / ||v||` (Salimans & Kingma, 2016).

    The wrapped layer's kernel becomes the direction `v`; the wrapper adds a
    per-output-channel magnitude `g` (initialized to `||v||`, so the wrapped
    layer starts out computing what it did before). Decoupling length from
    direction conditions the optimization like batch normalization does,
    without depending on the batch.

    With `data_init=True`, the first training batch sets `g` and the bias so
    that the pre-activations of that batch have zero mean and unit variance
    per channel. (The statistics are then still computed on every training
    step and discarded, a small cost that avoids data-dependent control flow.)

    Args:
        layer: A `Dense`, `Conv1D`, `Conv2D` or `Conv3D` layer.
        data_init: Whether to use data-dependent initialization. Needs a layer
            with `use_bias=True`. Defaults to `False`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: The wrapped layer's inputs.
        training: Python boolean; data-dependent initialization only happens
            when `True`.

    Example:

    >>> model = keras.Sequential([
    ...     keras.Input((28, 28, 1)),
    ...     WeightNormalization(keras.layers.Conv2D(32, 3, activation="relu")),
    ...     keras.layers.Flatten(),
    ...     WeightNormalization(keras.layers.Dense(10), data_init=True),
    ... ])
    """

    def __init__(self, layer, data_init=False, **kwargs):
        if not is_linear_layer(layer):
            raise TypeError(
                "Invalid value received for argument `layer`. Expected a "
                "keras.layers.Dense, Conv1D, Conv2D or Conv3D layer. "
                f"Received: layer={layer!r}"
            )
        if data_init and not layer.use_bias:
            raise ValueError(
                "Invalid value received for argument `data_init`. "
                "Data-dependent initialization sets the bias: expected "
                f"data_init=False for layer '{layer.name}', which has "
                f"use_bias=False. Received: data_init={data_init!r}"
            )
        super().__init__(layer, **kwargs)
        self.data_init = bool(data_init)

    def build(self, input_shape):
        super().build(input_shape)
        kernel = self.layer.kernel
        self._norm_axes = tuple(range(len(kernel.shape) - 1))
        channels = kernel.shape[-1]
        self.g = self.add_weight(name="g", shape=(channels,), initializer="ones")
        self.g.assign(self._kernel_norm(kernel))
        if self.data_init:
            self.initialized = self.add_weight(
                name="initialized",
                shape=(),
                initializer="zeros",
                trainable=False,
            )

    def _kernel_norm(self, kernel):
        return ops.sqrt(ops.sum(ops.square(kernel), axis=self._norm_axes) + _EPSILON)

    def call(self, inputs, training=False):
        kernel = self.layer.kernel
        direction = kernel / self._kernel_norm(kernel)
        if self.data_init and training:
            projected = linear(self.layer, inputs, direction)
            rank = len(projected.shape)
            channel_axis = channels_axis(self.layer, rank)
            axes = [a for a in range(rank) if a != channel_axis]
            mean, variance = ops.moments(projected, axes=axes)
            scale = ops.rsqrt(variance + 1e-6)
            # `.value`: JAX's tracer cannot take a Keras variable as an op argument.
            done = ops.cast(self.initialized.value, "bool")
            g = ops.where(done, self.g.value, scale)
            bias = ops.where(done, self.layer.bias.value, -mean * scale)
            self.g.assign(g)
            self.layer.bias.assign(bias)
            self.initialized.assign(ops.ones_like(self.initialized.value))
            outputs = projected * per_channel(self.layer, g, rank)
        else:
            outputs = linear(self.layer, inputs, direction * self.g)
            bias = self.layer.bias if self.layer.use_bias else None
        if bias is not None:
            outputs = outputs + per_channel(self.layer, bias, len(outputs.shape))
        if self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "data_init": self.data_init}
