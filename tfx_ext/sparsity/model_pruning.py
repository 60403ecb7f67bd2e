"""`prune_low_magnitude` and `strip_pruning` for layers and whole models.

Keras 3 models are pruned natively (`PruneLowMagnitude`); tf_keras (Keras 2)
models are handed to tensorflow-model-optimization with the same schedule, so
one API serves both stacks.
"""

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.keras_flavour import import_tfmot, is_tf_keras
from tfx_ext._core.model_graphs import all_layers, clone_with, fresh_copy
from tfx_ext._core.protocols import PruningStepOwner
from tfx_ext.sparsity.prunable_layers import (
    has_prunable_weights,
    is_prunable,
    supported_layer_names,
)
from tfx_ext.sparsity.prune_low_magnitude import PruneLowMagnitude, _MaskConstraint
from tfx_ext.sparsity.pruning_schedule import ConstantSparsity, PolynomialDecay


def _tfmot_schedule(schedule):
    tfmot_sparsity = import_tfmot().sparsity.keras

    if isinstance(schedule, ConstantSparsity):
        return tfmot_sparsity.ConstantSparsity(**schedule.get_config())
    if isinstance(schedule, PolynomialDecay):
        return tfmot_sparsity.PolynomialDecay(**schedule.get_config())
    raise invalid(
        "pruning_schedule",
        "ConstantSparsity or PolynomialDecay for a tf_keras model",
        schedule,
        TypeError,
    )


def pruning_wrappers(model):
    """Every `PruneLowMagnitude` layer in `model`, nested models included."""
    if not isinstance(model, keras.Model):
        raise invalid("model", "a Keras model", model, TypeError)
    return [layer for layer in all_layers(model) if isinstance(layer, PruneLowMagnitude)]


def _clone(model, clone_function):
    return clone_with(
        model,
        clone_function,
        "Pruning a whole model",
        "Wrap its layers with prune_low_magnitude when you build it.",
    )


