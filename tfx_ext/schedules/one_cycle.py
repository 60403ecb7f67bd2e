"""The 1cycle learning-rate policy as a `LearningRateSchedule`.

Keras 3 core has cosine/polynomial/piecewise schedules but no 1cycle; TFA had
`CyclicalLearningRate`, which cycles forever instead of annealing at the end.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, check_number, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """1cycle policy (Smith, 2018), as in "Hands-On ML" ch. 11.

    Three linear phases over `total_steps` optimizer steps:

    1. warm-up from `start_rate` to `max_rate` over the first half of the
       cycle,
    2. back down to `start_rate` over the second half,
    3. annealing from `start_rate` to `last_rate` over the last
       `annealing_steps` steps; the rate then stays at `last_rate`.

    The cycle takes `total_steps - annealing_steps` steps, split in two halves
    of `(total_steps - annealing_steps) // 2`.

    Args:
        total_steps: Number of optimizer steps of the whole run (epochs times
            steps per epoch), an integer >= 2.
        max_rate: Peak learning rate, a float > 0 (about a tenth of the rate
            where the loss explodes in `LearningRateFinder`).
        start_rate: Rate at the start and end of the cycle. Defaults to
            `max_rate / 10`.
        last_rate: Final rate. Defaults to `start_rate / 1000`.
        annealing_steps: Length of the annealing phase. Defaults to
            `total_steps // 10 + 1` (the book's choice), at most
            `total_steps - 2`.
        name: Optional name of the schedule.

    Example:

    >>> steps = epochs * math.ceil(len(x_train) / batch_size)
    >>> optimizer = keras.optimizers.SGD(OneCycle(steps, max_rate=0.05))
    """

    def __init__(
        self,
        total_steps,
        max_rate,
        start_rate=None,
        last_rate=None,
        annealing_steps=None,
        name="one_cycle",
    ):
        self.total_steps = check_int("total_steps", total_steps, minimum=2)
        self.max_rate = check_number("max_rate", max_rate, low=0.0, low_open=True)
        if start_rate is None:
            start_rate = self.max_rate / 10
        self.start_rate = check_number("start_rate", start_rate, 0.0, self.max_rate)
        if last_rate is None:
            last_rate = self.start_rate / 1000
        self.last_rate = check_number("last_rate", last_rate, 0.0, self.start_rate)
        if annealing_steps is None:
            annealing_steps = min(self.total_steps // 10 + 1, self.total_steps - 2)
        annealing_steps = check_int("annealing_steps", annealing_steps, minimum=0)
        if self.total_steps - annealing_steps < 2:
            raise invalid(
                "annealing_steps",
                f"an integer that leaves at least 2 of the {self.total_steps} steps to the cycle",
                annealing_steps,
            )
        self.annealing_steps = annealing_steps
        self.name = name
        self._half = (self.total_steps - annealing_steps) // 2

    def __call__(self, step):
        step = ops.cast(step, "float32")
        half = float(self._half)
        cycle_end = 2.0 * half
        up = self.start_rate + (self.max_rate - self.start_rate) * step / half
        down = self.max_rate + (self.start_rate - self.max_rate) * (step - half) / half
        anneal_span = max(float(self.total_steps) - cycle_end, 1.0)
        progress = ops.minimum((step - cycle_end) / anneal_span, 1.0)
        # With no annealing phase (span 0) the rate is last_rate from total_steps on.
        progress = ops.where(step >= float(self.total_steps), 1.0, progress)
        anneal = self.start_rate + (self.last_rate - self.start_rate) * progress
        return ops.where(step < half, up, ops.where(step < cycle_end, down, anneal))

    def get_config(self):
        return {
            "total_steps": self.total_steps,
            "max_rate": self.max_rate,
            "start_rate": self.start_rate,
            "last_rate": self.last_rate,
            "annealing_steps": self.annealing_steps,
            "name": self.name,
        }
