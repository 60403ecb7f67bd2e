import contextlib
import io
import time
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.callbacks import TimeStopping
from tfx_ext.callbacks import time_stopping as time_stopping_module

BATCHES_PER_EPOCH = 10


class FakeClock:
    """A `time` module stand-in whose clock only moves when told to."""

    def __init__(self):
        self.now = 0.0

    def monotonic(self):
        return self.now


class TimeStoppingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.x = rng.standard_normal((8 * BATCHES_PER_EPOCH, 4)).astype("float32")
        self.y = rng.standard_normal((8 * BATCHES_PER_EPOCH, 1)).astype("float32")
        self.model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
        self.model.compile(optimizer="sgd", loss="mse")

    def fit(self, stopper, epochs, on_batch_end=None):
        """Fits with `stopper`; returns the history and the (epoch, batch) pairs that ran."""
        ran, epoch = [], [None]

        def record(batch, logs):
            ran.append((epoch[0], batch))
            if on_batch_end is not None:
                on_batch_end()

        callbacks = [
            keras.callbacks.LambdaCallback(
                on_epoch_begin=lambda e, logs: epoch.__setitem__(0, e),
                on_train_batch_end=record,
            ),
            stopper,
        ]
        history = self.model.fit(
            self.x, self.y, batch_size=8, epochs=epochs, callbacks=callbacks, verbose=0
        )
        return history, ran

    def test_zero_seconds_stops_after_the_first_batch(self):
        stopper = TimeStopping(seconds=0)
        history, ran = self.fit(stopper, epochs=5)
        self.assertEqual(ran, [(0, 0)])
        self.assertLen(history.history["loss"], 1)
        self.assertEqual(stopper.stopped_epoch, 0)
        # The deadline is reset at every `fit`.
        history, ran = self.fit(stopper, epochs=5)
        self.assertEqual(ran, [(0, 0)])
        self.assertEqual(stopper.stopped_epoch, 0)

    def test_large_budget_runs_every_epoch(self):
        stopper = TimeStopping(seconds=3600)
        history, ran = self.fit(stopper, epochs=3)
        self.assertLen(history.history["loss"], 3)
        self.assertLen(ran, 3 * BATCHES_PER_EPOCH)
        self.assertIsNone(stopper.stopped_epoch)

    def test_default_budget_is_one_day(self):
        self.assertEqual(TimeStopping().seconds, 86400.0)

    def test_stops_within_one_batch_of_the_budget(self):
        # A fake clock that moves 0.25 s per batch: the 3 s budget is spent at
        # the end of the 12th batch, i.e. batch 1 of epoch 1.
        clock = FakeClock()

        def tick():
            clock.now += 0.25

        stopper = TimeStopping(seconds=3)
        with mock.patch.object(time_stopping_module, "time", clock):
            history, ran = self.fit(stopper, epochs=5, on_batch_end=tick)
        self.assertLen(ran, 12)
        self.assertEqual(ran[-1], (1, 1))
        self.assertEqual(stopper.stopped_epoch, 1)
        self.assertLen(history.history["loss"], 2)

    def test_stops_on_a_real_clock(self):
        # Each batch sleeps 0.05 s, so the 0.4 s budget is spent after 8 batches
        # at the latest (sooner if the batches themselves take time).
        times = {"ends": [], "checked": []}

        def begin_before(logs):
            times["begin_before"] = time.monotonic()

        def end_before(batch, logs):
            time.sleep(0.05)
            times["ends"].append(time.monotonic())

        before = keras.callbacks.LambdaCallback(
            on_train_begin=begin_before, on_train_batch_end=end_before
        )
        after = keras.callbacks.LambdaCallback(
            on_train_begin=lambda logs: times.__setitem__("begin_after", time.monotonic()),
            on_train_batch_end=lambda batch, logs: times["checked"].append(time.monotonic()),
        )
        stopper = TimeStopping(seconds=0.4)
        history = self.model.fit(
            self.x, self.y, batch_size=8, epochs=5, callbacks=[before, stopper, after], verbose=0
        )
        n = len(times["ends"])
        self.assertBetween(n, 1, 8)
        self.assertEqual(stopper.stopped_epoch, 0)
        self.assertLen(history.history["loss"], 1)
        # Stopped once the budget was spent ...
        self.assertGreaterEqual(times["checked"][-1] - times["begin_before"], 0.4)
        # ... and not a batch later: the previous batch ended within the budget.
        if n > 1:
            self.assertLess(times["ends"][-2] - times["begin_after"], 0.4)

    def test_verbose_reports_the_stop(self):
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            self.fit(TimeStopping(seconds=0, verbose=1), epochs=2)
        self.assertRegex(output.getvalue(), r"TimeStopping: 0 s budget spent, stopping in epoch 1\.")
        output = io.StringIO()
        with contextlib.redirect_stdout(output):
            self.fit(TimeStopping(seconds=0), epochs=2)
        self.assertNotIn("TimeStopping", output.getvalue())

    @rejects_bad_input(TimeStopping)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `seconds`.*>= 0.*Received: seconds=-1"):
            TimeStopping(seconds=-1)
        with self.assertRaisesRegex(ValueError, r"argument `seconds`.*Received: seconds=nan"):
            TimeStopping(seconds=float("nan"))
        with self.assertRaisesRegex(TypeError, r"argument `seconds`.*Received: seconds='60'"):
            TimeStopping(seconds="60")
        with self.assertRaisesRegex(TypeError, r"argument `seconds`.*Received: seconds=None"):
            TimeStopping(seconds=None)
        with self.assertRaisesRegex(ValueError, r"argument `verbose`.*>= 0.*Received: verbose=-1"):
            TimeStopping(verbose=-1)
        with self.assertRaisesRegex(TypeError, r"argument `verbose`.*Received: verbose=0\.5"):
            TimeStopping(verbose=0.5)

    def test_serialization(self):
        clone = assert_config_round_trip(self, TimeStopping(seconds=12.5, verbose=1))
        self.assertEqual(clone.get_config(), {"seconds": 12.5, "verbose": 1})
        self.assertEqual(assert_config_round_trip(self, TimeStopping(60)).seconds, 60.0)
