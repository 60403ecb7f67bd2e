"""Magnitude pruning for Keras 3 layers: the `PruneLowMagnitude` wrapper.

tfmot's `prune_low_magnitude` only accepts tf_keras (Keras 2) models and Keras
3 has no pruning API: this is the Keras 3 version, with tfmot's names and
meaning. The wrapper owns its pruning step and updates step and masks inside
its training call, with `keras.ops` only, so pruning runs in any training
loop (`fit` with `steps_per_execution`, `tfx_ext.training.Trainer`, a
`GradientTape` loop) and on the JAX backend.
"""

import inspect

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_int, invalid
from tfx_ext._core.checkpoint_tracking import track_in_checkpoint
from tfx_ext._core.keras_flavour import keep_input_shape

# Keras has no public test for "inside a stateless scope"; the constraint
# below needs it to tell whether it can read the mask (see _MaskConstraint).
from tfx_ext._core.private_api import get_stateless_scope
from tfx_ext.sparsity import masks as masks_lib
from tfx_ext.sparsity.prunable_layers import is_prunable, prunable_weights, supported_layer_names
from tfx_ext.sparsity.pruning_schedule import ConstantSparsity, PruningSchedule


class _MaskConstraint(keras.constraints.Constraint):
    """Re-applies a pruning mask after every optimizer update (Keras runs variable
    constraints inside the compiled step, right after applying gradients), so
    pruned weights stay exactly zero whatever the optimizer's momentum does.

    Under JAX, `fit` applies constraints in a stateless scope that holds only
    the trainable and optimizer variables: the mask cannot be read there, so
    the constraint steps aside and the wrapper masks the weights in its call
    instead (see `PruneLowMagnitude`).
    """

    def __init__(self, mask, inner=None):
        self.mask = mask
        self.inner = inner

    def __call__(self, weight):
        if self.inner is not None:
            weight = self.inner(weight)
        scope = get_stateless_scope()
        if scope is not None and scope.get_current_value(self.mask) is None:
            return weight
        return weight * ops.cast(self.mask, weight.dtype)


def _check_pair(name, value):
    if value is None:
        return None
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise invalid(name, "a pair of positive integers", value)
    return tuple(check_int(name, v, minimum=1) for v in value)


