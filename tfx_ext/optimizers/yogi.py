"""Yogi, with TFA's arguments, defaults and trajectories.

Keras 3 has no Yogi. `tfa.optimizers.Yogi` → `tfx_ext.optimizers.Yogi` (same
arguments, including TFA's `beta1`/`beta2` spelling).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_number
from tfx_ext.optimizers.sparse_gradients import densify, only_touched
from tfx_ext.optimizers.tfa_arguments import learning_rate_argument


@keras.saving.register_keras_serializable(package="tfx_ext")
class Yogi(keras.optimizers.Optimizer):
    """Yogi: Adam with an additive second-moment update that cannot blow up.

    Algorithm 2 of Zaheer et al., [Adaptive Methods for Nonconvex
    Optimization](https://papers.nips.cc/paper/8186-adaptive-methods-for-nonconvex-optimization.pdf):
    `v_t = v - (1 - beta2) * sign(v - g²) * g²`, then a bias-corrected Adam
    step and, optionally, the proximal step of L1/L2 regularization.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable.
            Defaults to `0.01` (TFA's default).
        beta1: Decay rate of the first moment, in [0, 1); `0` keeps no first
            moment. Defaults to `0.9`.
        beta2: Decay rate of the second moment, in [0, 1). Defaults to `0.999`.
        epsilon: Constant trading adaptivity for noise, >= 0. Defaults to `1e-3`.
        l1_regularization_strength: L1 proximal strength, >= 0.
        l2_regularization_strength: L2 proximal strength, >= 0.
        initial_accumulator_value: Starting value of the second moments,
            > 0. Defaults to `1e-6`.
        activation: `"sign"` (the paper) or `"tanh"` (a smooth sign,
            `tanh(10 x)`).
        name: Name of the optimizer. Defaults to `"Yogi"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `weight_decay`, `use_ema`, ...); TFA's `lr=` alias too.

    Example:

    >>> model.compile(optimizer=Yogi(learning_rate=0.01), loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.01,
        beta1=0.9,
        beta2=0.999,
        epsilon=1e-3,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        initial_accumulator_value=1e-6,
        activation="sign",
        name="Yogi",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.beta1 = check_number("beta1", beta1, 0.0, 1.0, high_open=True)
        self.beta2 = check_number("beta2", beta2, 0.0, 1.0, high_open=True)
        self.epsilon = check_number("epsilon", epsilon, low=0.0)
        self.l1_regularization_strength = check_number(
            "l1_regularization_strength", l1_regularization_strength, low=0.0
        )
        self.l2_regularization_strength = check_number(
            "l2_regularization_strength", l2_regularization_strength, low=0.0
        )
        self.initial_accumulator_value = check_number(
            "initial_accumulator_value", initial_accumulator_value, low=0.0, low_open=True
        )
        self.activation = check_choice("activation", activation, ("sign", "tanh"))

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._second_moments = self.add_optimizer_variables(
            var_list,
            "v",
            initializer=keras.initializers.Constant(self.initial_accumulator_value),
        )
        if self.beta1 > 0.0:
            self._first_moments = self.add_optimizer_variables(var_list, "m")

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta1 = ops.cast(self.beta1, dtype)
        beta2 = ops.cast(self.beta2, dtype)
        lr = (
            ops.cast(learning_rate, dtype)
            * ops.sqrt(1.0 - ops.power(beta2, step))
            / (1.0 - ops.power(beta1, step))
        )
        index = self._get_variable_index(variable)
        if self.beta1 > 0.0:
            m = self._first_moments[index]
            direction = m * beta1 + grad * (1.0 - beta1)
            self.assign(m, direction)
        else:
            direction = grad

        v = self._second_moments[index]
        grad2 = grad * grad
        if self.activation == "sign":
            sign = ops.sign(grad2 - v)
        else:
            sign = ops.tanh(10.0 * (grad2 - v))
        # On rows a sparse gradient does not touch, grad2 is 0 and v stays.
        v_t = v + (1.0 - beta2) * sign * grad2
        self.assign(v, v_t)

        per_coord_lr = lr / (ops.sqrt(v_t) + ops.cast(self.epsilon, dtype))
        new_var = variable - per_coord_lr * direction
        l1 = ops.cast(self.l1_regularization_strength, dtype)
        l2 = ops.cast(self.l2_regularization_strength, dtype)
        if self.l1_regularization_strength > 0:
            # argmin_w 1/2 a w² - new_var w + c |w|: soft thresholding.
            threshold = l1 * per_coord_lr
            shrunk = (new_var - threshold * ops.sign(new_var)) / (1.0 + l2 * per_coord_lr)
            new_var = ops.where(ops.abs(new_var) > threshold, shrunk, ops.zeros_like(new_var))
        elif self.l2_regularization_strength > 0:
            new_var = new_var / (1.0 + l2 * per_coord_lr)
        self.assign(variable, only_touched(touched, new_var, variable))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta1": self.beta1,
                "beta2": self.beta2,
                "epsilon": self.epsilon,
                "l1_regularization_strength": self.l1_regularization_strength,
                "l2_regularization_strength": self.l2_regularization_strength,
                "initial_accumulator_value": self.initial_accumulator_value,
                "activation": self.activation,
            }
        )
        return config
