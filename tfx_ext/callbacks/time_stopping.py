"""Stop training after a wall-clock budget.

Replaces `tfa.callbacks.TimeStopping`. Keras 3 core has no time budget
callback (`EarlyStopping` watches a metric, not the clock).
"""

import time

import keras

from tfx_ext.arguments import check_int, check_number


@keras.saving.register_keras_serializable(package="tfx_ext")
class TimeStopping(keras.callbacks.Callback):
    """Stops `fit` once `seconds` of training have elapsed.

    The clock is checked after every batch, so training stops within one
    batch of the budget (TFA's version only checked at epoch ends, and could
    overrun by a whole epoch). `stopped_epoch` tells where it stopped.

    Args:
        seconds: Time budget in seconds, a number >= 0. Defaults to one day.
        verbose: `1` prints a line when the budget stops training.

    Example:

    >>> model.fit(x, y, epochs=1000, callbacks=[TimeStopping(seconds=600)])
    """

    def __init__(self, seconds=86400, verbose=0):
        super().__init__()
        self.seconds = check_number("seconds", seconds, low=0.0)
        self.verbose = check_int("verbose", verbose, minimum=0)
        self.stopped_epoch = None
        self._epoch = 0
        self._deadline = None

    def on_train_begin(self, logs=None):
        self._deadline = time.monotonic() + self.seconds
        self.stopped_epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.stopped_epoch is None and time.monotonic() >= self._deadline:
            self.stopped_epoch = self._epoch
            self.model.stop_training = True
            if self.verbose:
                print(f"TimeStopping: {self.seconds:g} s budget spent, stopping in epoch {self._epoch + 1}.")

    def get_config(self):
        return {"seconds": self.seconds, "verbose": self.verbose}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
