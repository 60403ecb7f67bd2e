"""tfmot's QAT entry points (`tfmot.quantization.keras`) for Keras 3 models.

`quantize_model`, `quantize_annotate_layer`, `quantize_annotate_model`,
`quantize_apply` and `quantize_scope` keep tfmot's names and meanings, so that
tfmot's guides run with `tfmot.quantization.keras` replaced by `tfx_ext.lite`.
Keras 3 models are quantized by `QuantizeAware` (the default 8-bit scheme on
Dense and convolutions); tf_keras models and layers go to tfmot itself.
Custom `QuantizeConfig`s are not supported yet on Keras 3 models.
"""

import contextlib
import warnings

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.keras_flavour import (
    deserialization_scope,
    import_tfmot,
    is_tf_keras,
    keep_input_shape,
)
from tfx_ext._core.model_graphs import copy_weights, fresh_copy, is_graph_model, is_kernel_layer
from tfx_ext.lite.quantize_aware import QuantizeAware, input_fed_layers, quantize_aware


def _tfmot_keras():
    tfmot = import_tfmot()

    return tfmot.quantization.keras


def _refuse_quantize_config(quantize_config):
    if quantize_config is not None:
        raise invalid(
            "quantize_config",
            "None for a Keras 3 layer (custom QuantizeConfigs are not supported yet; Dense and "
            "convolution layers get the default 8-bit scheme)",
            quantize_config,
        )


