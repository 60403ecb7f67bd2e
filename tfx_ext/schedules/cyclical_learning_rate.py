"""Cyclical learning rates (Smith, 2015), as TFA's `CyclicalLearningRate` family.

`tfa.optimizers.CyclicalLearningRate`, `TriangularCyclicalLearningRate`,
`Triangular2CyclicalLearningRate` and `ExponentialCyclicalLearningRate` →
`tfx_ext.schedules.*` with the same arguments. The subclasses are the paper's
three fixed policies of the one schedule, so they share this module.
"""

import math

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_number, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class CyclicalLearningRate(keras.optimizers.schedules.LearningRateSchedule):
    """A learning rate that cycles between two bounds, scaled by `scale_fn`.

    Smith, [Cyclical Learning Rates for Training Neural
    Networks](https://arxiv.org/abs/1506.01186). With
    `cycle = floor(1 + step / (2 step_size))` and
    `x = |step / step_size - 2 cycle + 1|`, the rate is
    `initial + (maximal - initial) * max(0, 1 - x) * scale_fn(t)` where `t` is
    `cycle` (`scale_mode="cycle"`) or `step` (`"iterations"`).

    Args:
        initial_learning_rate: Lower bound of the cycle, a number >= 0.
        maximal_learning_rate: Upper bound of the cycle, a number >= 0.
        step_size: Steps from the lower to the upper bound (half a cycle),
            a number > 0.
        scale_fn: A callable of one tensor argument giving the amplitude
            scale. For `.keras` saving, register it with
            `@keras.saving.register_keras_serializable()`.
        scale_mode: `"cycle"` or `"iterations"`: what `scale_fn` receives.
        name: Name of the schedule.

    Example:

    >>> schedule = CyclicalLearningRate(1e-4, 1e-2, step_size=2000,
    ...                                 scale_fn=lambda x: 1.0)
    >>> optimizer = keras.optimizers.SGD(learning_rate=schedule)
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        scale_fn,
        scale_mode="cycle",
        name="CyclicalLearningRate",
    ):
        super().__init__()
        self.initial_learning_rate = check_number(
            "initial_learning_rate", initial_learning_rate, low=0.0
        )
        self.maximal_learning_rate = check_number(
            "maximal_learning_rate", maximal_learning_rate, low=0.0
        )
        self.step_size = check_number("step_size", step_size, low=0.0, low_open=True)
        if isinstance(scale_fn, dict):
            scale_fn = keras.saving.deserialize_keras_object(scale_fn)
        if not callable(scale_fn):
            raise invalid("scale_fn", "a callable of one argument", scale_fn, TypeError)
        self.scale_fn = scale_fn
        self.scale_mode = check_choice("scale_mode", scale_mode, ("cycle", "iterations"))
        self.name = name

    def __call__(self, step):
        dtype = keras.backend.floatx()
        step = ops.cast(step, dtype)
        initial = ops.cast(self.initial_learning_rate, dtype)
        maximal = ops.cast(self.maximal_learning_rate, dtype)
        step_size = ops.cast(self.step_size, dtype)
        cycle = ops.floor(1.0 + step / (2.0 * step_size))
        # 1 - x with x = |step / step_size - 2 cycle + 1|, as one division of
        # exact differences: the direct form loses ~1e-6 to cancellation.
        offset = ops.abs(step - (2.0 * cycle - 1.0) * step_size)
        rise = ops.maximum(0.0, (step_size - offset) / step_size)
        mode_step = cycle if self.scale_mode == "cycle" else step
        scale = ops.cast(self.scale_fn(mode_step), dtype)
        return initial + (maximal - initial) * rise * scale

    def get_config(self):
        # The callable itself, as TFA: Keras serializes it when saving
        # (a registered function), and `from_config` takes either form.
        return {
            "initial_learning_rate": self.initial_learning_rate,
            "maximal_learning_rate": self.maximal_learning_rate,
            "step_size": self.step_size,
            "scale_fn": self.scale_fn,
            "scale_mode": self.scale_mode,
            "name": self.name,
        }


class _FixedPolicy(CyclicalLearningRate):
    """A policy whose scale function is a method (nothing to serialize)."""

    # The policies with no argument of their own take this constructor; the
    # default name is the class's, as TFA's per-class defaults.
    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        scale_mode="cycle",
        name=None,
    ):
        super().__init__(
            initial_learning_rate,
            maximal_learning_rate,
            step_size,
            scale_fn=self._scale,
            scale_mode=scale_mode,
            name=type(self).__name__ if name is None else name,
        )

    def _scale(self, x):
        raise NotImplementedError

    def get_config(self):
        config = super().get_config()
        del config["scale_fn"]
        return config


@keras.saving.register_keras_serializable(package="tfx_ext")
class TriangularCyclicalLearningRate(_FixedPolicy):
    """The "triangular" policy: every cycle spans the full range (scale 1).

    Args:
        initial_learning_rate: Lower bound, a number >= 0.
        maximal_learning_rate: Upper bound, a number >= 0.
        step_size: Half a cycle, in steps, > 0.
        scale_mode: `"cycle"` or `"iterations"` (no effect with scale 1).
        name: Name of the schedule. Defaults to the class name.

    Example:

    >>> schedule = TriangularCyclicalLearningRate(1e-4, 1e-2, step_size=2000)
    """

    def _scale(self, x):
        return ops.ones_like(x)


@keras.saving.register_keras_serializable(package="tfx_ext")
class Triangular2CyclicalLearningRate(_FixedPolicy):
    """The "triangular2" policy: the amplitude halves every cycle, `1 / 2**(x - 1)`.

    Args:
        initial_learning_rate: Lower bound, a number >= 0.
        maximal_learning_rate: Upper bound of the first cycle, a number >= 0.
        step_size: Half a cycle, in steps, > 0.
        scale_mode: `"cycle"` (the paper) or `"iterations"`.
        name: Name of the schedule. Defaults to the class name.

    Example:

    >>> schedule = Triangular2CyclicalLearningRate(1e-4, 1e-2, step_size=2000)
    """

    def _scale(self, x):
        return 1.0 / ops.power(2.0, x - 1.0)


@keras.saving.register_keras_serializable(package="tfx_ext")
class ExponentialCyclicalLearningRate(_FixedPolicy):
    """The "exp_range" policy: the amplitude decays as `gamma**t`.

    Args:
        initial_learning_rate: Lower bound, a number >= 0.
        maximal_learning_rate: Upper bound at step 0, a number >= 0.
        step_size: Half a cycle, in steps, > 0.
        scale_mode: `"iterations"` (the paper, TFA's default) or `"cycle"`.
        gamma: Decay base, a number > 0. Defaults to 1 (no decay).
        name: Name of the schedule.

    Example:

    >>> schedule = ExponentialCyclicalLearningRate(1e-4, 1e-2, 2000, gamma=0.96)
    """

    def __init__(
        self,
        initial_learning_rate,
        maximal_learning_rate,
        step_size,
        scale_mode="iterations",
        gamma=1.0,
        name="ExponentialCyclicalLearningRate",
    ):
        self.gamma = check_number("gamma", gamma, low=0.0, low_open=True)
        super().__init__(
            initial_learning_rate,
            maximal_learning_rate,
            step_size,
            scale_mode=scale_mode,
            name=name,
        )

    def _scale(self, x):
        # exp(x log gamma) with log gamma from Python's float64: float32's
        # `power` is ~30 ulps off at these exponents.
        return ops.exp(x * math.log(self.gamma))

    def get_config(self):
        return {**super().get_config(), "gamma": self.gamma}
