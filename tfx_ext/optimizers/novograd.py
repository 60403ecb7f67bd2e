"""NovoGrad, with TFA's arguments, defaults and trajectories.

Keras 3 has no NovoGrad. `tfa.optimizers.NovoGrad` → `tfx_ext.optimizers.NovoGrad`
(same arguments).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_number
from tfx_ext.optimizers.sparse_gradients import densify, only_touched
from tfx_ext.optimizers.tfa_arguments import learning_rate_argument


def _reference_name(variable):
    # As Keras's `add_variable_from_reference` names a slot of `variable`.
    if hasattr(variable, "path"):
        return variable.path.replace("/", "_")
    return str(variable.name).replace("/", "_").replace(":", "_")


@keras.saving.register_keras_serializable(package="tfx_ext")
class NovoGrad(keras.optimizers.Optimizer):
    """SGD with momentum on gradients normalized by a per-layer second moment.

    Ginsburg et al., [Stochastic Gradient Methods with Layer-wise Adaptive
    Moments for Training of Deep Networks](https://arxiv.org/abs/1905.11286).
    Each variable keeps one scalar second moment `v` (the moving average of
    `sum(g²)`, started at the first step's value); the normalized gradient
    `g / (sqrt(v) + epsilon)` plus `weight_decay * w` (times `1 - beta_1`
    after the first step with `grad_averaging`) feeds Keras's momentum
    update `m = beta_1 m - lr g`, `w = w + m`, as TFA does.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable.
            Defaults to `0.001`.
        beta_1: Momentum, in [0, 1). Defaults to `0.9`.
        beta_2: Decay rate of the per-layer second moment, in [0, 1).
            Defaults to `0.999`.
        epsilon: Small constant (`0` means `keras.backend.epsilon()`, as
            in TFA). Defaults to `1e-7`.
        weight_decay: A number >= 0 added as `weight_decay * w` to the
            normalized gradient. Defaults to `0.0`.
        grad_averaging: Whether to scale the normalized gradient by
            `1 - beta_1` (Adam-style averaging). Defaults to `False`.
        amsgrad: Whether to normalize by the running maximum of `v`.
        name: Name of the optimizer. Defaults to `"NovoGrad"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `use_ema`, ...); TFA's `lr=` alias too.

    Example:

    >>> model.compile(optimizer=NovoGrad(1e-3, weight_decay=1e-3), loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=0.0,
        grad_averaging=False,
        amsgrad=False,
        name="NovoGrad",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        # TFA's decay is added to the normalized gradient, not Keras's decoupled decay.
        super().__init__(learning_rate=learning_rate, weight_decay=None, name=name, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0, high_open=True)
        epsilon = check_number("epsilon", 0.0 if epsilon is None else epsilon, low=0.0)
        self.epsilon = epsilon or keras.backend.epsilon()
        self.weight_decay = check_number("weight_decay", weight_decay, low=0.0)
        for argument, value in (("grad_averaging", grad_averaging), ("amsgrad", amsgrad)):
            check_bool(argument, value)
        self.grad_averaging = grad_averaging
        self.amsgrad = amsgrad

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums = self.add_optimizer_variables(var_list, "m")
        # One second moment per variable (a scalar), as TFA's slot `v`.
        self._layer_moments = [
            self.add_variable(
                shape=(),
                initializer="zeros",
                dtype=variable.dtype,
                name=f"{_reference_name(variable)}_v",
            )
            for variable in var_list
        ]
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "vhat")

    def _apply_weight_decay(self, variables):
        # Applied inside `update_step`, as TFA does.
        return

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        first_step = ops.equal(self.iterations, 0)
        index = self._get_variable_index(variable)

        v = self._layer_moments[index]
        g_2 = ops.sum(ops.square(grad))  # a sparse gradient's zero rows add nothing
        v_t = ops.where(first_step, g_2, v * beta_2 + g_2 * (1.0 - beta_2))
        self.assign(v, v_t)
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_t = ops.maximum(v_hat, v_t)
            self.assign(v_hat, v_t)
        grad = grad / (ops.sqrt(v_t) + ops.cast(self.epsilon, dtype))
        if self.weight_decay > 0:
            grad = grad + ops.cast(self.weight_decay, dtype) * variable
        if self.grad_averaging:
            grad = ops.where(first_step, grad, grad * (1.0 - beta_1))
        m = self._momentums[index]
        m_t = beta_1 * m - lr * grad
        self.assign(m, only_touched(touched, m_t, m))
        self.assign(variable, only_touched(touched, variable + m_t, variable))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "weight_decay": self.weight_decay,
                "grad_averaging": self.grad_averaging,
                "amsgrad": self.amsgrad,
            }
        )
        return config
