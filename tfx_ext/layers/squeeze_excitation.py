"""Squeeze-and-Excitation block.

Keras 3 core has no SE block (nor had TFA); `keras.applications` build it
inline. This layer works on 1D, 2D and 3D feature maps.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_int
from tfx_ext._core.protocols import PrunableLayer, kernels


@keras.saving.register_keras_serializable(package="tfx_ext")
class SqueezeExcitation(keras.layers.Layer, PrunableLayer):
    """Recalibrates channels with a learned gate (Hu et al., 2018; HOML ch. 14).

    Squeeze: global average over the spatial axes. Excite: a bottleneck of
    `max(1, channels // ratio)` units (`activation`), then `channels` units
    with `gate_activation` (a sigmoid, so each channel is scaled by a factor
    in (0, 1)). The output is the input times the gate, same shape.

    Args:
        ratio: Reduction ratio of the bottleneck, an integer >= 1.
            Defaults to `16`.
        activation: Activation of the bottleneck. Defaults to `"relu"`.
        gate_activation: Activation of the gate. Defaults to `"sigmoid"`.
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A feature map of rank 3, 4 or 5 (batch, spatial..., channels).

    Example:

    >>> x = keras.Input((32, 32, 64))
    >>> y = SqueezeExcitation(ratio=16)(x)   # shape (None, 32, 32, 64)
    """

    def __init__(
        self,
        ratio=16,
        activation="relu",
        gate_activation="sigmoid",
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.ratio = check_int("ratio", ratio, minimum=1)
        self.activation = keras.activations.get(activation)
        self.gate_activation = keras.activations.get(gate_activation)
        self.data_format = check_choice(
            "data_format",
            data_format or keras.config.image_data_format(),
            ("channels_last", "channels_first"),
        )

    def _channel_axis(self, rank):
        return rank - 1 if self.data_format == "channels_last" else 1

    def build(self, input_shape):
        rank = len(input_shape)
        if rank not in (3, 4, 5):
            raise ValueError(
                "SqueezeExcitation expects a feature map of rank 3, 4 or 5 "
                f"(batch, spatial..., channels). Received input_shape={input_shape}"
            )
        channels = input_shape[self._channel_axis(rank)]
        if channels is None:
            raise ValueError(
                "SqueezeExcitation needs a known number of channels. "
                f"Received input_shape={input_shape}"
            )
        self.bottleneck = keras.layers.Dense(
            max(1, channels // self.ratio),
            activation=self.activation,
            name="squeeze",
            dtype=self.dtype_policy,
        )
        self.gate = keras.layers.Dense(
            channels,
            activation=self.gate_activation,
            name="excite",
            dtype=self.dtype_policy,
        )
        self.bottleneck.build((None, channels))
        self.gate.build((None, self.bottleneck.units))

    def call(self, inputs):
        rank = len(inputs.shape)
        channel_axis = self._channel_axis(rank)
        spatial = [a for a in range(1, rank) if a != channel_axis]
        squeezed = ops.mean(inputs, axis=spatial)
        gate = self.gate(self.bottleneck(squeezed))
        gate_shape = [-1] + [1] * (rank - 1)
        gate_shape[channel_axis] = inputs.shape[channel_axis]
        return inputs * ops.reshape(gate, gate_shape)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape)

    def get_prunable_weights(self):
        """The kernels magnitude pruning may zero (the `PrunableLayer` protocol)."""
        return kernels(self)

    def get_config(self):
        return {
            **super().get_config(),
            "ratio": self.ratio,
            "activation": keras.activations.serialize(self.activation),
            "gate_activation": keras.activations.serialize(self.gate_activation),
            "data_format": self.data_format,
        }
