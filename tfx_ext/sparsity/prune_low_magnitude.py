"""Magnitude pruning for Keras 3 layers: the `PruneLowMagnitude` wrapper.

tfmot's `prune_low_magnitude` only accepts tf_keras (Keras 2) models and Keras
3 has no pruning API: this is the Keras 3 version, with tfmot's names and
meaning. Masks and schedules use `keras.ops`.
"""

import keras
from keras import ops

from tfx_ext.arguments import check_int, invalid
from tfx_ext.sparsity import masks as masks_lib
from tfx_ext.sparsity.pruning_schedule import ConstantSparsity, PruningSchedule

# Which weights of each built-in layer are pruned (by variable name).
PRUNABLE_WEIGHTS = (
    (keras.layers.SeparableConv1D, ("depthwise_kernel", "pointwise_kernel")),
    (keras.layers.SeparableConv2D, ("depthwise_kernel", "pointwise_kernel")),
    (keras.layers.DepthwiseConv1D, ("kernel",)),
    (keras.layers.DepthwiseConv2D, ("kernel",)),
    (keras.layers.Conv1D, ("kernel",)),
    (keras.layers.Conv2D, ("kernel",)),
    (keras.layers.Conv3D, ("kernel",)),
    (keras.layers.Dense, ("kernel",)),
    (keras.layers.EinsumDense, ("kernel",)),
    (keras.layers.Embedding, ("embeddings",)),
)


def _tfx_ext_prunable():
    from tfx_ext import layers as tfx_layers
    from tfx_ext.losses import SampledSoftmaxLoss

    return (
        (tfx_layers.WeightNormalization, ("kernel",)),
        (tfx_layers.SqueezeExcitation, ("kernel",)),
        (SampledSoftmaxLoss, ("kernel",)),
    )


def _weight_names(layer):
    for cls, names in PRUNABLE_WEIGHTS + _tfx_ext_prunable():
        if isinstance(layer, cls):
            return names
    return None


def is_prunable(layer):
    """Whether `layer` is supported: a known layer, or one with `get_prunable_weights()`."""
    return callable(getattr(layer, "get_prunable_weights", None)) or _weight_names(layer) is not None


def prunable_weights(layer):
    """The variables of a built `layer` that pruning zeroes."""
    if callable(getattr(layer, "get_prunable_weights", None)):
        return list(layer.get_prunable_weights())
    names = _weight_names(layer)
    return [w for w in layer.trainable_weights if w.name in names]


class _MaskConstraint(keras.constraints.Constraint):
    """Re-applies a pruning mask after every optimizer update (Keras runs variable
    constraints inside the compiled step, right after applying gradients), so
    pruned weights stay exactly zero whatever the optimizer's momentum does."""

    def __init__(self, mask, inner=None):
        self.mask = mask
        self.inner = inner

    def __call__(self, weight):
        if self.inner is not None:
            weight = self.inner(weight)
        return weight * ops.cast(self.mask, weight.dtype)


class PrunableLayer:
    """Protocol for custom layers: implement `get_prunable_weights()`.

    Return the variables (usually kernels) that magnitude pruning may zero;
    biases are usually left alone.

    Example:

    >>> class MyDense(keras.layers.Layer, PrunableLayer):
    ...     def get_prunable_weights(self):
    ...         return [self.kernel]
    """

    def get_prunable_weights(self):
        raise NotImplementedError


def _check_pair(name, value):
    if value is None:
        return None
    if not (isinstance(value, (list, tuple)) and len(value) == 2):
        raise invalid(name, "a pair of positive integers", value)
    return tuple(check_int(name, v, minimum=1) for v in value)


