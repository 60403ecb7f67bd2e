"""Learning-rate range test ("Hands-On ML" ch. 11).

Keras 3 core has no rate finder (nor had TFA).
"""

import math

import keras
import numpy as np

from tfx_ext._core.arguments import check_int, check_number, invalid
from tfx_ext._core.plotting import new_axes, save
from tfx_ext._core.private_api import learning_rate_setting


@keras.saving.register_keras_serializable(package="tfx_ext")
class LearningRateFinder(keras.callbacks.Callback):
    """Grows the learning rate exponentially over a run and records the loss.

    Run `fit` for one epoch with this callback: the rate goes from `min_rate`
    to `max_rate` over `num_steps` batches (by default the epoch's steps), and
    each batch's own loss is recorded (not Keras's running mean). Training
    stops early once the smoothed loss exceeds `stop_factor` times its best.
    Afterwards the model's weights, the optimizer's state and its rate are
    restored, so real training starts from where it was.

    With `steps_per_execution > 1`, Keras calls batch hooks once per group of
    batches: each recorded point is then a group, run at one rate.

    `suggested_rate` is ten times lower than the rate at the lowest smoothed
    loss (the book's rule: a bit below where the loss turns up).

    Args:
        min_rate: First rate, a float > 0. Defaults to `1e-6`.
        max_rate: Last rate, a float > `min_rate`. Defaults to `1.0`.
        num_steps: Number of batches of the sweep; defaults to the steps of
            one epoch.
        stop_factor: Stop when the smoothed loss exceeds this multiple of the
            best one, a float > 1. Defaults to `4.0`.
        smoothing: Exponential smoothing of the loss, in `[0, 1)`. Defaults to
            `0.9`.
        restore: Whether to restore weights, optimizer state and rate at the
            end. Defaults to `True`.

    Attributes:
        rates, losses: The rate used and the loss of each batch.
        smoothed_losses: The bias-corrected smoothed losses.

    Example:

    >>> finder = LearningRateFinder(min_rate=1e-5, max_rate=10)
    >>> model.fit(x, y, epochs=1, callbacks=[finder])
    >>> finder.suggested_rate
    >>> finder.plot("lr_finder.png")
    """

    def __init__(
        self,
        min_rate=1e-6,
        max_rate=1.0,
        num_steps=None,
        stop_factor=4.0,
        smoothing=0.9,
        restore=True,
    ):
        super().__init__()
        self.min_rate = check_number("min_rate", min_rate, low=0.0, low_open=True)
        self.max_rate = check_number("max_rate", max_rate, low=self.min_rate, low_open=True)
        self.num_steps = None if num_steps is None else check_int("num_steps", num_steps, minimum=2)
        self.stop_factor = check_number("stop_factor", stop_factor, low=1.0, low_open=True)
        self.smoothing = check_number("smoothing", smoothing, 0.0, 1.0, high_open=True)
        self.restore = bool(restore)
        self.rates, self.losses, self.smoothed_losses = [], [], []

    def rate_at(self, step):
        """The rate the sweep uses at batch `step`."""
        return self.min_rate * (self.max_rate / self.min_rate) ** (step / (self._steps - 1))

    def on_train_begin(self, logs=None):
        optimizer = self.model.optimizer
        if isinstance(
            learning_rate_setting(optimizer), keras.optimizers.schedules.LearningRateSchedule
        ):
            raise ValueError(
                "LearningRateFinder sets the learning rate itself: compile the "
                "model with a constant learning rate, not a "
                f"{type(learning_rate_setting(optimizer)).__name__} schedule."
            )
        self._steps = self.num_steps or (self.params or {}).get("steps")
        if not self._steps or self._steps < 2:
            raise invalid(
                "num_steps", "an integer >= 2 (the data has no known length)", self.num_steps
            )
        self.rates, self.losses, self.smoothed_losses = [], [], []
        self._best = math.inf
        self._average = 0.0
        self._loss_tracker = next((m for m in self.model.metrics if m.name == "loss"), None)
        self._previous = (0.0, 0.0)
        if self.restore:
            self._initial_rate = float(keras.ops.convert_to_numpy(optimizer.learning_rate))
            self._initial_weights = [np.array(v) for v in self.model.weights]
            self._initial_optimizer = {id(v): np.array(v) for v in optimizer.variables}

    def _batch_loss(self, logs):
        """The loss of the last batch alone, from the loss tracker's sums."""
        tracker = self._loss_tracker
        if tracker is None or not hasattr(tracker, "total"):
            return float(logs["loss"])
        total, count = float(tracker.total.numpy()), float(tracker.count.numpy())
        previous_total, previous_count = self._previous
        if count < previous_count:  # the tracker was reset (new epoch)
            previous_total, previous_count = 0.0, 0.0
        self._previous = (total, count)
        if count == previous_count:
            return float(logs["loss"])
        return (total - previous_total) / (count - previous_count)

    def _sync_state(self):
        # On JAX, `fit` keeps the variables in its own state between epochs;
        # this writes them back to the model (and makes the next step read
        # them) so that the rate set here and the loss totals read here are
        # the trainer's.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()

    def on_train_batch_begin(self, batch, logs=None):
        self._sync_state()
        self.model.optimizer.learning_rate = self.rate_at(len(self.rates))

    def on_train_batch_end(self, batch, logs=None):
        self._sync_state()
        loss = self._batch_loss(logs or {})
        step = len(self.rates)
        self.rates.append(self.rate_at(step))
        self.losses.append(loss)
        self._average = self.smoothing * self._average + (1 - self.smoothing) * loss
        smoothed = self._average / (1 - self.smoothing ** (step + 1))
        self.smoothed_losses.append(smoothed)
        self._best = min(self._best, smoothed)
        if (
            step + 1 >= self._steps
            or not math.isfinite(loss)
            or smoothed > self.stop_factor * self._best
        ):
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if not self.restore:
            return
        for variable, value in zip(self.model.weights, self._initial_weights):
            variable.assign(value)
        optimizer = self.model.optimizer
        for variable in optimizer.variables:
            initial = self._initial_optimizer.get(id(variable))
            variable.assign(
                initial if initial is not None else np.zeros(variable.shape, variable.dtype)
            )
        optimizer.learning_rate = self._initial_rate

    @property
    def suggested_rate(self):
        """A tenth of the rate at the lowest smoothed loss (None before a run)."""
        finite = [(l, r) for l, r in zip(self.smoothed_losses, self.rates) if math.isfinite(l)]
        if not finite:
            return None
        return min(finite)[1] / 10

    def plot(self, path=None, ax=None):
        """Plots loss against rate (log scale), marking the suggestion.

        Needs matplotlib (`pip install tfx_ext[plot]`). Saves to `path` when
        given; returns the matplotlib `Axes`.
        """
        if ax is None:
            ax = new_axes((6, 4), "LearningRateFinder.plot")
        ax.plot(self.rates, self.losses, alpha=0.3, label="batch loss")
        ax.plot(self.rates, self.smoothed_losses, label="smoothed loss")
        if self.suggested_rate is not None:
            ax.axvline(
                self.suggested_rate,
                color="k",
                linestyle="--",
                label=f"suggested {self.suggested_rate:.2g}",
            )
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        ax.legend()
        save(ax, path)
        return ax

    def get_config(self):
        return {
            "min_rate": self.min_rate,
            "max_rate": self.max_rate,
            "num_steps": self.num_steps,
            "stop_factor": self.stop_factor,
            "smoothing": self.smoothing,
            "restore": self.restore,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
