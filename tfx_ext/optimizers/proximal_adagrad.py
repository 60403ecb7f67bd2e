"""Proximal Adagrad, with TFA's arguments, defaults and trajectories.

Keras 3 has no ProximalAdagrad (its `Adagrad` has no L1/L2 proximal step).
`tfa.optimizers.ProximalAdagrad` → `tfx_ext.optimizers.ProximalAdagrad`
(same arguments).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number
from tfx_ext.optimizers.sparse_gradients import densify, only_touched
from tfx_ext.optimizers.tfa_arguments import learning_rate_argument


@keras.saving.register_keras_serializable(package="tfx_ext")
class ProximalAdagrad(keras.optimizers.Optimizer):
    """Adagrad followed by the proximal step of L1 and L2 regularization.

    Duchi & Singer, [Efficient Learning using Forward-Backward
    Splitting](https://papers.nips.cc/paper/3793-efficient-learning-using-forward-backward-splitting.pdf);
    TensorFlow's `ApplyProximalAdagrad` kernel, which TFA called:
    `acc += g²`, `a = lr / sqrt(acc)`, `p = w - a g`, then
    `w = sign(p) max(|p| - a l1, 0) / (1 + a l2)`. A sparse gradient moves
    only the rows it touches.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable.
            Defaults to `0.001`.
        initial_accumulator_value: Starting value of the accumulators, >= 0.
            Defaults to `0.1`.
        l1_regularization_strength: L1 strength, >= 0. Defaults to `0.0`.
        l2_regularization_strength: L2 strength, >= 0. Defaults to `0.0`.
        name: Name of the optimizer. Defaults to `"ProximalAdagrad"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `use_ema`, ...); TFA's `lr=` alias too.

    Example:

    >>> model.compile(optimizer=ProximalAdagrad(0.1, l1_regularization_strength=1e-3),
    ...               loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.001,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        name="ProximalAdagrad",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0
        )
        self.l1_regularization_strength = check_number(
            "l1_regularization_strength", l1_regularization_strength, low=0.0
        )
        self.l2_regularization_strength = check_number(
            "l2_regularization_strength", l2_regularization_strength, low=0.0
        )

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._accumulators = self.add_optimizer_variables(
            var_list,
            "accumulator",
            initializer=keras.initializers.Constant(self.initial_accumulator_value),
        )

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        accumulator = self._accumulators[self._get_variable_index(variable)]
        accumulator_t = accumulator + ops.square(grad)  # untouched rows: + 0
        self.assign(accumulator, accumulator_t)
        rate = ops.cast(learning_rate, dtype) / ops.sqrt(accumulator_t)
        proximal = variable - rate * grad
        l1 = ops.cast(self.l1_regularization_strength, dtype)
        l2 = ops.cast(self.l2_regularization_strength, dtype)
        if self.l1_regularization_strength > 0:
            proximal = ops.sign(proximal) * ops.maximum(ops.abs(proximal) - rate * l1, 0.0)
        new_value = proximal / (1.0 + rate * l2)
        self.assign(variable, only_touched(touched, new_value, variable))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "initial_accumulator_value": self.initial_accumulator_value,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
            }
        )
        return config