@keras.saving.register_keras_serializable(package="tfx_ext")
class PruneLowMagnitude(keras.layers.Wrapper):
    """Wraps a layer so that its smallest-magnitude weights are zeroed on a schedule.

    Use `prune_low_magnitude(...)` to wrap layers or whole models, and train
    with the `UpdatePruningStep` callback: at each scheduled step it sets
    masks keeping the largest weights. Each mask is also installed as a
    constraint of its weight, which Keras optimizers apply inside the compiled
    step right after each update, so pruned weights stay exactly zero
    whatever the optimizer's momentum does, at no Python cost per step. The
    forward pass is the wrapped layer's own. `strip_pruning` removes the
    wrappers once training is done.

    Args:
        layer: The layer to prune (see `is_prunable`).
        pruning_schedule: A `PruningSchedule`. Defaults to
            `ConstantSparsity(0.5, begin_step=0, frequency=100)`.
        block_size: `(rows, cols)` blocks of the last two weight axes pruned
            together. Defaults to `(1, 1)` (unstructured).
        sparsity_m_by_n: `(m, n)`: keep the `m` largest of every `n`
            consecutive input weights (e.g. `(2, 4)` for 2:4 sparsity, which
            some accelerators run faster); overrides the schedule's sparsity.
        **kwargs: Base layer keyword arguments.
    """

    def __init__(self, layer, pruning_schedule=None, block_size=(1, 1), sparsity_m_by_n=None, **kwargs):
        if not isinstance(layer, keras.layers.Layer):
            raise TypeError(
                f"Invalid value received for argument `layer`. Expected a Keras layer. Received: layer={layer!r}"
            )
        if not is_prunable(layer):
            raise ValueError(
                f"Layer '{layer.name}' ({type(layer).__name__}) cannot be pruned: expected one of "
                f"{supported_layer_names()} or a layer with get_prunable_weights()."
            )
        kwargs.setdefault("name", f"prune_low_magnitude_{layer.name}")
        super().__init__(layer, **kwargs)
        if pruning_schedule is None:
            pruning_schedule = ConstantSparsity(0.5, begin_step=0, frequency=100)
        if not isinstance(pruning_schedule, PruningSchedule):
            raise invalid("pruning_schedule", "a tfx_ext.sparsity PruningSchedule", pruning_schedule, TypeError)
        self.pruning_schedule = pruning_schedule
        self.block_size = _check_pair("block_size", block_size)
        self.sparsity_m_by_n = _check_pair("sparsity_m_by_n", sparsity_m_by_n)
        if self.sparsity_m_by_n is not None and self.sparsity_m_by_n[0] >= self.sparsity_m_by_n[1]:
            raise invalid("sparsity_m_by_n", "(m, n) with m < n", sparsity_m_by_n)
        # Set by UpdatePruningStep; checked when a training step is traced.
        self.step_callback_attached = False

    def _m_by_n_axis(self):
        return -1 if isinstance(self.layer, keras.layers.Embedding) else -2

    def build(self, input_shape):
        super().build(input_shape)
        self.pruned_weights = prunable_weights(self.layer)
        if not self.pruned_weights:
            raise ValueError(f"Layer '{self.layer.name}' has no prunable weights.")
        for weight in self.pruned_weights:
            masks_lib.check_block_size(weight.shape, self.block_size, self.layer.name)
            if self.sparsity_m_by_n is not None:
                masks_lib.check_m_by_n(weight.shape, self.sparsity_m_by_n, self.layer.name, self._m_by_n_axis())
        self.masks = [
            self.add_weight(name=f"mask_{i}", shape=w.shape, initializer="ones", trainable=False, dtype=w.dtype)
            for i, w in enumerate(self.pruned_weights)
        ]
        for weight, mask in zip(self.pruned_weights, self.masks):
            weight.constraint = _MaskConstraint(mask, weight.constraint)
        self.pruning_step = self.add_weight(
            name="pruning_step",
            shape=(),
            dtype="int64",
            initializer=keras.initializers.Constant(-1),
            trainable=False,
        )

    def call(self, inputs, training=False):
        if training and not self.step_callback_attached:
            raise ValueError(
                f"Layer '{self.name}' is being trained without the pruning callback, so it "
                "would never prune. Add `tfx_ext.sparsity.UpdatePruningStep()` to the "
                "callbacks of `fit` (or call its hooks from your training loop); after this "
                "error, compile the model again before the next `fit`."
            )
        return self.layer(inputs)

    def update_masks(self, sparsity):
        """Recomputes the masks for `sparsity` from the current magnitudes, then applies them."""
        for weight, mask in zip(self.pruned_weights, self.masks):
            if self.sparsity_m_by_n is not None:
                m, n = self.sparsity_m_by_n
                new_mask = masks_lib.m_by_n_mask(weight, m, n, self._m_by_n_axis())
            else:
                new_mask = masks_lib.magnitude_mask(weight * mask, sparsity, self.block_size)
            mask.assign(ops.cast(new_mask, mask.dtype))
        self.apply_masks()

    def apply_masks(self):
        """Zeroes the masked weights (again)."""
        for weight, mask in zip(self.pruned_weights, self.masks):
            weight.assign(weight * mask)

    def masked_weights(self):
        """The wrapped layer's weights as NumPy arrays, with masks applied."""
        masked = {id(w): ops.convert_to_numpy(w * m) for w, m in zip(self.pruned_weights, self.masks)}
        return [masked.get(id(w), ops.convert_to_numpy(w)) for w in self.layer.weights]

    # What a model copy without the wrapper gets (tfx_ext.cloning).
    unwrapped_weights = masked_weights

    def compute_output_shape(self, input_shape):
        return self.layer.compute_output_shape(input_shape)

    def get_config(self):
        return {
            **super().get_config(),
            "pruning_schedule": keras.saving.serialize_keras_object(self.pruning_schedule),
            "block_size": self.block_size,
            "sparsity_m_by_n": self.sparsity_m_by_n,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["layer"] = keras.saving.deserialize_keras_object(config["layer"])
        config["pruning_schedule"] = keras.saving.deserialize_keras_object(config["pruning_schedule"])
        return cls(**config)


def supported_layer_names():
    return ", ".join(cls.__name__ for cls, _ in PRUNABLE_WEIGHTS + _tfx_ext_prunable())
