"""Stochastic Weight Averaging around any Keras optimizer (TFA's `SWA`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int
from tfx_ext.optimizers.average_wrapper import AveragedOptimizerWrapper


@keras.saving.register_keras_serializable(package="tfx_ext")
class SWA(AveragedOptimizerWrapper):
    """Keeps the running average of the weights along the wrapped optimizer's path.

    Izmailov et al., [Averaging Weights Leads to Wider Optima and Better
    Generalization](https://arxiv.org/abs/1803.05407). After the update of
    step `n` (counted from 0), if `n >= start_averaging` and
    `(n - start_averaging) % average_period == 0`, the weights are added to
    the running average. The model keeps training on its own weights; call
    `assign_average_vars(model.trainable_variables)` (or use
    `tfx_ext.callbacks.AverageModelCheckpoint`) to put the averages in the
    model. With BatchNormalization, run one more pass over the training data
    in training mode afterwards to recompute its statistics (as the paper does).

    Args:
        optimizer: The Keras optimizer to wrap, or its name (`"sgd"`).
        start_averaging: The step (from 0) of the first snapshot, an
            integer >= 0. Defaults to 0.
        average_period: Steps between snapshots, an integer >= 1. Defaults
            to 10.
        name: Name of the optimizer. Defaults to `"SWA"`.

    Example:

    >>> opt = SWA(keras.optimizers.SGD(0.01), start_averaging=500, average_period=50)
    >>> model.compile(optimizer=opt, loss="mse")
    >>> model.fit(x, y, epochs=10)
    >>> opt.assign_average_vars(model.trainable_variables)
    """

    def __init__(self, optimizer, start_averaging=0, average_period=10, name="SWA", **kwargs):
        super().__init__(optimizer, name=name, **kwargs)
        self.start_averaging = check_int("start_averaging", start_averaging, minimum=0)
        self.average_period = check_int("average_period", average_period, minimum=1)

    def _snapshots_before(self, step):
        """Number of snapshots taken at steps < `step`."""
        return ops.maximum(
            ops.floor_divide(
                step - self.start_averaging + self.average_period - 1, self.average_period
            ),
            0,
        )

    def average_op(self, var, average_var, local_apply_state):
        variable, average = var, average_var
        step = self.iterations - 1  # the step just applied
        taken = self._snapshots_before(step)
        snapshot = ops.logical_and(
            ops.logical_and(
                self.inner_step_applied(), ops.greater_equal(step, self.start_averaging)
            ),
            ops.equal(ops.mod(step - self.start_averaging, self.average_period), 0),
        )
        count = ops.cast(taken, variable.dtype)
        value, mean = ops.convert_to_tensor(variable), ops.convert_to_tensor(average)
        self.assign(average, ops.where(snapshot, (mean * count + value) / (count + 1.0), mean))

    def averages_ready(self):
        # Before the first snapshot the variables are left unchanged (TFA
        # would assign the zero-initialized averages).
        return ops.greater(self._snapshots_before(self.iterations), 0)

    def get_config(self):
        return {
            **super().get_config(),
            "start_averaging": self.start_averaging,
            "average_period": self.average_period,
        }
