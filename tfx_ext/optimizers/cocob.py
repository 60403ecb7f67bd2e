"""COCOB-Backprop, with TFA's arguments, defaults and trajectories.

Keras 3 has no COCOB. `tfa.optimizers.COCOB` → `tfx_ext.optimizers.COCOB`
(same arguments). TFA refused sparse gradients (`NotImplementedError`); here a
sparse gradient is applied as the dense gradient it stands for.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_number
from tfx_ext.optimizers.sparse_gradients import densify


@keras.saving.register_keras_serializable(package="tfx_ext")
class COCOB(keras.optimizers.Optimizer):
    """Continuous Coin Betting: a learning-rate-free optimizer.

    Orabona & Tommasi, [Training Deep Networks without Learning Rates Through
    Coin Betting](https://arxiv.org/abs/1705.07795), Algorithm 2
    (COCOB-Backprop). Each weight bets a fraction of its accumulated reward
    on the sign of the sum of its negative gradients; there is no learning
    rate to tune (the Keras `learning_rate` is not used and not taken).

    Args:
        alpha: Number >= 1 limiting the size of the first steps. Defaults to
            `100` (the paper's value).
        use_locking: Accepted for TFA's signature; has no effect in Keras 3.
        name: Name of the optimizer. Defaults to `"COCOB"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `use_ema`, ...), except `learning_rate`.

    Example:

    >>> model.compile(optimizer=COCOB(alpha=100), loss="mse")
    """

    def __init__(self, alpha=100, use_locking=False, name="COCOB", **kwargs):
        if "learning_rate" in kwargs:
            # A config of the Keras base class carries one; COCOB has none.
            kwargs.pop("learning_rate")
        alpha = check_number("alpha", alpha, low=1.0)
        check_bool("use_locking", use_locking)
        super().__init__(learning_rate=0.0, name=name, **kwargs)
        self.alpha = alpha
        self.use_locking = use_locking

    def build(self, var_list):
        if self.built:
            return
        super().build(var_list)
        self._lr = self.add_optimizer_variables(
            var_list, "lr", initializer=keras.initializers.Constant(1e-8)
        )
        (
            self._grad_norm_sums,
            self._gradients_sums,
            self._tilde_w,
            self._rewards,
        ) = self.add_optimizer_variables(
            var_list, ["grad_norm_sum", "gradients_sum", "tilde_w", "reward"]
        )

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, _ = densify(gradient, dtype)
        index = self._get_variable_index(variable)
        lr, grad_norm_sum = self._lr[index], self._grad_norm_sums[index]
        gradients_sum, tilde_w = self._gradients_sums[index], self._tilde_w[index]
        reward = self._rewards[index]

        lr_t = ops.maximum(lr, ops.abs(grad))
        gradients_sum_t = gradients_sum + grad
        grad_norm_sum_t = grad_norm_sum + ops.abs(grad)
        reward_t = ops.maximum(reward - grad * tilde_w, 0.0)
        grad_max = ops.maximum(grad_norm_sum_t + lr_t, ops.cast(self.alpha, dtype) * lr_t)
        new_w = -gradients_sum_t / (lr_t * grad_max) * (reward_t + lr_t)

        self.assign(variable, variable - tilde_w + new_w)
        self.assign(gradients_sum, gradients_sum_t)
        self.assign(grad_norm_sum, grad_norm_sum_t)
        self.assign(tilde_w, new_w)
        self.assign(lr, lr_t)
        self.assign(reward, reward_t)

    def get_config(self):
        config = super().get_config()
        config.pop("learning_rate")
        config.update({"alpha": self.alpha, "use_locking": self.use_locking})
        return config
