"""Stochastic Weight Averaging around any Keras optimizer (TFA's `SWA`)."""

import warnings

import keras
from keras import ops

from tfx_ext._core.arguments import check_int
from tfx_ext.optimizers.optimizer_wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="tfx_ext")
class SWA(OptimizerWrapper):
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

    def build_wrapper(self, var_list):
        self._averages = self.add_optimizer_variables(var_list, "average")

    def _snapshots_before(self, step):
        """Number of snapshots taken at steps < `step`."""
        return ops.maximum(
            ops.floor_divide(step - self.start_averaging + self.average_period - 1,
                             self.average_period),
            0,
        )

    def update_step(self, gradient, variable, learning_rate):
        average = self._averages[self._get_variable_index(variable)]
        if average is None:
            return
        step = self.iterations - 1  # the step just applied
        taken = self._snapshots_before(step)
        snapshot = ops.logical_and(
            ops.logical_and(self.inner_step_applied(), ops.greater_equal(step, self.start_averaging)),
            ops.equal(ops.mod(step - self.start_averaging, self.average_period), 0),
        )
        count = ops.cast(taken, variable.dtype)
        value, mean = ops.convert_to_tensor(variable), ops.convert_to_tensor(average)
        self.assign(average, ops.where(snapshot, (mean * count + value) / (count + 1.0), mean))

    def assign_average_vars(self, var_list):
        """Sets each variable of `var_list` to its average.

        A variable this optimizer does not train (a BatchNormalization
        statistic, say) is left as it is; a trainable variable it does not
        know gets a warning. Before the first snapshot the variables are
        left unchanged (TFA would assign the zero-initialized averages).

        Args:
            var_list: Model variables, e.g. `model.trainable_variables` or
                `model.variables`.
        """
        if not self.built:
            raise ValueError(
                "SWA.assign_average_vars() needs an optimizer that has been "
                "built (trained); call it after training."
            )
        any_snapshot = ops.greater(self._snapshots_before(self.iterations), 0)
        unknown = []
        for variable in var_list:
            key = self._var_key(variable)
            if key not in self._trainable_variables_indices:
                if getattr(variable, "trainable", False):
                    unknown.append(getattr(variable, "path", variable.name))
                continue
            average = self._averages[self._trainable_variables_indices[key]]
            if average is not None:
                variable.assign(
                    ops.where(
                        any_snapshot,
                        ops.convert_to_tensor(average),
                        ops.convert_to_tensor(variable),
                    )
                )
        if unknown:
            warnings.warn(
                f"SWA has no average for {', '.join(unknown)}: these variables "
                "were not trained by this optimizer and are left unchanged.",
                stacklevel=2,
            )

    def get_config(self):
        return {
            **super().get_config(),
            "start_averaging": self.start_averaging,
            "average_period": self.average_period,
        }
