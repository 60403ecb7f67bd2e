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

from tfx_ext._core.arguments import check_bool, check_number, invalid
from tfx_ext._core.model_graphs import all_layers, clone_with, fresh_copy, is_kernel_layer
from tfx_ext.layers.linear import linear, per_channel
from tfx_ext.lite.integer_selu import integer_friendly_selu

# TFLite fuses these into the Dense/Conv kernel, so only the output after
# them needs a range; any other activation is a separate int8 op whose
# input (the pre-activation) needs its own.
_FUSED_ACTIVATIONS = (
    None,
    keras.activations.linear,
    keras.activations.relu,
    keras.activations.relu6,
)


@keras.saving.register_keras_serializable(package="tfx_ext")
class QuantizeAware(keras.layers.Wrapper):
    """Trains a Dense / Conv layer through int8 fake quantization.

    The kernel is fake-quantized symmetrically in the narrow range
    [-127, 127] (what TFLite's int8 kernels want): per output channel for
    convolutions, per tensor for Dense (FULLY_CONNECTED); the layer's output, after its
    activation (any activation, SELU included), is fake-quantized per tensor
    with a range tracked as a moving average of batch min/max (initialized on
    the first training batch). An activation TFLite cannot fuse into the
    kernel (softmax, sigmoid, SELU, ...) also gets a range for its input, and
    with `quantize_inputs=True` the layer's input gets one too (the model's
    float input, as tfmot's `QuantizeLayer`): with every tensor's range
    learned, `convert(model, mode="int8")` needs no representative data.
    Gradients pass straight through.

    Args:
        layer: A `Dense`, `Conv1D`, `Conv2D` or `Conv3D` layer.
        ema_decay: Decay of the moving min/max, in `[0, 1)`. Defaults to `0.99`.
        quantize_inputs: Also learn a range for the layer's input and
            fake-quantize it. `quantize_aware` sets it on the layers fed by
            the model's input. Defaults to `False`.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, layer, ema_decay=0.99, quantize_inputs=False, **kwargs):
        if not is_kernel_layer(layer):
            raise invalid(
                "layer", "a keras.layers.Dense, Conv1D, Conv2D or Conv3D layer", layer, TypeError
            )
        check_bool("quantize_inputs", quantize_inputs)
        kwargs.setdefault("name", f"quantize_aware_{layer.name}")
        super().__init__(layer, **kwargs)
        self.ema_decay = check_number("ema_decay", ema_decay, 0.0, 1.0, high_open=True)
        self.quantize_inputs = quantize_inputs

    @property
    def quantizes_pre_activation(self):
        """Whether the activation's input has a range of its own (a non-fused activation)."""
        return self.layer.activation not in _FUSED_ACTIVATIONS

    def _add_range(self, prefix):
        low = self.add_weight(name=f"{prefix}_min", shape=(), initializer="zeros", trainable=False)
        high = self.add_weight(name=f"{prefix}_max", shape=(), initializer="zeros", trainable=False)
        return low, high

    def build(self, input_shape):
        super().build(input_shape)
        self._reduce_axes = tuple(range(len(self.layer.kernel.shape) - 1))
        self.output_min, self.output_max = self._add_range("output")
        self.range_initialized = self.add_weight(
            name="range_initialized", shape=(), initializer="zeros", trainable=False
        )
        # Created only when used, so models without them keep their weights.
        self.input_range = self._add_range("input") if self.quantize_inputs else None
        self.pre_activation_range = (
            self._add_range("pre_activation") if self.quantizes_pre_activation else None
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

    def _fake_quant(self, values, value_range, training):
        """`values` fake-quantized to the range `(min variable, max variable)`, which
        training moves toward the batch's min/max (containing 0, so zero is exact)."""
        low_variable, high_variable = value_range
        # `.value`: JAX's tracer cannot take a Keras variable as an op argument.
        started = ops.cast(self.range_initialized.value, "bool")
        if training:
            batch_min = ops.minimum(ops.min(values), 0.0)
            batch_max = ops.maximum(ops.max(values), 0.0)
            decay = self.ema_decay
            low = ops.where(
                started, decay * low_variable.value + (1 - decay) * batch_min, batch_min
            )
            high = ops.where(
                started, decay * high_variable.value + (1 - decay) * batch_max, batch_max
            )
            low_variable.assign(ops.cast(low, low_variable.dtype))
            high_variable.assign(ops.cast(high, high_variable.dtype))
            ready = ops.ones_like(started)
        else:
            low, high, ready = low_variable.value, high_variable.value, started
        # Before any training batch the range is [0, 0]: pass values through.
        high = ops.where(ready, ops.maximum(high, low + 1e-6), 1.0)
        low = ops.where(ready, low, -1.0)
        quantized = keras.quantizers.fake_quant_with_min_max_vars(values, low, high, num_bits=8)
        return ops.where(ready, quantized, values)

    def call(self, inputs, training=False):
        if self.quantize_inputs:
            inputs = self._fake_quant(inputs, self.input_range, training)
        outputs = linear(self.layer, inputs, self.quantized_kernel())
        if self.layer.use_bias:
            outputs = outputs + per_channel(self.layer, self.layer.bias, len(outputs.shape))
        if self.quantizes_pre_activation:
            outputs = self._fake_quant(outputs, self.pre_activation_range, training)
        if self.layer.activation is keras.activations.selu:
            outputs = integer_friendly_selu(outputs)
        elif self.layer.activation is not None:
            outputs = self.layer.activation(outputs)
        outputs = self._fake_quant(outputs, (self.output_min, self.output_max), training)
        if training:
            self.range_initialized.assign(ops.ones_like(self.range_initialized.value))
        return outputs

    def unwrapped_weights(self):
        """The wrapped layer's weights (float; the converter quantizes them)."""
        return self.layer.get_weights()

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "ema_decay": self.ema_decay,
            "quantize_inputs": self.quantize_inputs,
        }