@keras.saving.register_keras_serializable(package="tfx_ext")
class QuantizeAnnotate(keras.layers.Wrapper):
    """Marks a layer for `quantize_apply` (tfmot's `QuantizeAnnotate`); computes as the layer does.

    Args:
        layer: The layer to quantize.
        quantize_config: Must be `None` (the default 8-bit scheme).
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, layer, quantize_config=None, **kwargs):
        _refuse_quantize_config(quantize_config)
        kwargs.setdefault("name", f"quant_annotate_{layer.name}")
        super().__init__(layer, **kwargs)
        keep_input_shape(self, layer)
        self.quantize_config = None

    def call(self, inputs, *args, **kwargs):
        return self.layer(inputs, *args, **kwargs)

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "quantize_config": None}


def quantize_annotate_layer(to_annotate, quantize_config=None):
    """Marks `to_annotate` to be quantized by `quantize_apply`, as tfmot's function.

    Args:
        to_annotate: A Keras 3 layer (a tf_keras layer goes to tfmot).
        quantize_config: `None` for Keras 3 layers; tfmot's `QuantizeConfig`
            for tf_keras layers.

    Returns:
        A `QuantizeAnnotate` wrapping the layer.
    """
    if is_tf_keras(to_annotate):
        return _tfmot_keras().quantize_annotate_layer(to_annotate, quantize_config)
    # ValueError, as tfmot raises for a model or a non-layer (its callers catch that).
    if not isinstance(to_annotate, keras.layers.Layer) or isinstance(to_annotate, keras.Model):
        raise invalid("to_annotate", "a keras.layers.Layer (not a model)", to_annotate)
    _refuse_quantize_config(quantize_config)
    return QuantizeAnnotate(to_annotate)


def quantize_annotate_model(to_annotate):
    """Marks every layer of a Sequential or functional model for `quantize_apply` (tfmot's meaning).

    Layers already annotated keep their annotation; `Lambda` layers are left
    as they are, with a warning (as in tfmot); nested models are refused (as
    in tfmot). The copy is not compiled.

    Raises:
        ValueError: `to_annotate` is not a Sequential or functional model, or
            holds a nested model.
    """
    if is_tf_keras(to_annotate):
        return _tfmot_keras().quantize_annotate_model(to_annotate)
    _check_model(to_annotate, "to_annotate")
    if any(isinstance(layer, keras.Model) for layer in to_annotate.layers):
        raise ValueError(
            "quantize_annotate_model does not support nested models (as in tfmot): annotate their layers."
        )

    def annotate(layer):
        if isinstance(layer, keras.layers.Lambda):
            warnings.warn(
                f"Lambda layer '{layer.name}' is not annotated: its code cannot be quantized.",
                stacklevel=3,
            )
            return layer  # a Lambda's Python code cannot be rebuilt from its config
        copy = fresh_copy(layer)
        if isinstance(layer, (QuantizeAnnotate, keras.layers.InputLayer)):
            return copy
        return QuantizeAnnotate(copy)

    clone = _clone(to_annotate, annotate, "quantize_annotate_model")
    copy_weights(to_annotate, clone)
    return clone


def _check_model(model, name):
    # ValueError, as tfmot's functions raise for a layer given as a model.
    if not isinstance(model, keras.Model):
        raise invalid(name, "a Sequential or functional keras.Model", model)
    if not model.built:
        raise ValueError(
            f"Model '{model.name}' is not built: give its first layer an input shape, or call it once."
        )


def _clone(model, clone_function, purpose):
    if not is_graph_model(model, built=False):
        raise ValueError(
            f"{purpose} needs a Sequential or functional model (a subclassed model cannot be cloned)."
        )
    return keras.models.clone_model(model, clone_function=clone_function)


def quantize_apply(model):
    """Makes the annotated layers of `model` quantization aware (tfmot's `quantize_apply`).

    Annotated Dense and convolution layers become `QuantizeAware`; other
    annotated layers are left as they are (the int8 scheme gives them their
    neighbours' ranges, or `convert` asks for representative data for them);
    layers that are not annotated stay float in training. Weights are kept.

    Raises:
        ValueError: `model` is not a built Sequential or functional model,
            or has no annotated layer (annotations inside nested models are
            not read, as in tfmot).
    """
    if is_tf_keras(model):
        return _tfmot_keras().quantize_apply(model)
    _check_model(model, "model")
    if not any(isinstance(layer, QuantizeAnnotate) for layer in model.layers):
        raise ValueError(
            f"Model '{model.name}' has no layer annotated with quantize_annotate_layer: use "
            "quantize_model to quantize the whole model."
        )

    def quantized(layer):
        return isinstance(layer, QuantizeAnnotate) and is_kernel_layer(layer.layer)

    fed = input_fed_layers(model, quantized)

    def apply(layer):
        if quantized(layer):
            inner = fresh_copy(layer.layer)
            return QuantizeAware(inner, quantize_inputs=layer.name in fed)
        if isinstance(layer, keras.layers.Lambda):
            return layer  # a Lambda's Python code cannot be rebuilt from its config
        return fresh_copy(layer.layer if isinstance(layer, QuantizeAnnotate) else layer)

    clone = _clone(model, apply, "quantize_apply")
    copy_weights(model, clone)
    return clone


def quantize_model(to_quantize):
    """Quantizes a whole Sequential or functional model for QAT (tfmot's `quantize_model`).

    The same as `quantize_aware(to_quantize)`; a tf_keras model goes to tfmot.

    Raises:
        ValueError: `to_quantize` is not a built Sequential or functional
            model (a layer, as tfmot raises), or has no Dense/convolution layer.
    """
    if not is_tf_keras(to_quantize):
        _check_model(to_quantize, "to_quantize")
    return quantize_aware(to_quantize)


@contextlib.contextmanager
def quantize_scope(*args):
    """tfmot's `quantize_scope`: a scope in which QAT models deserialize.

    Our QAT layers are registered Keras objects, so `.keras` files load with
    or without it; the scope exists so that tfmot's code runs unchanged, and
    to pass custom objects through (to `keras.saving.custom_object_scope`).
    When tf_keras is in use (imported), tfmot's own scope is entered too, so
    tf_keras QAT models saved as HDF5 load as in tfmot's guide.

    Args:
        *args: Optional dicts of custom objects (name -> class or function).

    Example:

    >>> with quantize_scope():
    ...     loaded = keras.models.load_model("qat.keras")
    """
    objects = {"QuantizeAware": QuantizeAware, "QuantizeAnnotate": QuantizeAnnotate}
    for custom_objects in args:
        if not isinstance(custom_objects, dict):
            raise invalid("custom_objects", "a dict of names to objects", custom_objects, TypeError)
        objects.update(custom_objects)
    with deserialization_scope(
        objects, lambda tfmot: tfmot.quantization.keras.quantize_scope(*args)
    ):
        yield
