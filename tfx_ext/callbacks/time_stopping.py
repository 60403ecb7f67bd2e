"""Stop training after a wall-clock budget.

Replaces `tfa.callbacks.TimeStopping`. Keras 3 core has no time budget
callback (`EarlyStopping` watches a metric, not the clock).
"""

import datetime
import time

import keras

from tfx_ext._core.arguments import check_int, check_number


@keras.saving.register_keras_serializable(package="tfx_ext")
class TimeStopping(keras.callbacks.Callback):
    """Stops `fit` once `seconds` of training have elapsed.

    The clock is checked after every batch, so training stops within one
    batch of the budget (TFA's version only checked at epoch ends, and could
    overrun by a whole epoch). `stopped_epoch` tells where it stopped.

    Args:
        seconds: Time budget in seconds, a number >= 0. Defaults to one day.
        verbose: `1` prints TFA's line when the budget stopped training:
            "Timed stopping at epoch 3 after training for 0:10:00".

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

    def on_train_end(self, logs=None):
        if self.stopped_epoch is not None and self.verbose > 0:
            budget = datetime.timedelta(seconds=self.seconds)
            print(f"Timed stopping at epoch {self.stopped_epoch + 1} after training for {budget}")

    def get_config(self):
        return {"seconds": self.seconds, "verbose": self.verbose}

    @classmethod
    def from_config(cls, config):
        return cls(**config)
