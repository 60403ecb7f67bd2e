"""Pruning schedules, with the meaning of tfmot's `ConstantSparsity` and `PolynomialDecay`.

A schedule is called with the pruning step, a Python integer or an integer
tensor (inside the wrapper's training step), and returns
`(should_prune, sparsity)`. Both are computed with `keras.ops` in float32 as
tfmot does, so the values match tfmot's bit for bit; called with a Python
integer, a schedule returns a Python `bool` and `float`.
"""

import numbers

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import check_int, check_number, invalid


class PruningSchedule:
    """Base class: `schedule(step)` returns `(should_prune, sparsity)` for a step.

    Pruning happens at steps in `[begin_step, end_step]` (`end_step=-1`: no
    end) that are multiples of `frequency` after `begin_step`. Subclass it and
    implement `sparsity_at(step)` and `get_config()` for a custom schedule.
    `sparsity_at` receives an integer tensor when it runs in the training
    step: write it with `keras.ops`.
    """

    def __init__(self, begin_step, end_step, frequency, allow_no_end):
        self.begin_step = check_int("begin_step", begin_step, minimum=0)
        self.end_step = check_int("end_step", end_step, minimum=-1)
        if self.end_step == -1 and not allow_no_end:
            raise invalid(
                "end_step", "an integer >= begin_step (this schedule needs an end)", end_step
            )
        if self.end_step != -1 and self.end_step < self.begin_step:
            raise invalid("end_step", f"-1 or an integer >= begin_step={self.begin_step}", end_step)
        self.frequency = check_int("frequency", frequency, minimum=1)

    def should_prune(self, step):
        """Whether masks are recomputed at `step` (a boolean tensor)."""
        step = ops.convert_to_tensor(step, "int32")
        in_range = ops.greater_equal(step, self.begin_step)
        if self.end_step != -1:
            in_range = ops.logical_and(in_range, ops.less_equal(step, self.end_step))
        on_turn = ops.equal(ops.mod(step - self.begin_step, self.frequency), 0)
        return ops.logical_and(in_range, on_turn)

    def __call__(self, step):
        if isinstance(step, (numbers.Integral, np.integer)):
            step = int(step)
            in_range = step >= self.begin_step and (self.end_step == -1 or step <= self.end_step)
            should_prune = in_range and (step - self.begin_step) % self.frequency == 0
            return should_prune, float(ops.convert_to_numpy(self.sparsity_at(step)))
        return self.should_prune(step), ops.cast(self.sparsity_at(step), "float32")

    def sparsity_at(self, step):
        raise NotImplementedError

    @classmethod
    def from_config(cls, config):
        return cls(**config)


def _check_sparsity(name, value):
    return check_number(name, value, 0.0, 1.0, high_open=True)


@keras.saving.register_keras_serializable(package="tfx_ext")
class ConstantSparsity(PruningSchedule):
    """Prunes to `target_sparsity` every `frequency` steps from `begin_step` to `end_step`.

    Args:
        target_sparsity: Fraction of weights to zero, in `[0, 1)`.
        begin_step: First step at which to prune.
        end_step: Last step at which to prune; `-1` (default) for no end.
        frequency: Prune every `frequency` steps. Defaults to `100`.

    Example:

    >>> schedule = ConstantSparsity(0.8, begin_step=0, frequency=50)
    >>> schedule(100)
    (True, 0.800000011920929)
    """

    def __init__(self, target_sparsity, begin_step, end_step=-1, frequency=100):
        super().__init__(begin_step, end_step, frequency, allow_no_end=True)
        self.target_sparsity = _check_sparsity("target_sparsity", target_sparsity)

    def sparsity_at(self, step):
        if isinstance(step, numbers.Integral):
            return np.float32(self.target_sparsity)
        return ops.convert_to_tensor(self.target_sparsity, "float32")

    def get_config(self):
        return {
            "target_sparsity": self.target_sparsity,
            "begin_step": self.begin_step,
            "end_step": self.end_step,
            "frequency": self.frequency,
        }


@keras.saving.register_keras_serializable(package="tfx_ext")
class PolynomialDecay(PruningSchedule):
    """Sparsity rising from `initial_sparsity` to `final_sparsity` on a polynomial curve.

    `s(t) = final + (initial - final) * (1 - p) ** power` with
    `p = clip((t - begin_step) / (end_step - begin_step), 0, 1)` (Zhu & Gupta,
    2017): fast at first, gently at the end, when fewer weights remain. With
    `begin_step == end_step` the single pruning step goes straight to
    `final_sparsity` (tfmot divides by zero there).

    Args:
        initial_sparsity: Sparsity at `begin_step`, in `[0, 1)`.
        final_sparsity: Sparsity from `end_step` on, in `[initial_sparsity, 1)`.
        begin_step: First step at which to prune.
        end_step: Step at which `final_sparsity` is reached (>= begin_step).
        power: Exponent of the curve, a number > 0. Defaults to `3`.
        frequency: Prune every `frequency` steps. Defaults to `100`.

    Example:

    >>> schedule = PolynomialDecay(0.0, 0.8, begin_step=0, end_step=1000, frequency=50)
    """

    def __init__(
        self, initial_sparsity, final_sparsity, begin_step, end_step, power=3, frequency=100
    ):
        super().__init__(begin_step, end_step, frequency, allow_no_end=False)
        self.initial_sparsity = _check_sparsity("initial_sparsity", initial_sparsity)
        self.final_sparsity = _check_sparsity("final_sparsity", final_sparsity)
        if self.final_sparsity < self.initial_sparsity:
            # Masks never grow back: a falling target could not be followed.
            raise invalid(
                "final_sparsity",
                f"a sparsity >= initial_sparsity={self.initial_sparsity} (pruned weights do not grow back)",
                final_sparsity,
            )
        self.power = check_number("power", power, low=0.0, low_open=True)

    def sparsity_at(self, step):
        # The same float32 operations, in the same order, as tfmot: in NumPy
        # for a Python step, in keras.ops for a tensor (the training step).
        if isinstance(step, numbers.Integral):
            xp, f32 = np, np.float32
            elapsed = f32(step - self.begin_step)
        else:
            xp, f32 = ops, lambda v: ops.convert_to_tensor(v, "float32")
            elapsed = ops.cast(ops.convert_to_tensor(step, "int32") - self.begin_step, "float32")
        if self.end_step == self.begin_step:
            p = xp.where(elapsed >= 0, f32(1.0), f32(0.0))
        else:
            p = xp.minimum(
                f32(1.0), xp.maximum(f32(0.0), elapsed / f32(self.end_step - self.begin_step))
            )
        span = f32(self.initial_sparsity - self.final_sparsity)
        return span * xp.power(f32(1.0) - p, f32(self.power)) + f32(self.final_sparsity)

    def get_config(self):
        return {
            "initial_sparsity": self.initial_sparsity,
            "final_sparsity": self.final_sparsity,
            "begin_step": self.begin_step,
            "end_step": self.end_step,
            "power": self.power,
            "frequency": self.frequency,
        }
