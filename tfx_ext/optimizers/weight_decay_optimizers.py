"""Decoupled weight decay as TFA applied it: `w -= weight_decay * w`, then the step.

`tfa.optimizers.SGDW`, `AdamW`, `DecoupledWeightDecayExtension` and
`extend_with_decoupled_weight_decay` → `tfx_ext.optimizers.*`, same arguments.

Keras 3's own `weight_decay=` argument (and `keras.optimizers.AdamW`) decays
by `learning_rate * weight_decay * w`: the same idea, scaled by the learning
rate. TFA's decay is not scaled (Loshchilov & Hutter's formulation with the
schedule multiplier left to the user), so with a constant rate
`tfa.optimizers.AdamW(weight_decay=wd, learning_rate=lr)` equals
`keras.optimizers.AdamW(weight_decay=wd / lr, learning_rate=lr)`, and with a
schedule it equals no Keras setting. `tfx_ext.optimizers.AdamW` keeps TFA's
meaning, so a TFA program gets TFA's results.
"""

import re

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.optimizers.sparse_gradients import (
    densify,
    gather_rows,
    is_sparse,
    only_touched,
    row_update,
    unique_rows,
)
from tfx_ext.optimizers.tfa_arguments import (
    learning_rate_argument,
    schedule_or_number,
    serialize_hyperparameter,
)


def _weight_decay_argument(value):
    if callable(value) and not isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value  # TFA's `wd = lambda: 1e-4 * schedule(step)`
    if getattr(value, "shape", None) == () and hasattr(value, "dtype"):
        value = float(keras.ops.convert_to_numpy(value))
    return schedule_or_number("weight_decay", value)


def _patterns_argument(value):
    expected = "None or a list of regular expressions (strings)"
    if value is None:
        return None
    if isinstance(value, str) or not all(isinstance(p, str) for p in value):
        raise invalid("exclude_from_weight_decay", expected, value, TypeError)
    patterns = list(value)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error:
            raise invalid("exclude_from_weight_decay", expected, value) from None
    return patterns


