"""Quantization-aware training (QAT) for Keras 3 models.

tfmot's QAT only takes tf_keras models (and rejects activations outside its
list, SELU included); Keras 3's `Model.quantize("int8")` models do not convert
to TFLite. `quantize_aware` wraps Dense and convolution layers so they train
through fake quantization: symmetric int8 weights (per channel for
convolutions) and per-tensor int8 outputs with moving min/max ranges. Keras's
`keras.quantizers.fake_quant_with_min_max_vars` emits TensorFlow's FakeQuant
ops on the TF backend, which the TFLite converter reads, so
`convert(..., mode="int8")` yields a full-integer model.
"""

import keras
from keras import ops

from tfx_ext.arguments import check_number
from tfx_ext.cloning import all_layers, clone_with, fresh_copy
from tfx_ext.layers.linear import is_linear_layer, linear, per_channel
from tfx_ext.lite.integer_selu import integer_friendly_selu


@keras.saving.register_keras_serializable(package="tfx_ext")
class QuantizeAware(keras.layers.Wrapper):
    """Trains a Dense / Conv layer through int8 fake quantization.

    The kernel is fake-quantized symmetrically in the narrow range
    [-127, 127] (what TFLite's int8 kernels want): per output channel for
    convolutions, per tensor for Dense (FULLY_CONNECTED); the layer's output, after its
    activation (any activation, SELU included), is fake-quantized per tensor
    with a range tracked as a moving average of batch min/max (initialized on
    the first training batch). Gradients pass straight through.

    Args:
        layer: A `Dense`, `Conv1D`, `Conv2D` or `Conv3D` layer.
        ema_decay: Decay of the moving min/max, in `[0, 1)`. Defaults to `0.99`.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, layer, ema_decay=0.99, **kwargs):
        if not is_linear_layer(layer):
            raise TypeError(
                "Invalid value received for argument `layer`. Expected a keras.layers.Dense, "
                f"Conv1D, Conv2D or Conv3D layer. Received: layer={layer!r}"
            )
        kwargs.setdefault("name", f"quantize_aware_{layer.name}")
        super().__init__(layer, **kwargs)
        self.ema_decay = check_number("ema_decay", ema_decay, 0.0, 1.0, high_open=True)

    def build(self, input_shape):
        super().build(input_shape)
        self._reduce_axes = tuple(range(len(self.layer.kernel.shape) - 1))
        self.output_min = self.add_weight(name="output_min", shape=(), initializer="zeros", trainable=False)
        self.output_max = self.add_weight(name="output_max", shape=(), initializer="zeros", trainable=False)
        self.range_initialized = self.add_weight(
            name="range_initialized", shape=(), initializer="zeros", trainable=False
        )

    def quantized_kernel(self):
        kernel = self.layer.kernel
        if isinstance(self.layer, keras.layers.Dense):
            # TFLite's int8 FULLY_CONNECTED takes per-tensor weights (the
            # converter transposes the kernel, so per-channel ranges would
            # end up on the wrong axis).
            bound = ops.maximum(ops.max(ops.abs(kernel)), 1e-8)
            axis = None
        else:
            bound = ops.maximum(ops.max(ops.abs(kernel), axis=self._reduce_axes), 1e-8)
            axis = -1
        return keras.quantizers.fake_quant_with_min_max_vars(
            kernel, -bound, bound, num_bits=8, narrow_range=True, axis=axis
        )

    def call(self, inputs, training=False):
        outputs = linear(self.layer, inputs, self.quantized_kernel())
        if self.layer.use_bias:
            outputs = outputs + per_channel(self.layer, self.layer.bias, len(outputs.shape))
        if self.layer.activation is keras.activations.selu:
            outputs = integer_friendly_selu(outputs)
        elif self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        if training:
            # The quantized range must contain 0 so that zero is exact.
            batch_min = ops.minimum(ops.min(outputs), 0.0)
            batch_max = ops.maximum(ops.max(outputs), 0.0)
            # `.value`: JAX's tracer cannot take a Keras variable as an op argument.
            started = ops.cast(self.range_initialized.value, "bool")
            decay = self.ema_decay
            low = ops.where(started, decay * self.output_min.value + (1 - decay) * batch_min, batch_min)
            high = ops.where(started, decay * self.output_max.value + (1 - decay) * batch_max, batch_max)
            self.output_min.assign(ops.cast(low, self.output_min.dtype))
            self.output_max.assign(ops.cast(high, self.output_max.dtype))
            self.range_initialized.assign(ops.ones_like(self.range_initialized.value))
        else:
            low, high = self.output_min.value, self.output_max.value
        # Before any training batch the range is [0, 0]: pass outputs through.
        ready = ops.cast(self.range_initialized.value, "bool")
        high = ops.where(ready, ops.maximum(high, low + 1e-6), 1.0)
        low = ops.where(ready, low, -1.0)
        quantized = keras.quantizers.fake_quant_with_min_max_vars(outputs, low, high, num_bits=8)
        return ops.where(ready, quantized, outputs)

    def unwrapped_weights(self):
        """The wrapped layer's weights (float; the converter quantizes them)."""
        return self.layer.get_weights()

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "ema_decay": self.ema_decay}


