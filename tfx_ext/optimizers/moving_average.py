"""TFA's `MovingAverage`: an exponential moving average of the weights along training.

`tfa.optimizers.MovingAverage` → `tfx_ext.optimizers.MovingAverage` (same
arguments). Keras's `use_ema=True` is close but not the same: Keras starts the
average at the first step's weights, has no `start_step`, `dynamic_decay` or
`num_updates`, and writes the averages into the model at the end of `fit`;
TFA's average starts at the initial weights (so the first step already
decays), and the model keeps its trained weights until
`assign_average_vars` (or `AverageModelCheckpoint`) puts the averages in.
"""

import numbers

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, check_number, invalid
from tfx_ext.optimizers.average_wrapper import AveragedOptimizerWrapper
from tfx_ext.optimizers.lookahead import _CurrentValue

_NUM_UPDATES = "None, an integer >= 0, or an integer variable"


def _num_updates(value):
    """TFA's `num_updates`: an int, or an integer variable read once (as TFA's eager cast was)."""
    if value is None:
        return None
    dtype = getattr(value, "dtype", None)
    if dtype is not None and hasattr(value, "shape") and not isinstance(value, numbers.Number):
        if "int" not in str(dtype):
            raise invalid("num_updates", _NUM_UPDATES, value, TypeError)
        value = int(keras.ops.convert_to_numpy(value))
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid("num_updates", _NUM_UPDATES, value, TypeError)
    if value < 0:
        raise invalid("num_updates", _NUM_UPDATES, value)
    return int(value)


@keras.saving.register_keras_serializable(package="tfx_ext")
class MovingAverage(AveragedOptimizerWrapper):
    """Keeps `average = decay * average + (1 - decay) * weights` after each step.

    The average of each variable starts at its value when the optimizer is
    built. At the step numbered `n` from 0 (the wrapped optimizer's
    `iterations` before the step) the decay is `0` while `n < start_step`
    (the average follows the weights), then `average_decay`, or with
    `dynamic_decay` `min(average_decay, (1 + k) / (10 + k))` with
    `k = n - start_step`. With `num_updates`, `average_decay` is first capped
    at `(1 + num_updates) / (10 + num_updates)`, as TFA did.

    Args:
        optimizer: The Keras optimizer to wrap, or its name.
        average_decay: Decay of the moving average, in [0, 1]. Defaults to `0.99`.
        num_updates: None, or an integer >= 0 capping the decay (see above);
            an integer variable is read once, here.
        start_step: The step from which the average decays, an integer >= 0.
        dynamic_decay: Whether the decay grows from 0.1 to `average_decay`.
        name: Name of the optimizer. Defaults to `"MovingAverage"`.

    Example:

    >>> opt = MovingAverage(keras.optimizers.SGD(0.01), average_decay=0.999)
    >>> model.compile(optimizer=opt, loss="mse")
    >>> model.fit(x, y, epochs=10)
    >>> opt.assign_average_vars(model.trainable_variables)
    """

    def __init__(
        self,
        optimizer,
        average_decay=0.99,
        num_updates=None,
        start_step=0,
        dynamic_decay=False,
        name="MovingAverage",
        **kwargs,
    ):
        super().__init__(optimizer, name=name, **kwargs)
        self.average_decay = check_number("average_decay", average_decay, 0.0, 1.0)
        self.num_updates = _num_updates(num_updates)
        self.start_step = check_int("start_step", start_step, minimum=0)
        check_bool("dynamic_decay", dynamic_decay)
        self.dynamic_decay = dynamic_decay

    def average_initializer(self, variable):
        return _CurrentValue(variable)

    def decay_at(self, step):
        """The decay used at step `step` (counted from 0), a float32 tensor."""
        decay = self.average_decay
        if self.num_updates is not None:
            decay = min(decay, (1.0 + self.num_updates) / (10.0 + self.num_updates))
        step = ops.cast(step, "float32")
        decay = ops.convert_to_tensor(decay, "float32")
        if self.dynamic_decay:
            count = step - self.start_step
            decay = ops.minimum(decay, (1.0 + count) / (10.0 + count))
        return ops.where(step < self.start_step, ops.zeros_like(decay), decay)

    def average_op(self, var, average_var, local_apply_state):
        decay = ops.cast(self.decay_at(self.iterations - 1), var.dtype)
        value, average = ops.convert_to_tensor(var), ops.convert_to_tensor(average_var)
        updated = average - (average - value) * (1.0 - decay)
        self.assign(average_var, ops.where(self.inner_step_applied(), updated, average))

    @property
    def has_shadow_copy(self):
        """Whether the averages exist (the optimizer is built)."""
        return self.built

    def shadow_copy(self, model_weights):
        """Creates the averages of `model_weights` (builds the optimizer on them)."""
        self.build(list(model_weights))

    def swap_weights(self):
        """Exchanges the model's trainable variables and their averages.

        Evaluate with the averages, then swap back (swapping twice restores
        the model). Exact: no `a + b - b` rounding as in TFA.
        """
        if not self.built:
            raise ValueError("MovingAverage.swap_weights() needs a built (trained) optimizer.")
        for variable, average in zip(self._trainable_variables, self._averages):
            if average is None:
                continue
            weights = ops.copy(ops.convert_to_tensor(variable))
            variable.assign(average)
            average.assign(weights)

    def get_config(self):
        return {
            **super().get_config(),
            "average_decay": self.average_decay,
            "num_updates": self.num_updates,
            "start_step": self.start_step,
            "dynamic_decay": self.dynamic_decay,
        }
