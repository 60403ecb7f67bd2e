"""QAT for tf_keras models through tfmot, including activations tfmot's registry rejects (SELU).

tfmot's default 8-bit scheme quantizes a Dense/Conv layer's activation with a
lookup of "supported" Keras activations and raises on the others ("Only some
Keras activations under `keras.activations` are supported"). For such layers
we annotate them with `ActivationQuantizeConfig`, which quantizes the kernel
per tensor (symmetric, narrow range) and the layer's output, after its
activation, with a moving-average range, whatever the activation is.
"""

from tfx_ext._core.keras_flavour import import_tfmot

_SUPPORTED_BY_TFMOT = {"linear", "relu", "relu6", "softmax", "sigmoid", "tanh", "swish", "gelu"}


def _quantize_config_class():
    tfmot = import_tfmot()

    quantizers = tfmot.quantization.keras.quantizers

    class ActivationQuantizeConfig(tfmot.quantization.keras.QuantizeConfig):
        """Kernel: 8-bit symmetric per tensor; layer output (after any activation): 8-bit moving min/max."""

        def get_weights_and_quantizers(self, layer):
            return [
                (
                    layer.kernel,
                    quantizers.LastValueQuantizer(
                        num_bits=8, symmetric=True, narrow_range=True, per_axis=False
                    ),
                )
            ]

        def get_activations_and_quantizers(self, layer):
            # tfmot's activation wrapper refuses activations outside its list;
            # quantize the layer's output (after the activation) instead.
            return []

        def set_quantize_weights(self, layer, quantize_weights):
            layer.kernel = quantize_weights[0]

        def set_quantize_activations(self, layer, quantize_activations):
            pass

        def get_output_quantizers(self, layer):
            return [
                quantizers.MovingAverageQuantizer(
                    num_bits=8, symmetric=False, narrow_range=False, per_axis=False
                )
            ]

        def get_config(self):
            return {}

    return ActivationQuantizeConfig


def _selu_for_int8(x):
    """SELU written so that int8 conversion keeps it accurate: `exp` only sees
    min(x, 0), so its quantized range is not stretched by the positive side."""
    import tensorflow as tf

    from tfx_ext.selu.constants import SELU_ALPHA as alpha
    from tfx_ext.selu.constants import SELU_SCALE as scale

    return scale * (tf.nn.relu(x) + alpha * (tf.exp(tf.minimum(x, 0.0)) - 1.0))


def quantize_tf_keras_model(model):
    """tfmot's `quantize_model`, with `ActivationQuantizeConfig` for activations it rejects."""
    tfmot = import_tfmot()
    import tf_keras

    qk = tfmot.quantization.keras
    config_class = _quantize_config_class()

    def annotate(layer):
        activation = getattr(getattr(layer, "activation", None), "__name__", "linear")
        if (
            isinstance(layer, (tf_keras.layers.Dense, tf_keras.layers.Conv2D))
            and activation not in _SUPPORTED_BY_TFMOT
        ):
            copy = layer.__class__.from_config(layer.get_config())
            if activation == "selu":
                copy.activation = _selu_for_int8
            return qk.quantize_annotate_layer(copy, quantize_config=config_class())
        return layer.__class__.from_config(layer.get_config())

    try:
        return qk.quantize_model(model)
    except ValueError as error:
        if "activations" not in str(error):
            raise
    cloned = tf_keras.models.clone_model(model, clone_function=annotate)
    cloned.set_weights(model.get_weights())
    annotated = qk.quantize_annotate_model(cloned)
    with qk.quantize_scope(
        {"ActivationQuantizeConfig": config_class, "_selu_for_int8": _selu_for_int8}
    ):
        return qk.quantize_apply(annotated)


def is_tfmot_quantized(model):
    """Whether a tf_keras model went through tfmot's `quantize_apply` (its quantizers hold ranges)."""
    # By module, not isinstance: importing tfmot only to ask costs seconds.
    return any(
        # QuantizeWrapper(V2) and QuantizeLayer hold ranges; QuantizeAnnotate (not applied yet) does not.
        type(layer).__module__.startswith("tensorflow_model_optimization.")
        and (
            type(layer).__name__.startswith("QuantizeWrapper")
            or type(layer).__name__ == "QuantizeLayer"
        )
        for layer in model.layers
    )