@keras.saving.register_keras_serializable(package="tfx_ext")
class DecoupledWeightDecayExtension:
    """Adds TFA's decoupled weight decay to a Keras optimizer class.

    Loshchilov & Hutter, [Decoupled Weight Decay
    Regularization](https://arxiv.org/abs/1711.05101). Before the base
    optimizer's step each decayed variable becomes `w - weight_decay * w`
    (on the rows a sparse gradient touches, for an embedding), as in TFA:
    the decay is *not* multiplied by the learning rate, so decay a schedule's
    rate yourself (`weight_decay` may be a schedule or a callable). Keras's
    own `weight_decay` argument of the base class is not used.

    Must come first among the bases:
    `class MyAdamW(DecoupledWeightDecayExtension, keras.optimizers.Adam)`,
    or use `extend_with_decoupled_weight_decay(keras.optimizers.Adam)`.

    Args:
        weight_decay: A number >= 0, a `LearningRateSchedule` (a function of
            the step), or a callable returning the decay.
        exclude_from_weight_decay: Regular expressions; a variable whose
            path (`"dense/bias"`) matches one is not decayed.
        **kwargs: The base optimizer's arguments.

    `apply_gradients(grads_and_vars, decay_var_list=...)` decays only the
    variables listed (this takes priority over `exclude_from_weight_decay`).
    """

    def __init__(self, weight_decay, exclude_from_weight_decay=None, **kwargs):
        weight_decay = _weight_decay_argument(kwargs.pop("weight_decay", weight_decay))
        patterns = _patterns_argument(exclude_from_weight_decay)
        # Keras's (learning-rate-scaled) decay stays off: ours replaces it.
        super().__init__(weight_decay=None, **kwargs)
        self.weight_decay = weight_decay
        self._exclude_patterns = patterns
        self._decay_var_keys = None

    @property
    def exclude_from_weight_decay_patterns(self):
        """The `exclude_from_weight_decay` regular expressions (or None)."""
        return self._exclude_patterns

    def apply_gradients(self, grads_and_vars, decay_var_list=None):
        """Applies the gradients; `decay_var_list` limits the decay to those variables."""
        if decay_var_list:
            self._decay_var_keys = {self._var_key(v) for v in decay_var_list}
        else:
            self._decay_var_keys = None
        return super().apply_gradients(grads_and_vars)

    def _apply_weight_decay(self, variables):
        # Applied in `update_step`, before the base step, as TFA does.
        return

    def _decays(self, variable):
        if self._decay_var_keys is not None:
            return self._var_key(variable) in self._decay_var_keys
        if not self._use_weight_decay(variable):  # Keras's exclude_from_weight_decay()
            return False
        if self._exclude_patterns:
            # TFA searched `dense/kernel:0`: the name of the tf.Variable that
            # Keras hands over on TensorFlow; elsewhere the Keras path.
            name = getattr(variable, "path", None) or variable.name
            return not any(re.search(p, name) for p in self._exclude_patterns)
        return True

    def _weight_decay_value(self):
        decay = self.weight_decay
        if isinstance(decay, keras.optimizers.schedules.LearningRateSchedule):
            return decay(self.iterations)
        return decay() if callable(decay) else decay

    def update_step(self, gradient, variable, learning_rate):
        sparse = is_sparse(gradient)
        if sparse:
            # Repeated rows summed first, as Keras 2 did for TFA: Keras 3's
            # own steps would square each repeat separately (Adam's `g²`).
            values, indices = unique_rows(gradient, gradient.values.dtype)
            gradient = row_update(values, indices, variable)
        if self._decays(variable):
            decay = ops.cast(self._weight_decay_value(), variable.dtype)
            if sparse:
                rows = decay * gather_rows(variable, indices)
                self.assign_sub(variable, row_update(rows, indices, variable))
            else:
                self.assign_sub(variable, decay * variable)
        return super().update_step(gradient, variable, learning_rate)

    def get_config(self):
        config = super().get_config()
        decay = self.weight_decay
        if callable(decay) and not isinstance(
            decay, keras.optimizers.schedules.LearningRateSchedule
        ):
            decay = float(keras.ops.convert_to_numpy(decay()))  # TFA saved a callable's value
        config.update(
            {
                "weight_decay": serialize_hyperparameter(decay),
                "exclude_from_weight_decay": self._exclude_patterns,
            }
        )
        return config


_EXTENDED = {}


def extend_with_decoupled_weight_decay(base_optimizer):
    """Returns `base_optimizer`'s class with TFA's decoupled weight decay.

    The new class takes `weight_decay` as its first argument, then
    `base_optimizer`'s arguments, and `exclude_from_weight_decay`. Calling
    this twice with the same class returns the same class, registered as
    `tfx_ext>{Base}WithDecoupledWeightDecay`; a `.keras` file saved with it
    loads in a program that has called this function for that class first.

    Args:
        base_optimizer: A `keras.optimizers.Optimizer` subclass (not an instance).

    Example:

    >>> MyAdamW = extend_with_decoupled_weight_decay(keras.optimizers.Adam)
    >>> optimizer = MyAdamW(weight_decay=1e-4, learning_rate=1e-3)
    """
    if not (
        isinstance(base_optimizer, type) and issubclass(base_optimizer, keras.optimizers.Optimizer)
    ):
        raise invalid(
            "base_optimizer", "a keras.optimizers.Optimizer subclass", base_optimizer, TypeError
        )
    if issubclass(base_optimizer, DecoupledWeightDecayExtension):
        raise invalid(
            "base_optimizer",
            "an optimizer class without decoupled weight decay already",
            base_optimizer,
        )
    if base_optimizer not in _EXTENDED:
        name = f"{base_optimizer.__name__}WithDecoupledWeightDecay"

        def __init__(self, weight_decay, *args, **kwargs):
            DecoupledWeightDecayExtension.__init__(self, weight_decay, *args, **kwargs)

        cls = type(
            name,
            (DecoupledWeightDecayExtension, base_optimizer),
            {
                "__init__": __init__,
                "__module__": __name__,
                "__doc__": f"`{base_optimizer.__name__}` with decoupled weight decay "
                "(see `DecoupledWeightDecayExtension`).",
            },
        )
        _EXTENDED[base_optimizer] = keras.saving.register_keras_serializable(
            package="tfx_ext", name=name
        )(cls)
    return _EXTENDED[base_optimizer]


