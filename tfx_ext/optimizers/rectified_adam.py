"""Rectified Adam (RAdam), with TFA's arguments, defaults and trajectories.

Keras 3 has no RAdam. `tfa.optimizers.RectifiedAdam` → `tfx_ext.optimizers.RectifiedAdam`
(same arguments); RAdam + `Lookahead` is "Ranger".
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, check_number
from tfx_ext.optimizers.sparse_gradients import densify, only_touched
from tfx_ext.optimizers.tfa_arguments import (
    learning_rate_argument,
    schedule_or_number,
    serialize_hyperparameter,
)


def warmed_up_rate(optimizer, lr, step, dtype):
    """TFA's warm-up then linear decay to `min_lr` (RectifiedAdam, AdaBelief)."""
    total = ops.cast(optimizer.total_steps, dtype)
    warmup_steps = total * ops.cast(optimizer.warmup_proportion, dtype)
    decay_steps = ops.maximum(total - warmup_steps, 1.0)
    decay_rate = (ops.cast(optimizer.min_lr, dtype) - lr) / decay_steps
    return ops.where(
        step <= warmup_steps,
        lr * (step / warmup_steps),
        lr + decay_rate * ops.minimum(step - warmup_steps, decay_steps),
    )


@keras.saving.register_keras_serializable(package="tfx_ext")
class RectifiedAdam(keras.optimizers.Optimizer):
    """Adam whose adaptive learning rate is rectified to a consistent variance.

    Liu et al., [On the Variance of the Adaptive Learning Rate and
    Beyond](https://arxiv.org/abs/1908.03265). While the variance of the
    adaptive rate is intractable (the simple moving average length
    `sma_t` is below `sma_threshold`) the step is momentum SGD; after that it
    is Adam's step times the rectification term `r_t`.

    With `total_steps > 0` the learning rate also warms up linearly from 0 to
    `learning_rate` over `warmup_proportion * total_steps` steps, then decays
    linearly to `min_lr` at `total_steps`.

    Weight decay is TFA's: `weight_decay * variable` is added to the step
    before it is multiplied by the (warmed-up) learning rate, and it may be a
    schedule. `exclude_from_weight_decay()` works as on any Keras optimizer.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable.
            Defaults to `0.001`. (TFA's `lr=` alias is accepted, with a
            deprecation warning.)
        beta_1: Decay rate of the first-moment estimates, in [0, 1).
        beta_2: Decay rate of the second-moment estimates, in [0, 1).
        epsilon: Small constant for numerical stability (`0` or `None`
            means `keras.backend.epsilon()`, as in TFA). Defaults to `1e-7`.
        weight_decay: A number >= 0 or a `LearningRateSchedule` (a
            function of the step). Defaults to `0.0`.
        amsgrad: Whether to use the AMSGrad maximum of the second moments.
        sma_threshold: Threshold on the SMA length above which the adaptive
            step is used. Defaults to `5.0`.
        total_steps: Total number of training steps; a positive value
            enables warm-up and linear decay. Defaults to `0` (off).
        warmup_proportion: Fraction of `total_steps` spent warming up, in
            [0, 1]. Defaults to `0.1`.
        min_lr: Learning rate reached at `total_steps` after the warm-up.
        name: Name of the optimizer. Defaults to `"RectifiedAdam"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `clipvalue`, `global_clipnorm`, `use_ema`, `ema_momentum`,
            `ema_overwrite_frequency`, `loss_scale_factor`,
            `gradient_accumulation_steps`).

    Example:

    >>> radam = RectifiedAdam(learning_rate=1e-3, total_steps=10000,
    ...                       warmup_proportion=0.1, min_lr=1e-5)
    >>> ranger = Lookahead(radam, sync_period=6, slow_step_size=0.5)
    >>> model.compile(optimizer=ranger, loss="sparse_categorical_crossentropy")
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        weight_decay=0.0,
        amsgrad=False,
        sma_threshold=5.0,
        total_steps=0,
        warmup_proportion=0.1,
        min_lr=0.0,
        name="RectifiedAdam",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        weight_decay = schedule_or_number(
            "weight_decay", 0.0 if weight_decay is None else weight_decay
        )
        # TFA's weight decay is part of the step (scaled by the warmed-up
        # rate), not Keras's decoupled decay: keep it away from the base class.
        super().__init__(learning_rate=learning_rate, weight_decay=None, name=name, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0, high_open=True)
        if epsilon is None:
            epsilon = 0.0
        epsilon = check_number("epsilon", epsilon, low=0.0)
        self.epsilon = epsilon or keras.backend.epsilon()
        check_bool("amsgrad", amsgrad)
        self.amsgrad = amsgrad
        self.sma_threshold = check_number("sma_threshold", sma_threshold)
        self.total_steps = check_int("total_steps", total_steps, minimum=0)
        self.warmup_proportion = check_number("warmup_proportion", warmup_proportion, 0.0, 1.0)
        self.min_lr = check_number("min_lr", min_lr, low=0.0)
        self.weight_decay = weight_decay

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._momentums, self._velocities = self.add_optimizer_variables(var_list, ["m", "v"])
        if self.amsgrad:
            self._velocity_hats = self.add_optimizer_variables(var_list, "vhat")

    def _apply_weight_decay(self, variables):
        # Applied inside `update_step`, as TFA does.
        return

    def _weight_decay_at(self, dtype):
        if isinstance(self.weight_decay, keras.optimizers.schedules.LearningRateSchedule):
            return ops.cast(self.weight_decay(self.iterations), dtype)
        return ops.cast(self.weight_decay, dtype)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        beta_1_power = ops.power(beta_1, step)
        beta_2_power = ops.power(beta_2, step)
        sma_inf = 2.0 / (1.0 - beta_2) - 1.0
        sma_t = sma_inf - 2.0 * step * beta_2_power / (1.0 - beta_2_power)
        # NaN while sma_t < 4; `where` below then takes the momentum step.
        r_t = ops.sqrt(
            (sma_t - 4.0) / (sma_inf - 4.0) * (sma_t - 2.0) / (sma_inf - 2.0) * sma_inf / sma_t
        )
        if self.total_steps > 0:
            lr = warmed_up_rate(self, lr, step, dtype)

        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_t = beta_1 * m + (1.0 - beta_1) * grad
        v_t = beta_2 * v + (1.0 - beta_2) * ops.square(grad)
        self.assign(m, m_t)
        self.assign(v, v_t)
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_t = ops.maximum(v_hat, v_t)
            self.assign(v_hat, v_t)
        m_corr = m_t / (1.0 - beta_1_power)
        v_corr = ops.sqrt(v_t / (1.0 - beta_2_power))
        update = ops.where(
            sma_t >= ops.cast(self.sma_threshold, dtype),
            r_t * m_corr / (v_corr + ops.cast(self.epsilon, dtype)),
            m_corr,
        )
        if self._has_weight_decay() and self._use_weight_decay(variable):
            update = update + self._weight_decay_at(dtype) * variable
        self.assign_sub(variable, only_touched(touched, lr * update, ops.zeros_like(update)))

    def _has_weight_decay(self):
        return not (isinstance(self.weight_decay, float) and self.weight_decay == 0.0)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "weight_decay": serialize_hyperparameter(self.weight_decay),
                "amsgrad": self.amsgrad,
                "sma_threshold": self.sma_threshold,
                "total_steps": self.total_steps,
                "warmup_proportion": self.warmup_proportion,
                "min_lr": self.min_lr,
            }
        )
        return config
