"""Lookahead around any Keras optimizer (TFA's `Lookahead`; with RAdam, "Ranger")."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, check_number
from tfx_ext.optimizers.optimizer_wrapper import OptimizerWrapper


class _CurrentValue(keras.initializers.Initializer):
    """Initializes a slot with the current value of a variable (not serialized)."""

    def __init__(self, variable):
        self.variable = variable

    def __call__(self, shape, dtype=None):
        # A copy: on JAX, sharing the variable's buffer would donate it twice.
        value = ops.copy(ops.convert_to_tensor(self.variable))
        return ops.cast(value, dtype or self.variable.dtype)


@keras.saving.register_keras_serializable(package="tfx_ext")
class Lookahead(OptimizerWrapper):
    """Lookahead: k steps forward with the wrapped optimizer, 1 step back.

    Zhang et al., [Lookahead Optimizer: k steps forward, 1 step
    back](https://arxiv.org/abs/1907.08610). The wrapped ("fast") optimizer
    updates the weights; every `sync_period` steps the slow weights move
    `slow_step_size` of the way toward them and the weights are reset to the
    slow weights. The slow weights start as the weights when the optimizer
    is built (at the start of the first `fit`, or at the first step).

    Args:
        optimizer: The Keras optimizer to wrap, or its name (`"adam"`).
        sync_period: Synchronization period k, an integer >= 1. Defaults to 6.
        slow_step_size: Step size alpha of the slow weights, in [0, 1].
            Defaults to 0.5.
        name: Name of the optimizer. Defaults to `"Lookahead"`.

    Example:

    >>> ranger = Lookahead(RectifiedAdam(), sync_period=6, slow_step_size=0.5)
    >>> model.compile(optimizer=ranger, loss="sparse_categorical_crossentropy")
    """

    def __init__(self, optimizer, sync_period=6, slow_step_size=0.5, name="Lookahead", **kwargs):
        super().__init__(optimizer, name=name, **kwargs)
        self.sync_period = check_int("sync_period", sync_period, minimum=1)
        self.slow_step_size = check_number("slow_step_size", slow_step_size, 0.0, 1.0)

    def build_wrapper(self, var_list):
        self._slow_weights = [
            None
            if self._overwrite_variable_with_gradient(variable)
            else self.add_variable_from_reference(
                variable, name="slow", initializer=_CurrentValue(variable)
            )
            for variable in var_list
        ]

    def update_step(self, gradient, variable, learning_rate):
        slow = self._slow_weights[self._get_variable_index(variable)]
        if slow is None:
            return
        sync = ops.logical_and(
            self.inner_step_applied(), ops.equal(ops.mod(self.iterations, self.sync_period), 0)
        )
        alpha = ops.cast(self.slow_step_size, variable.dtype)
        fast, slow_value = ops.convert_to_tensor(variable), ops.convert_to_tensor(slow)
        step_back = slow_value + alpha * (fast - slow_value)
        self.assign(slow, ops.where(sync, step_back, slow_value))
        self.assign(variable, ops.where(sync, step_back, fast))

    def get_config(self):
        return {
            **super().get_config(),
            "sync_period": self.sync_period,
            "slow_step_size": self.slow_step_size,
        }
