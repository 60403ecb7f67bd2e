"""AdaBelief, with TFA's arguments, defaults and trajectories.

Keras 3 has no AdaBelief. `tfa.optimizers.AdaBelief` → `tfx_ext.optimizers.AdaBelief`
(same arguments); with `Lookahead` it is the authors' "ranger_adabelief".
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, check_number
from tfx_ext.optimizers.rectified_adam import warmed_up_rate
from tfx_ext.optimizers.sparse_gradients import densify, only_touched
from tfx_ext.optimizers.tfa_arguments import (
    learning_rate_argument,
    schedule_or_number,
    serialize_hyperparameter,
)


def _check_bool(name, value):
    check_bool(name, value)
    return value


@keras.saving.register_keras_serializable(package="tfx_ext")
class AdaBelief(keras.optimizers.Optimizer):
    """Adam that scales its step by the belief in the gradient's direction.

    Zhuang et al., [AdaBelief Optimizer: Adapting Stepsizes by the Belief in
    Observed Gradients](https://arxiv.org/abs/2010.07468): the second moment
    is the moving average of `(g - m)²` (plus `epsilon`), the deviation of
    the gradient from its prediction, instead of `g²`. With `rectify=True`
    (TFA's default) the step is rectified as in RAdam; with
    `total_steps > 0` the learning rate warms up and decays as RAdam's.

    Weight decay is TFA's: `weight_decay * variable` is added to the step
    before it is multiplied by the learning rate; it may be a schedule.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable.
            Defaults to `0.001`.
        beta_1: Decay rate of the first moment, in [0, 1). Defaults to `0.9`.
        beta_2: Decay rate of the second moment, in [0, 1). Defaults to `0.999`.
        epsilon: Added inside the square root (`0` means
            `keras.backend.epsilon()`, as in TFA). Defaults to `1e-14`.
        weight_decay: A number >= 0 or a `LearningRateSchedule`. Defaults to `0.0`.
        amsgrad: Whether to keep the maximum of the second moments.
        rectify: Whether to rectify the step as RAdam. Defaults to `True`.
        sma_threshold: SMA length above which the adaptive step is used
            (with `rectify`). Defaults to `5.0`.
        total_steps: A positive value enables warm-up and linear decay.
            Defaults to `0` (off).
        warmup_proportion: Fraction of `total_steps` spent warming up, in
            [0, 1]. Defaults to `0.1`.
        min_lr: Learning rate reached at `total_steps`. Defaults to `0.0`.
        name: Name of the optimizer. Defaults to `"AdaBelief"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `use_ema`, ...); TFA's `lr=` alias too.

    Example:

    >>> model.compile(optimizer=AdaBelief(1e-3, rectify=False), loss="mse")
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-14,
        weight_decay=0.0,
        amsgrad=False,
        rectify=True,
        sma_threshold=5.0,
        total_steps=0,
        warmup_proportion=0.1,
        min_lr=0.0,
        name="AdaBelief",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        weight_decay = schedule_or_number(
            "weight_decay", 0.0 if weight_decay is None else weight_decay
        )
        # TFA's decay is part of the step, not Keras's decoupled decay.
        super().__init__(learning_rate=learning_rate, weight_decay=None, name=name, **kwargs)
        self.beta_1 = check_number("beta_1", beta_1, 0.0, 1.0, high_open=True)
        self.beta_2 = check_number("beta_2", beta_2, 0.0, 1.0, high_open=True)
        epsilon = check_number("epsilon", 0.0 if epsilon is None else epsilon, low=0.0)
        self.epsilon = epsilon or keras.backend.epsilon()
        self.amsgrad = _check_bool("amsgrad", amsgrad)
        self.rectify = _check_bool("rectify", rectify)
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

    def _has_weight_decay(self):
        return not (isinstance(self.weight_decay, float) and self.weight_decay == 0.0)

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        epsilon = ops.cast(self.epsilon, dtype)
        beta_1_power = ops.power(beta_1, step)
        beta_2_power = ops.power(beta_2, step)
        if self.total_steps > 0:
            lr = warmed_up_rate(self, lr, step, dtype)

        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        # Sparse (TFA): both moments decay on every row, the new terms (and
        # epsilon) go to the touched rows only, and only those rows move.
        m_t = beta_1 * m + (1.0 - beta_1) * grad
        belief = (1.0 - beta_2) * ops.square(grad - m_t) + epsilon
        v_t = beta_2 * v + only_touched(touched, belief, ops.zeros_like(belief))
        self.assign(m, m_t)
        self.assign(v, v_t)
        if self.amsgrad:
            v_hat = self._velocity_hats[index]
            v_t = ops.maximum(v_hat, v_t)
            self.assign(v_hat, v_t)
        m_corr = m_t / (1.0 - beta_1_power)
        v_corr = ops.sqrt(v_t / (1.0 - beta_2_power))
        if self.rectify:
            sma_inf = 2.0 / (1.0 - beta_2) - 1.0
            sma_t = sma_inf - 2.0 * step * beta_2_power / (1.0 - beta_2_power)
            # NaN while sma_t < 4; `where` then takes the momentum step.
            r_t = ops.sqrt(
                (sma_t - 4.0)
                * (sma_t - 2.0)
                * sma_inf
                / ((sma_inf - 4.0) * (sma_inf - 2.0) * sma_t)
            )
            update = ops.where(
                sma_t >= ops.cast(self.sma_threshold, dtype),
                r_t * m_corr / (v_corr + epsilon),
                m_corr,
            )
        else:
            update = m_corr / (v_corr + epsilon)
        if self._has_weight_decay() and self._use_weight_decay(variable):
            decay = self.weight_decay
            if isinstance(decay, keras.optimizers.schedules.LearningRateSchedule):
                decay = decay(self.iterations)
            update = update + ops.cast(decay, dtype) * variable
        self.assign_sub(variable, only_touched(touched, lr * update, ops.zeros_like(update)))

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "beta_1": self.beta_1,
                "beta_2": self.beta_2,
                "epsilon": self.epsilon,
                "weight_decay": serialize_hyperparameter(self.weight_decay),
                "amsgrad": self.amsgrad,
                "rectify": self.rectify,
                "sma_threshold": self.sma_threshold,
                "total_steps": self.total_steps,
                "warmup_proportion": self.warmup_proportion,
                "min_lr": self.min_lr,
            }
        )
        return config
