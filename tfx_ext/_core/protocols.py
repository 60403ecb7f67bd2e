"""The contracts between rooms: what a layer or wrapper promises, written down once.

Each is a `typing.Protocol` that `isinstance` can check (structural: a user's
class that has the member qualifies without inheriting), so no module reads a
private agreement with `getattr(x, "mc")` or `hasattr(x, "pruning_step")`.
`PrunableLayer` is also a base class with tfmot's name and meaning.
"""

from typing import Protocol, runtime_checkable


@runtime_checkable
class MCLayer(Protocol):
    """A layer that stays stochastic at inference (Monte Carlo dropout and its kin).

    `mc` is a class attribute, `True` for such layers: `enable_mc_dropout`
    leaves them as they are, `mc_layers` lists them, and `mc_predict`
    averages their stochastic passes. `tfx_ext.layers.MCDropout`,
    `MCAlphaDropout`, `MCGaussianDropout`, ... implement it.
    """

    mc: bool


def is_mc_layer(layer):
    """Whether `layer` is an `MCLayer` whose `mc` is True."""
    return isinstance(layer, MCLayer) and bool(layer.mc)


@runtime_checkable
class UnwrapsWeights(Protocol):
    """A `keras.layers.Wrapper` that says what the wrapped layer keeps once unwrapped.

    `unwrapped_weights()` returns the weights, in `wrapper.layer.weights`
    order, that a copy of the model without the wrapper gives the bare layer
    (pruning: the weights with their masks applied; QAT: the float weights).
    A wrapper without it gives `wrapper.layer.get_weights()`.
    """

    def unwrapped_weights(self):
        """The wrapped layer's weights as NumPy arrays."""


@runtime_checkable
class Prunable(Protocol):
    """A layer that names the variables magnitude pruning may zero (tfmot's contract)."""

    def get_prunable_weights(self):
        """The variables (usually kernels; biases are usually left alone) to prune."""


class PrunableLayer:
    """Protocol for custom layers: implement `get_prunable_weights()` (tfmot's name).

    Return the variables (usually kernels) that magnitude pruning may zero;
    biases are usually left alone. tfx_ext's own prunable layers implement it,
    so the pruning registry lists Keras's layers only.

    Example:

    >>> class MyDense(keras.layers.Layer, PrunableLayer):
    ...     def get_prunable_weights(self):
    ...         return [self.kernel]
    """

    def get_prunable_weights(self):
        raise NotImplementedError


def kernels(layer):
    """`get_prunable_weights` for layers whose prunable weights are the variables named `kernel`."""
    return [w for w in layer.trainable_weights if w.name == "kernel"]


@runtime_checkable
class PruningStepOwner(Protocol):
    """A built pruning wrapper: it owns `pruning_step`, the int64 variable of its training steps.

    The wrapper's training call advances it before reading the schedule, so
    pruning follows the optimizer under `steps_per_execution`, in any loop
    and on JAX (DESIGN: pruning state lives in the wrapper). Callbacks
    (`UpdatePruningStep`, `PruningSummaries`) and `strip_pruning` act on the
    wrappers that own one; an unbuilt wrapper has none yet.
    """

    pruning_step: object