@keras.saving.register_keras_serializable(package="tfx_ext")
class SGDW(DecoupledWeightDecayExtension, keras.optimizers.SGD):
    """SGD (with momentum) and TFA's decoupled weight decay.

    Args:
        weight_decay: A number >= 0, a schedule, or a callable (see
            `DecoupledWeightDecayExtension`). Required, as in TFA.
        learning_rate: Defaults to `0.001` (TFA's default).
        momentum: In [0, 1]. Defaults to `0.0`.
        nesterov: Whether to use Nesterov momentum.
        name: Defaults to `"SGDW"`.
        **kwargs: `exclude_from_weight_decay` and the Keras base
            optimizer's arguments; TFA's `lr=` alias too.

    Example:

    >>> optimizer = SGDW(weight_decay=1e-4, learning_rate=0.01, momentum=0.9)
    """

    def __init__(
        self,
        weight_decay,
        learning_rate=0.001,
        momentum=0.0,
        nesterov=False,
        name="SGDW",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        super().__init__(
            weight_decay,
            learning_rate=learning_rate,
            momentum=momentum,
            nesterov=nesterov,
            name=name,
            **kwargs,
        )


class _AdamWithSparseRows(keras.optimizers.Adam):
    """Keras's Adam, except that a sparse gradient moves only the rows it touches.

    Keras 2's Adam, under TFA's `AdamW`, decayed both moments of every row but
    updated only the touched rows of the variable; Keras 3's Adam densifies
    the gradient and moves every row whose moment is not zero (and turns
    rows with `m = v = 0` into NaN in float16, where `epsilon` underflows).
    """

    def update_step(self, gradient, variable, learning_rate):
        if not is_sparse(gradient):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        alpha = (
            ops.cast(learning_rate, dtype)
            * ops.sqrt(1.0 - ops.power(beta_2, step))
            / (1.0 - ops.power(beta_1, step))
        )
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
        step_value = alpha * m_t / (ops.sqrt(v_t) + ops.cast(self.epsilon, dtype))
        self.assign_sub(variable, only_touched(touched, step_value, ops.zeros_like(step_value)))


@keras.saving.register_keras_serializable(package="tfx_ext")
class AdamW(DecoupledWeightDecayExtension, _AdamWithSparseRows):
    """Adam and TFA's decoupled weight decay (`w -= weight_decay * w`, not scaled by the rate).

    `keras.optimizers.AdamW` scales the decay by the learning rate; see this
    module's docstring for the conversion.

    Args:
        weight_decay: A number >= 0, a schedule, or a callable (see
            `DecoupledWeightDecayExtension`). Required, as in TFA.
        learning_rate: Defaults to `0.001`.
        beta_1: Defaults to `0.9`.
        beta_2: Defaults to `0.999`.
        epsilon: Defaults to `1e-7`.
        amsgrad: Whether to use AMSGrad.
        name: Defaults to `"AdamW"`.
        **kwargs: `exclude_from_weight_decay` and the Keras base
            optimizer's arguments; TFA's `lr=` alias too.

    Example:

    >>> optimizer = AdamW(weight_decay=1e-4, learning_rate=1e-3)
    """

    def __init__(
        self,
        weight_decay,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name="AdamW",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        super().__init__(
            weight_decay,
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            **kwargs,
        )
