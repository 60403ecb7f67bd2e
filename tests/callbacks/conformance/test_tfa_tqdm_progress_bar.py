"""TFA's tests of TQDMProgressBar (tensorflow_addons/callbacks/tests/tqdm_progress_bar_test.py),
ported to tfx_ext. pytest's `capsys` becomes `contextlib.redirect_stderr`
(tqdm writes to stderr); TFA's show/hide parametrization is a loop of subtests.
One small model is built per test class and re-fitted (TFA built one per test)."""

import contextlib
import io

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.callbacks import TQDMProgressBar


def get_data_and_model():
    x = np.random.random((12, 1))
    y = np.random.randint(0, 2, (12, 1), dtype=np.int32)
    inputs = keras.layers.Input(shape=(1,))
    outputs = keras.layers.Dense(1)(inputs)
    model = keras.models.Model(inputs=inputs, outputs=outputs)
    model.compile(optimizer="sgd", loss="mse", metrics=["acc"], jit_compile=False)
    return x, y, model


def stderr_of(call):
    buffer = io.StringIO()
    with contextlib.redirect_stderr(buffer), contextlib.redirect_stdout(io.StringIO()):
        call()
    return buffer.getvalue()


class TFATQDMProgressBarTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        cls.x, cls.y, cls.model = get_data_and_model()

    def fit(self, pb, **kwargs):
        return stderr_of(
            lambda: self.model.fit(self.x, self.y, verbose=0, callbacks=[pb], **kwargs)
        )

    def test_tqdm_progress_bar(self):
        fit_stderr = self.fit(TQDMProgressBar(), epochs=1)
        self.assertIn("loss:", fit_stderr)
        self.assertIn("acc:", fit_stderr)

    def test_tqdm_progress_bar_overall_bar_format(self):
        overall_bar_format = (
            "{l_bar}{bar} {n_fmt}/{total_fmt} ETA: dodo{remaining}s,  {rate_fmt}{postfix}"
        )
        pb = TQDMProgressBar(overall_bar_format=overall_bar_format, show_epoch_progress=False)
        self.assertIn("ETA: dodo", self.fit(pb, epochs=1))

    def test_tqdm_progress_bar_epoch_bar_format(self):
        epoch_bar_format = "{n_fmt}/{total_fmt}{bar} ETA: dodo {remaining}s - {desc}"
        pb = TQDMProgressBar(epoch_bar_format=epoch_bar_format, show_overall_progress=False)
        self.assertIn("ETA: dodo", self.fit(pb, epochs=1))

    def test_tqdm_progress_bar_epoch_bar_format_missing_parameter(self):
        epoch_bar_format = "{n_fmt} {bar} ETA: dodo {remaining}s - {desc}"
        pb = TQDMProgressBar(epoch_bar_format=epoch_bar_format, show_overall_progress=False)
        self.assertNotIn("/3", self.fit(pb, batch_size=4, epochs=2))

    def test_tqdm_progress_bar_metrics_format(self):
        pb = TQDMProgressBar(
            metrics_format="{name}: dodo {value:0.6f}", show_overall_progress=False
        )
        fit_stderr = self.fit(pb, epochs=1)
        self.assertIn("acc: dodo", fit_stderr)
        self.assertRegex(fit_stderr, r"acc: dodo [0-9]\.[0-9][0-9][0-9][0-9][0-9][0-9]")

    def test_tqdm_progress_bar_show(self):
        for show_epoch_progress in (True, False):
            for show_overall_progress in (True, False):
                with self.subTest(epoch=show_epoch_progress, overall=show_overall_progress):
                    pb = TQDMProgressBar(
                        show_epoch_progress=show_epoch_progress,
                        show_overall_progress=show_overall_progress,
                    )
                    fit_stderr = self.fit(pb, batch_size=4, epochs=2)
                    self.assertIs("/3" in fit_stderr, show_epoch_progress)
                    self.assertIs("epochs/s" in fit_stderr, show_overall_progress)
                    if show_epoch_progress and not show_overall_progress:
                        self.assertNotIn("size", fit_stderr)
                        self.assertNotIn("batch", fit_stderr)

    def test_tqdm_progress_bar_validation(self):
        fit_stderr = self.fit(TQDMProgressBar(), epochs=1, validation_data=(self.x, self.y))
        self.assertRegex(fit_stderr, r"val_loss: [0-9]\.[0-9][0-9][0-9][0-9]")
        self.assertRegex(fit_stderr, r"val_acc: [0-9]\.[0-9][0-9][0-9][0-9]")

    def test_tqdm_progress_bar_evaluate(self):
        pb = TQDMProgressBar()
        evaluate_stderr = stderr_of(
            lambda: self.model.evaluate(self.x, self.y, callbacks=[pb], verbose=0)
        )
        self.assertRegex(evaluate_stderr, r"loss: [0-9]\.[0-9][0-9][0-9][0-9]")
        self.assertRegex(evaluate_stderr, r"acc: [0-9]\.[0-9][0-9][0-9][0-9]")