def prune_low_magnitude(
    to_prune,
    pruning_schedule=None,
    block_size=(1, 1),
    block_pooling_type="AVG",
    pruning_policy=None,
    sparsity_m_by_n=None,
    **kwargs,
):
    """Wraps layers for magnitude pruning, as tfmot's function of the same name.

    Args:
        to_prune: A layer, a list of layers, or a Sequential / functional model.
            A model is cloned with its prunable layers wrapped (weights kept;
            the original is untouched); other layers are left as they are.
            A tf_keras model or layer is pruned by tfmot with the same schedule.
        pruning_schedule: A `ConstantSparsity` or `PolynomialDecay` (default
            `ConstantSparsity(0.5, 0)`).
        block_size: Block of the last two weight axes pruned together.
        block_pooling_type: How a block is scored, `"AVG"` or `"MAX"`.
        pruning_policy: A `PruningPolicy` choosing which layers of a model to
            prune (e.g. `PruneForLatencyOnXNNPack()`); it also checks that the
            model suits it. Only for models.
        sparsity_m_by_n: `(m, n)` structured sparsity as in tfmot: `m` zeros
            in every `n` consecutive input weights, e.g. `(2, 4)`.
        **kwargs: Base layer keyword arguments of the wrapper, when
            `to_prune` is a single layer (ignored otherwise, as in tfmot).

    Returns:
        The wrapped layer, list of layers, or model.

    Example:

    >>> pruned = prune_low_magnitude(
    ...     model, PolynomialDecay(0.0, 0.8, begin_step=0, end_step=end_step, frequency=50))
    >>> pruned.compile(...)
    >>> pruned.fit(x, y, epochs=5, callbacks=[UpdatePruningStep()])
    >>> final = strip_pruning(pruned)
    """
    if pruning_schedule is None:
        pruning_schedule = ConstantSparsity(0.5, begin_step=0)
    options = dict(
        pruning_schedule=pruning_schedule,
        block_size=block_size,
        block_pooling_type=block_pooling_type,
        sparsity_m_by_n=sparsity_m_by_n,
    )

    if is_tf_keras(to_prune) or (
        isinstance(to_prune, (list, tuple)) and to_prune and all(is_tf_keras(l) for l in to_prune)
    ):
        tfmot_sparsity = import_tfmot().sparsity.keras

        if hasattr(to_prune, "layers") and hasattr(to_prune, "get_weights"):
            # tfmot wraps the model's own layers; prune a copy so that, as with
            # Keras 3 models, the original stays untouched.
            import tf_keras

            copy = tf_keras.models.clone_model(to_prune)
            copy.set_weights(to_prune.get_weights())
            to_prune = copy
        return tfmot_sparsity.prune_low_magnitude(
            to_prune,
            pruning_schedule=_tfmot_schedule(pruning_schedule),
            block_size=tuple(block_size),
            block_pooling_type=block_pooling_type,
            sparsity_m_by_n=None if sparsity_m_by_n is None else tuple(sparsity_m_by_n),
            pruning_policy=pruning_policy,  # tfmot's own policies for tf_keras models
        )

    if pruning_policy is not None:
        from tfx_ext.sparsity.pruning_policy import PruningPolicy

        if not isinstance(pruning_policy, PruningPolicy):
            raise invalid(
                "pruning_policy", "a tfx_ext.sparsity PruningPolicy", pruning_policy, TypeError
            )

    if isinstance(to_prune, (list, tuple)):
        refused = [layer.name for layer in to_prune if not is_prunable(layer)]
        if refused:
            raise ValueError(
                f"These layers cannot be pruned: {', '.join(refused)}. Supported: "
                f"{supported_layer_names()}, or layers with get_prunable_weights()."
            )
        return [PruneLowMagnitude(layer, **options) for layer in to_prune]

    if isinstance(to_prune, keras.Model):
        if pruning_policy is not None:
            pruning_policy.ensure_model_supports_pruning(to_prune)

        def wanted(layer):
            if isinstance(layer, PruneLowMagnitude) or not has_prunable_weights(layer):
                return False
            return pruning_policy is None or pruning_policy.allow_pruning(layer)

        if not any(wanted(l) for l in all_layers(to_prune)):
            raise ValueError(
                f"Model '{to_prune.name}' has no prunable layer. Supported: {supported_layer_names()}, "
                "or layers with get_prunable_weights()."
            )

        def wrap(layer):
            clone = fresh_copy(layer)
            if wanted(layer):
                return PruneLowMagnitude(clone, **options)
            return clone

        return _clone(to_prune, wrap)

    if pruning_policy is not None:
        raise invalid("pruning_policy", "None unless `to_prune` is a model", pruning_policy)
    if isinstance(to_prune, keras.layers.Layer):
        return PruneLowMagnitude(to_prune, **options, **kwargs)
    raise invalid(
        "to_prune", "a Keras layer, a list of layers or a Keras model", to_prune, TypeError
    )


def strip_pruning(model):
    """Returns a copy of `model` without pruning wrappers, pruned weights exactly zero.

    The result is a plain Keras model (no tfx_ext pruning classes) with the
    same outputs, ready to save, export or convert. tf_keras models go through
    tfmot's `strip_pruning`. A single `PruneLowMagnitude` layer gives back its
    wrapped layer with the masks applied.
    """
    if is_tf_keras(model):
        tfmot_sparsity = import_tfmot().sparsity.keras

        return tfmot_sparsity.strip_pruning(model)
    if isinstance(model, PruneLowMagnitude):
        if not isinstance(model, PruningStepOwner):
            return model.layer
        model.apply_masks()
        for weight in model.pruned_weights:  # give the layer back without the mask constraints
            while isinstance(weight.constraint, _MaskConstraint):
                weight.constraint = weight.constraint.inner
        return model.layer
    if not isinstance(model, keras.Model):
        raise invalid("model", "a Keras model", model, TypeError)

    def unwrap(layer):
        inner = layer.layer if isinstance(layer, PruneLowMagnitude) else layer
        return fresh_copy(inner)

    return _clone(model, unwrap)
