"""Model graphs: walking layers, the graph-model check, and cloning with weights kept.

The only place that decides whether a model is a Sequential or functional
(graph) model, and how a model is cloned with some layers swapped, wrapped or
unwrapped. Used by `enable_mc_dropout`, `prune_low_magnitude` /
`strip_pruning`, `zero_small_weights`, `quantize_aware`,
`fold_normalization`, the diagnostics and the SELU checker. The original
model is never modified.
"""

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.private_api import inbound_nodes, node_in_graph, outbound_nodes, producing_layer
from tfx_ext._core.protocols import UnwrapsWeights

# Layers computing `inputs x kernel` with a kernel of shape (..., in, out): Dense and
# the N-D convolutions. Keras 3's transposed, depthwise and separable convolutions do not
# subclass ConvND (checked on Keras 3.15), so no exclusion list is needed.
KERNEL_LAYERS = (keras.layers.Dense, keras.layers.Conv1D, keras.layers.Conv2D, keras.layers.Conv3D)
# The kernel layers plus EinsumDense: layers whose kernel initializer sets the scale of
# what they output (the SELU conditions).
WEIGHTED_LAYERS = (*KERNEL_LAYERS, keras.layers.EinsumDense)


def is_kernel_layer(layer):
    """Whether `layer` is a Dense or an N-D (not transposed, depthwise, separable) convolution."""
    return isinstance(layer, KERNEL_LAYERS)


def all_layers(model):
    """Every layer of `model`, nested models included (depth first)."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


def leaf_layers(model):
    """The layers of `model` that are not models themselves, nested models walked (depth first)."""
    return (layer for layer in all_layers(model) if not isinstance(layer, keras.Model))


def assign_weights(layer, weights):
    """`layer.set_weights(weights)`, then the state Keras derives from them.

    `set_weights` does not refresh the constants that stateful preprocessing
    layers (Normalization, ...) derive from their variables; loading a model
    does (`finalize_state`). Every copy of weights in tfx_ext goes through
    here, so none leaves a Normalization at mean 0, variance 1.
    """
    layer.set_weights(weights)
    if hasattr(layer, "finalize_state"):
        layer.finalize_state()


def copy_weights(source, target):
    """Copies weights between two models of the same structure, through (un)wrapping.

    A wrapper on one side and a bare layer on the other exchange the wrapped
    layer's weights; a wrapper being removed gives its `unwrapped_weights()` (`protocols.UnwrapsWeights`)
    (e.g. with pruning masks applied) when it has that method. Two wrappers
    of different classes (an annotation becoming a QAT wrapper) exchange the
    wrapped layers' weights: each wrapper's own weights are its own.
    """
    for src, dst in zip(source.layers, target.layers):
        src_inner = src.layer if isinstance(src, keras.layers.Wrapper) else None
        dst_inner = dst.layer if isinstance(dst, keras.layers.Wrapper) else None
        # `dst` wraps what `src` is (a layer, or another wrapper), or the reverse.
        dst_wrapped = dst_inner is not None and (src_inner is None or type(dst_inner) is type(src))
        src_wrapped = src_inner is not None and (dst_inner is None or type(src_inner) is type(dst))
        rewrapped = (
            src_inner is not None
            and dst_inner is not None
            and type(src) is not type(dst)
            and type(src_inner) is type(dst_inner)
        )
        if isinstance(src, keras.Model) and isinstance(dst, keras.Model):
            copy_weights(src, dst)
            continue
        if type(src) is type(dst):
            receiver, weights = dst, src.get_weights()
        elif rewrapped:
            receiver, weights = dst.layer, src.layer.get_weights()
        elif src_wrapped:
            unwraps = isinstance(src, UnwrapsWeights)
            receiver, weights = dst, src.unwrapped_weights() if unwraps else src.layer.get_weights()
        elif dst_wrapped:
            receiver, weights = dst.layer, src.get_weights()
        else:
            receiver, weights = dst, src.get_weights()
        # The layer that took the weights, not its wrapper (whose finalize_state does nothing).
        assign_weights(receiver, weights)


def clone_with(
    model, clone_function, purpose, hint="Change its layers where you build it instead."
):
    """`keras.models.clone_model(..., recursive=True)` plus a weight copy.

    `purpose` names the caller, and `hint` says what to do instead, in the
    error raised for models that cannot be cloned (subclassed models).
    """
    if not isinstance(model, keras.Model):
        raise invalid("model", "a keras.Model", model, TypeError)
    if not is_graph_model(model, built=False):
        raise ValueError(
            f"{purpose} needs a Sequential or functional model: a subclassed model cannot be "
            f"cloned. {hint}"
        )
    clone = keras.models.clone_model(model, clone_function=clone_function, recursive=True)
    copy_weights(model, clone)
    return clone


def fresh_copy(layer):
    """A new, unbuilt layer with the same configuration."""
    return layer.__class__.from_config(layer.get_config())


def clone_replacing(model, replace):
    """A copy of `model` with weights, where `replace(layer)` may swap layers.

    `replace` returns None to keep a layer (a fresh copy with the same
    weights), or `(new_layer, weights)` to put `new_layer` there with `weights`.
    """
    replaced = {}

    def clone(layer):
        swap = replace(layer)
        if swap is None:
            return fresh_copy(layer)
        replaced[layer.name] = swap[1]
        return swap[0]

    copy = keras.models.clone_model(model, clone_function=clone)
    for old, new in zip(model.layers, copy.layers):
        assign_weights(new, replaced[old.name] if old.name in replaced else old.get_weights())
    return copy


def calls_in_graph(model, layer):
    """The calls (nodes) of `layer` that belong to `model`'s own graph."""
    return [node for node in inbound_nodes(layer) if node_in_graph(model, node)]


def consumers_in_graph(model, layer):
    """The layers of `model` that read `layer`'s output, one entry per call."""
    return [node.operation for node in outbound_nodes(layer) if node_in_graph(model, node)]


def producers(layer):
    """The layers whose outputs `layer`'s calls read, in call order, each once."""
    found = []
    for node in inbound_nodes(layer):
        for parent in node.parent_nodes:
            if parent.operation not in found:
                found.append(parent.operation)
    return found


def is_model_output(model, layer):
    """Whether one of `model`'s outputs is made by `layer`."""
    return any(producing_layer(output) is layer for output in model.outputs)


def is_graph_model(model, built=True):
    """Whether `model` is a Sequential or functional (not subclassed) Keras model.

    With `built=True` its graph of layers must be known too (inputs defined);
    with `built=False` an unbuilt Sequential counts (it can be cloned).
    """
    if not isinstance(model, keras.Model):
        return False
    if not built and isinstance(model, keras.Sequential):
        return True
    try:
        return bool(model.inputs)
    except AttributeError:  # subclassed models and unbuilt Sequentials have no inputs
        return False


def check_graph_model(name, model, purpose):
    """Checks a Sequential or functional (not subclassed) Keras model with known inputs.

    Raises `TypeError` for what is not a `keras.Model`, `ValueError` for a
    model without a graph of layers (subclassed, or an unbuilt Sequential).
    """
    if not isinstance(model, keras.Model):
        raise invalid(
            name, "a built Sequential (with an Input) or functional keras.Model", model, TypeError
        )
    if not is_graph_model(model):
        kind = "an unbuilt Sequential" if isinstance(model, keras.Sequential) else "a subclassed"
        raise invalid(
            name,
            f"a Sequential or functional model with known inputs ({purpose} reads its graph of layers)",
            f"{kind} model {model.name!r} ({type(model).__name__})",
        )
    return model