@keras.saving.register_keras_serializable(package="tfx_ext")
class PruneLowMagnitude(keras.layers.Wrapper):
    """Wraps a layer so that its smallest-magnitude weights are zeroed on a schedule.

    Use `prune_low_magnitude(...)` to wrap layers or whole models, then train
    as usual. As in tfmot, each training call advances the wrapper's own
    `pruning_step` (a non-trainable variable saved with the model) by one
    and reads the schedule at the new step (the first training batch is step
    1); when the schedule says so, the masks are recomputed from the current
    magnitudes, keeping the largest weights. Every call multiplies the pruned
    weights by their masks before running the wrapped layer. Each mask is
    also installed as a constraint of its weight, which Keras optimizers
    apply right after each update, so pruned weights stay exactly zero
    whatever the optimizer's momentum does (TensorFlow and PyTorch backends;
    under JAX, see the README). Because all of it happens in the training
    call, pruning follows the same schedule with `fit` and any
    `steps_per_execution`, in `tfx_ext.training.Trainer` and in a
    `GradientTape` loop, and it continues where it was after a recompile or
    a save and load. `strip_pruning` removes the wrappers once training is
    done.

    Args:
        layer: The layer to prune (see `is_prunable`).
        pruning_schedule: A `PruningSchedule`. Defaults to
            `ConstantSparsity(0.5, begin_step=0, frequency=100)`.
        block_size: `(rows, cols)` blocks of the last two weight axes pruned
            together. Defaults to `(1, 1)` (unstructured).
        block_pooling_type: How a block is scored: `"AVG"` (mean magnitude,
            default) or `"MAX"` (largest magnitude).
        sparsity_m_by_n: `(m, n)`: `m` zeros in every `n` consecutive input
            weights, as in tfmot (e.g. `(2, 4)` for 2:4 sparsity, which some
            accelerators run faster). Set once, at the first training step;
            overrides the schedule's sparsity.
        **kwargs: Base layer keyword arguments.

    Call arguments:
        inputs: The wrapped layer's inputs (`None` when it takes them by
            keyword, as MultiHeadAttention's `query=` and `value=`).
        training: Whether this is a training call (advances the pruning step).
        **kwargs: Passed on to the wrapped layer.
    """

    def __init__(
        self,
        layer,
        pruning_schedule=None,
        block_size=(1, 1),
        block_pooling_type="AVG",
        sparsity_m_by_n=None,
        **kwargs,
    ):
        if not isinstance(layer, keras.layers.Layer):
            raise invalid("layer", "a Keras layer", layer, TypeError)
        if not is_prunable(layer):
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) cannot be pruned: expected one of "
                f"{supported_layer_names()} or a layer with get_prunable_weights()."
            )
        kwargs.setdefault("name", f"prune_low_magnitude_{layer.name}")
        super().__init__(layer, **kwargs)
        # `Sequential([prune_low_magnitude(Dense(10, input_shape=(784,))), ...])`: see keep_input_shape.
        keep_input_shape(self, layer)
        if pruning_schedule is None:
            pruning_schedule = ConstantSparsity(0.5, begin_step=0, frequency=100)
        if not isinstance(pruning_schedule, PruningSchedule):
            raise invalid(
                "pruning_schedule",
                "a tfx_ext.sparsity PruningSchedule",
                pruning_schedule,
                TypeError,
            )
        self.pruning_schedule = pruning_schedule
        self.block_size = _check_pair("block_size", block_size)
        self.block_pooling_type = check_choice(
            "block_pooling_type", block_pooling_type, masks_lib.POOLING_TYPES
        )
        self.sparsity_m_by_n = _check_pair("sparsity_m_by_n", sparsity_m_by_n)
        if self.sparsity_m_by_n is not None and self.sparsity_m_by_n[0] >= self.sparsity_m_by_n[1]:
            raise invalid(
                "sparsity_m_by_n", "(m, n) with m < n: m zeros in every n weights", sparsity_m_by_n
            )
        self.supports_masking = layer.supports_masking
        # Filled by `build`: empty until then, as tfmot's `pruning_vars`.
        self.pruned_weights = []
        self.masks = []
        self._forward_training = "training" in inspect.signature(layer.call).parameters

    def __call__(self, *args, **kwargs):
        if not self.built and not self.layer.built and not args:
            # Inputs by keyword (MultiHeadAttention's query= and value=): the
            # wrapped layer's build needs all their shapes, which our
            # single-shape build does not get; a first call builds it.
            self.layer(**{k: v for k, v in kwargs.items() if k != "training"})
        return super().__call__(*args, **kwargs)

    def build(self, input_shape=None):
        if not self.layer.built:
            self.layer.build(input_shape)
        self._make_pruning_state()

    def _make_pruning_state(self):
        self.pruned_weights = prunable_weights(self.layer)
        for weight in self.pruned_weights:
            rank = len(weight.shape)
            if self.block_size != (1, 1) and rank < 2:
                raise invalid(
                    "block_size",
                    f"(1, 1) for the weight '{weight.path}' of rank {rank} in layer '{self.layer.name}' "
                    "(blocks need two axes)",
                    self.block_size,
                )
            if self.sparsity_m_by_n is not None and rank < 2:
                raise invalid(
                    "sparsity_m_by_n",
                    f"None for the weight '{weight.path}' of rank {rank} in layer '{self.layer.name}' "
                    "(groups run along the input axis)",
                    self.sparsity_m_by_n,
                )
        self.masks = [
            self.add_weight(
                name=f"mask_{i}",
                shape=w.shape,
                initializer="ones",
                trainable=False,
                dtype=w.dtype,
                aggregation="mean",
            )
            for i, w in enumerate(self.pruned_weights)
        ]
        track_in_checkpoint(self, "mask", self.masks)
        for weight, mask in zip(self.pruned_weights, self.masks):
            weight.constraint = _MaskConstraint(mask, weight.constraint)
        # -1: never trained. int32: JAX has no int64 without x64 mode.
        self.pruning_step = self.add_weight(
            name="pruning_step",
            shape=(),
            dtype="int32",
            initializer=keras.initializers.Constant(-1),
            trainable=False,
            aggregation="only_first_replica",
        )

    def _new_masks(self, sparsity):
        new = []
        for weight, mask in zip(self.pruned_weights, self.masks):
            current = weight * ops.cast(mask, weight.dtype)
            if self.sparsity_m_by_n is not None:
                m, n = self.sparsity_m_by_n
                value = masks_lib.m_by_n_mask(current, m, n)
            else:
                value = masks_lib.magnitude_mask(
                    current, sparsity, self.block_size, self.block_pooling_type
                )
            new.append(ops.cast(value, mask.dtype))
        return new

    def _advance(self):
        """One training step: step += 1 (from 0 if never trained), then masks on schedule."""
        step = ops.maximum(self.pruning_step, 0) + 1
        self.pruning_step.assign(step)
        if not self.masks:
            return
        if self.sparsity_m_by_n is not None:
            should_prune, sparsity = ops.equal(step, 1), 0.0  # m-by-n masks are set once, as tfmot
        else:
            should_prune, sparsity = self.pruning_schedule(step)
        new = ops.cond(
            should_prune,
            lambda: self._new_masks(sparsity),
            lambda: [ops.convert_to_tensor(m) for m in self.masks],
        )
        for mask, value in zip(self.masks, new):
            mask.assign(value)

    def call(self, inputs=None, training=None, **kwargs):
        # `inputs=None`: layers such as MultiHeadAttention take theirs by keyword.
        args = () if inputs is None else (inputs,)
        if self._forward_training:
            kwargs["training"] = training
        if training:
            self._advance()
        # Inside a stateless call (JAX) this assignment only changes what the
        # wrapped layer reads below, which is all the forward pass needs.
        for weight, mask in zip(self.pruned_weights, self.masks):
            weight.assign(weight * ops.cast(mask, weight.dtype))
        return self.layer(*args, **kwargs)

    def compute_mask(self, inputs, mask=None):
        return self.layer.compute_mask(inputs, mask)

    def update_masks(self, sparsity):
        """Recomputes the masks for `sparsity` from the current magnitudes, then applies them."""
        for mask, value in zip(self.masks, self._new_masks(sparsity)):
            mask.assign(value)
        self.apply_masks()

    def apply_masks(self):
        """Zeroes the masked weights (again)."""
        for weight, mask in zip(self.pruned_weights, self.masks):
            weight.assign(weight * ops.cast(mask, weight.dtype))

    def masked_weights(self):
        """The wrapped layer's weights as NumPy arrays, with masks applied."""
        if not self.masks:
            return self.layer.get_weights()
        masked = {
            id(w): ops.convert_to_numpy(w * ops.cast(m, w.dtype))
            for w, m in zip(self.pruned_weights, self.masks)
        }
        return [masked.get(id(w), ops.convert_to_numpy(w)) for w in self.layer.weights]

    # What a model copy without the wrapper gets (tfx_ext._core.model_graphs).
    unwrapped_weights = masked_weights

    def get_config(self):
        return {
            **super().get_config(),
            "pruning_schedule": keras.saving.serialize_keras_object(self.pruning_schedule),
            "block_size": self.block_size,
            "block_pooling_type": self.block_pooling_type,
            "sparsity_m_by_n": self.sparsity_m_by_n,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        config["pruning_schedule"] = keras.saving.deserialize_keras_object(
            config["pruning_schedule"]
        )
        return cls(**config)
