"""Cloning a model with some layers swapped, wrapped or unwrapped, weights kept.

Used by `enable_mc_dropout`, `prune_low_magnitude` / `strip_pruning`,
`zero_small_weights`, `quantize_aware` and `fold_normalization`. The original model is never
modified.
"""

import keras


def all_layers(model):
    """Every layer of `model`, nested models included (depth first)."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)


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
    layer's weights; a wrapper being removed gives its `unwrapped_weights()`
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
            unwrapped = getattr(src, "unwrapped_weights", None)
            receiver, weights = dst, unwrapped() if unwrapped else src.layer.get_weights()
        elif dst_wrapped:
            receiver, weights = dst.layer, src.get_weights()
        else:
            receiver, weights = dst, src.get_weights()
        # The layer that took the weights, not its wrapper (whose finalize_state does nothing).
        assign_weights(receiver, weights)


def clone_with(model, clone_function, purpose, hint="Change its layers where you build it instead."):
    """`keras.models.clone_model(..., recursive=True)` plus a weight copy.

    `purpose` names the caller, and `hint` says what to do instead, in the
    error raised for models that cannot be cloned (subclassed models).
    """
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"Invalid value received for argument `model`. Expected a keras.Model. Received: model={model!r}"
        )
    cloned = []

    def counted(layer):
        cloned.append(layer)
        return clone_function(layer)

    try:
        clone = keras.models.clone_model(model, clone_function=counted, recursive=True)
    except ValueError as error:
        if cloned:  # Keras accepted the model; the error is about a layer (e.g. its arguments).
            raise
        raise ValueError(
            f"{purpose} needs a Sequential or functional model: a subclassed model cannot be "
            f"cloned. {hint} Keras said: {error}"
        ) from error
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