def has_learned_ranges(model):
    """Whether `model` carries trained quantization ranges (a QAT model after training).

    The one place `convert` asks whether an int8 conversion can take its
    ranges from the model instead of from representative data: a Keras 3
    model with trained `QuantizeAware` layers, or a tf_keras model quantized
    by tfmot (its quantizers always hold ranges). Whether the ranges cover
    every tensor is checked on the converted model.
    """
    from tfx_ext._core.keras_flavour import is_tf_keras

    if isinstance(model, keras.Model):
        wrappers = [layer for layer in all_layers(model) if isinstance(layer, QuantizeAware)]
        return bool(wrappers) and all(
            layer.built and float(ops.convert_to_numpy(layer.range_initialized.value)) == 1.0
            for layer in wrappers
        )
    if is_tf_keras(model):
        from tfx_ext.lite.tf_keras_qat import is_tfmot_quantized

        return is_tfmot_quantized(model)
    return False


# Layers whose output has their input's scale in TFLite int8 (or that vanish):
# a range learned after them holds for their input too.
_SCALE_PRESERVING = (
    keras.layers.InputLayer,
    keras.layers.Reshape,
    keras.layers.Flatten,
    keras.layers.Permute,
    keras.layers.MaxPooling1D,
    keras.layers.MaxPooling2D,
    keras.layers.MaxPooling3D,
    keras.layers.Dropout,
    keras.layers.Cropping1D,
    keras.layers.Cropping2D,
    keras.layers.Cropping3D,
    keras.layers.ZeroPadding1D,
    keras.layers.ZeroPadding2D,
    keras.layers.ZeroPadding3D,
)


def _tensors(value):
    try:
        return [id(t) for t in keras.tree.flatten(value)]
    except (AttributeError, ValueError):  # a layer called several times has no single input
        return []


def input_fed_layers(model, is_quantized):
    """Names of the layers with `is_quantized(layer)` that read the model's float input,
    directly or through scale-preserving layers (reshape, pooling, ...): they learn its range."""
    reached = set(_tensors(getattr(model, "inputs", None) or []))
    names = set()
    for layer in model.layers:
        if not reached.intersection(_tensors(getattr(layer, "input", []))):
            continue
        if is_quantized(layer):
            names.add(layer.name)
        elif isinstance(layer, _SCALE_PRESERVING):
            reached.update(_tensors(layer.output))
    return names


def quantize_aware(model, ema_decay=0.99, fold_normalization=False):
    """Returns a copy of `model` whose Dense and convolution layers train through fake quantization.

    Train (or fine-tune) the returned model for a few epochs, then convert it
    with `convert(model, mode="int8")`: the trained ranges replace
    representative data when they cover every tensor (Dense/Conv layers fed
    by the input through reshapes and pooling); otherwise `convert` names the
    ops without a range and asks for `representative_data`. For a
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
    >>> result = convert(qat, mode="int8")
    """
    from tfx_ext._core.keras_flavour import is_tf_keras

    ema_decay = check_number("ema_decay", ema_decay, 0.0, 1.0, high_open=True)
    if is_tf_keras(model):
        from tfx_ext.lite.tf_keras_qat import quantize_tf_keras_model

        return quantize_tf_keras_model(model)
    check_bool("fold_normalization", fold_normalization)
    if isinstance(model, keras.Model) and not any(is_kernel_layer(l) for l in all_layers(model)):
        raise ValueError(f"Model '{model.name}' has no Dense or convolution layer to quantize.")
    if fold_normalization:
        from tfx_ext.lite.normalization_folding import fold_normalization as fold

        model = fold(model).model

    fed = input_fed_layers(model, is_kernel_layer) if isinstance(model, keras.Model) else set()

    def wrap(layer):
        copy = fresh_copy(layer)
        if not is_kernel_layer(layer):
            return copy
        return QuantizeAware(copy, ema_decay=ema_decay, quantize_inputs=layer.name in fed)

    return clone_with(model, wrap, "quantize_aware")
