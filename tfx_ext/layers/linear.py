"""The linear part of Dense and convolution layers, with a kernel given by the caller.

Wrappers that transform a kernel before use (weight normalization,
fake quantization) compute the wrapped layer's output with it here. Which
layers those are is `tfx_ext._core.model_graphs.is_kernel_layer`.
"""

import keras
from keras import ops


def channels_axis(layer, rank):
    if isinstance(layer, keras.layers.Dense):
        return rank - 1
    return rank - 1 if layer.data_format == "channels_last" else 1


def linear(layer, inputs, kernel):
    """`inputs` times `kernel` the way `layer` would compute it (no bias, no activation)."""
    if isinstance(layer, keras.layers.Dense):
        return ops.matmul(inputs, kernel)
    return layer.convolution_op(inputs, kernel)


def per_channel(layer, values, rank):
    """Reshapes per-output-channel `values` to broadcast against an output of `rank`."""
    shape = [1] * rank
    shape[channels_axis(layer, rank)] = -1
    return ops.reshape(values, shape)
