"""TQDMProgressBar beyond TFA's tests: predict, steps_per_execution, the Trainer,
tqdm missing or too old, bad arguments, and the config round trip."""

import contextlib
import io
import sys
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.callbacks import TQDMProgressBar

ROWS, BATCH = 12, 4  # 3 steps per epoch


def _output(call):
    err, out = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(out):
        call()
    return err.getvalue(), out.getvalue()


def _final_line(text):
    """The last state of the last bar (tqdm redraws with carriage returns)."""
    return [part for part in text.replace("\n", "\r").split("\r") if part.strip()][-1]


class TQDMProgressBarTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        cls.x = rng.standard_normal((ROWS, 2)).astype("float32")
        cls.y = rng.standard_normal((ROWS, 1)).astype("float32")
        cls.model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        cls.model.compile(optimizer="sgd", loss="mse", jit_compile=False)

    def test_the_epoch_bar_ends_on_the_epoch_logs(self):
        history = []
        recorder = keras.callbacks.LambdaCallback(
            on_epoch_end=lambda epoch, logs: history.append(logs["loss"])
        )
        err, out = _output(
            lambda: self.model.fit(
                self.x,
                self.y,
                batch_size=BATCH,
                epochs=2,
                verbose=0,
                callbacks=[recorder, TQDMProgressBar(show_overall_progress=False)],
            )
        )
        self.assertIn("Epoch 1/2", out)
        self.assertIn("Epoch 2/2", out)
        last = _final_line(err)
        self.assertIn("3/3", last)
        # The bar's final text is the epoch's own loss (Keras's log), at 4 decimals.
        self.assertIn(f"loss: {history[-1]:0.4f}", last)

    def test_predict_and_steps_per_execution(self):
        err, _ = _output(
            lambda: self.model.predict(
                self.x, batch_size=BATCH, verbose=0, callbacks=[TQDMProgressBar()]
            )
        )
        self.assertIn("3/3", _final_line(err))
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse", steps_per_execution=3, jit_compile=False)
        # Keras reports the last step of each group of 3: the bar moves by 3.
        x, y = np.tile(self.x, (2, 1)), np.tile(self.y, (2, 1))
        # What the bar is told, not what tqdm renders: tqdm skips redraws closer than its
        # `mininterval` (0.1 s), so "3/6" may or may not be drawn on a fast machine.
        import tqdm.std

        steps, update = [], tqdm.std.tqdm.update

        def recording_update(bar, n=1):
            steps.append(n)
            return update(bar, n)

        with mock.patch.object(tqdm.std.tqdm, "update", recording_update):
            err, _ = _output(
                lambda: model.fit(
                    x,
                    y,
                    batch_size=BATCH,
                    epochs=1,
                    verbose=0,
                    callbacks=[TQDMProgressBar(update_per_second=1e9, show_overall_progress=False)],
                )
            )
        self.assertIn("6/6", _final_line(err))
        self.assertEqual([n for n in steps if n], [3, 3])
        self.assertNotIn("4/6", err)

    @pytest.mark.tf_only("tfx_ext.training.Trainer runs on tf.distribute")
    def test_the_trainer_drives_the_bars(self):
        from tfx_ext.training import Trainer

        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
        trainer = Trainer(model, keras.losses.MeanSquaredError(), keras.optimizers.SGD(0.01))
        data = tf.data.Dataset.from_tensor_slices((self.x, self.y)).batch(BATCH)
        err, out = _output(
            lambda: trainer.fit(data, epochs=2, verbose=0, callbacks=[TQDMProgressBar()])
        )
        self.assertIn("Epoch 2/2", out)
        self.assertIn("3/3", err)
        self.assertIn("2/2", err)  # the bar over epochs
        self.assertRegex(err, r"loss: [0-9]+\.[0-9]{4}")

    def test_tqdm_is_optional_and_checked(self):
        with mock.patch.dict(sys.modules, {"tqdm": None, "tqdm.auto": None}):
            with self.assertRaisesRegex(ImportError, "pip install tqdm"):
                TQDMProgressBar()
        import tqdm

        with mock.patch.object(tqdm, "__version__", "4.30.0"):
            with self.assertRaisesRegex(ImportError, r"tqdm >= 4\.36\.1; tqdm 4\.30\.0"):
                TQDMProgressBar()

    @rejects_bad_input(TQDMProgressBar)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`update_per_second`"):
            TQDMProgressBar(update_per_second=0)
        with self.assertRaisesRegex(TypeError, "`metrics_separator`"):
            TQDMProgressBar(metrics_separator=1)
        with self.assertRaisesRegex(ValueError, "`metrics_format`"):
            TQDMProgressBar(metrics_format="{metric}")
        with self.assertRaisesRegex(TypeError, "`show_epoch_progress`"):
            TQDMProgressBar(show_epoch_progress="yes")

    def test_config_round_trip(self):
        bar = TQDMProgressBar(
            metrics_separator=" | ",
            metrics_format="{name}={value:.2f}",
            update_per_second=3,
            leave_epoch_progress=False,
            show_overall_progress=False,
        )
        clone = assert_config_round_trip(self, bar)
        self.assertEqual(
            clone.format_metrics({"loss": 0.123456, "batch": 2, "size": 4}), "loss=0.12"
        )
        self.assertEqual(clone.update_interval, 1 / 3)
