"""The base of the optimizers that keep an average of the weights (`SWA`, `MovingAverage`).

`tfa.optimizers.AveragedOptimizerWrapper` → `tfx_ext.optimizers.AveragedOptimizerWrapper`:
subclasses implement `average_op(var, average_var, local_apply_state)`, as in
TFA (`local_apply_state` is always None here: Keras 3 has no apply state).
"""

import warnings

import keras
from keras import ops

from tfx_ext.optimizers.optimizer_wrapper import OptimizerWrapper


@keras.saving.register_keras_serializable(package="tfx_ext")
class AveragedOptimizerWrapper(OptimizerWrapper):
    """Applies the wrapped optimizer's step, then updates an average of each variable.

    The averages are optimizer variables (saved with the optimizer in a
    `.keras` file and in checkpoints); `assign_average_vars` puts them in the
    model. After the inner step, `average_op(variable, average, None)` runs
    for every updated variable, with `self.iterations` already counting the
    step just applied.

    Args:
        optimizer: The Keras optimizer to wrap, or its name.
        name: Name of the optimizer. Defaults to `"AverageOptimizer"`.
    """

    def __init__(self, optimizer, name="AverageOptimizer", **kwargs):
        super().__init__(optimizer, name=name, **kwargs)

    def average_initializer(self, variable):
        """Initializer of `variable`'s average (zeros; `MovingAverage` starts from the weights)."""
        return "zeros"

    def build_wrapper(self, var_list):
        self._averages = [
            None
            if self._overwrite_variable_with_gradient(variable)
            else self.add_variable_from_reference(
                variable, name="average", initializer=self.average_initializer(variable)
            )
            for variable in var_list
        ]

    def average_op(self, var, average_var, local_apply_state):
        """Updates `average_var` from `var` after a step (subclasses implement it)."""
        raise NotImplementedError

    def update_step(self, gradient, variable, learning_rate):
        average = self._averages[self._get_variable_index(variable)]
        if average is not None:
            self.average_op(variable, average, None)

    def averages_ready(self):
        """Whether the averages hold an average yet (a boolean, possibly a tensor)."""
        return True

    def average_of(self, variable):
        """The average variable kept for `variable`, or None if it has none."""
        index = self._trainable_variables_indices.get(self._var_key(variable))
        return None if index is None else self._averages[index]

    def assign_average_vars(self, var_list):
        """Sets each variable of `var_list` to its average.

        A variable this optimizer does not train (a BatchNormalization
        statistic, say) is left as it is; a trainable variable it does not
        know gets a warning, as TFA's did.

        Args:
            var_list: Model variables, e.g. `model.trainable_variables` or
                `model.variables`.
        """
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}.assign_average_vars() needs an optimizer "
                "that has been built (trained); call it after training."
            )
        ready = self.averages_ready()
        unknown = []
        for variable in var_list:
            average = self.average_of(variable)
            if average is None:
                if getattr(variable, "trainable", False) and self._var_key(variable) not in (
                    self._trainable_variables_indices
                ):
                    unknown.append(getattr(variable, "path", variable.name))
                continue
            if ready is True:
                variable.assign(average)
            else:
                variable.assign(
                    ops.where(
                        ready, ops.convert_to_tensor(average), ops.convert_to_tensor(variable)
                    )
                )
        if unknown:
            warnings.warn(
                f"{type(self).__name__} has no average for {', '.join(unknown)}: these "
                "variables were not trained by this optimizer and are left unchanged.",
                stacklevel=2,
            )