def quantize_aware(model, ema_decay=0.99, fold_normalization=False):
    """Returns a copy of `model` whose Dense and convolution layers train through fake quantization.

    Train (or fine-tune) the returned model for a few epochs, then convert it
    with `convert(model, mode="int8", representative_data=...)`. For a
    tf_keras model this delegates to `tfmot.quantization.keras.quantize_model`,
    annotating the layers whose activation tfmot rejects (SELU, ELU, ...) with
    a QuantizeConfig that quantizes any activation's output.

    Args:
        model: A Sequential or functional Keras 3 model, or a tf_keras model.
        ema_decay: Decay of the moving min/max of each layer's output, a
            float in `[0, 1)`. Defaults to `0.99`.
        fold_normalization: Fold each affine `Normalization` layer into the
            Dense/Conv layer it feeds before wrapping (see
            `tfx_ext.lite.fold_normalization`), so that training sees the
            folded kernel's quantization. Keras 3 models only.

    Returns:
        A new model (weights copied; the original is untouched) whose Dense
        and convolution layers are wrapped in `QuantizeAware`.

    Raises:
        TypeError: `model` is not a Keras model, `ema_decay` not a number, or
            `fold_normalization` not a bool.
        ValueError: `model` is subclassed or has no Dense or convolution
            layer, or `ema_decay` is outside `[0, 1)`.

    Example:

    >>> qat = quantize_aware(model)
    >>> qat.compile(...); qat.fit(x, y, epochs=3)
    >>> result = convert(qat, mode="int8", representative_data=x[:200])
    """
    from tfx_ext.keras_flavour import is_tf_keras

    ema_decay = check_number("ema_decay", ema_decay, 0.0, 1.0, high_open=True)
    if is_tf_keras(model):
        from tfx_ext.lite.tf_keras_qat import quantize_tf_keras_model

        return quantize_tf_keras_model(model)
    if not isinstance(fold_normalization, bool):
        raise TypeError(
            "Invalid value received for argument `fold_normalization`. Expected True or False. "
            f"Received: fold_normalization={fold_normalization!r}"
        )
    if isinstance(model, keras.Model) and not any(is_linear_layer(l) for l in all_layers(model)):
        raise ValueError(f"Model '{model.name}' has no Dense or convolution layer to quantize.")
    if fold_normalization:
        from tfx_ext.lite.normalization_folding import fold_normalization as fold

        model = fold(model).model

    def wrap(layer):
        copy = fresh_copy(layer)
        return QuantizeAware(copy, ema_decay=ema_decay) if is_linear_layer(layer) else copy

    return clone_with(model, wrap, "quantize_aware")
