"""Progress bars drawn by tqdm.

Replaces `tfa.callbacks.TQDMProgressBar` (same arguments and defaults). Keras
3 core has only its own `ProgbarLogger`. tqdm is optional: it is imported
when a `TQDMProgressBar` is built (`pip install tqdm`).
"""

import time

import keras

from tfx_ext._core.arguments import check_bool, check_number, invalid

_MIN_TQDM = (4, 36, 1)


def _load_tqdm():
    try:
        import tqdm
    except ImportError:
        raise ImportError(
            "TQDMProgressBar needs the optional package tqdm (>= 4.36.1): pip install tqdm"
        ) from None
    version = tuple(int(part) for part in tqdm.__version__.split(".")[:3] if part.isdigit())
    if version < _MIN_TQDM:
        raise ImportError(
            f"TQDMProgressBar needs tqdm >= 4.36.1; tqdm {tqdm.__version__} is installed: pip install -U tqdm"
        )
    from tqdm.auto import tqdm as auto_tqdm  # a notebook widget in Jupyter, text elsewhere

    return auto_tqdm


@keras.saving.register_keras_serializable(package="tfx_ext")
class TQDMProgressBar(keras.callbacks.Callback):
    """tqdm progress bars for `fit` (one over epochs, one per epoch), `evaluate` and `predict`.

    Pass `verbose=0` to `fit`/`evaluate`/`predict` so Keras's own bar stays
    quiet. Works with `tfx_ext.training.Trainer.fit` too (it drives the same
    callback hooks). Each bar shows the latest logs, which Keras 3 reports as
    running means over the epoch.

    Args:
        metrics_separator: Text between two metrics. Defaults to `" - "`.
        overall_bar_format: tqdm `bar_format` of the bar over epochs.
        epoch_bar_format: tqdm `bar_format` of the bar over an epoch's steps
            (and of the evaluate/predict bars).
        metrics_format: Format of one metric, with fields `name` and `value`.
            Defaults to `"{name}: {value:0.4f}"`.
        update_per_second: At most this many redraws of the epoch bar per
            second, a number > 0 (small batches would be slowed by more).
            Defaults to `10`.
        leave_epoch_progress: Whether epoch bars stay on screen when done.
        leave_overall_progress: Whether the bar over epochs stays on screen.
        show_epoch_progress: Whether to draw the epoch (and evaluate/predict) bars.
        show_overall_progress: Whether to draw the bar over epochs.

    Example:

    >>> model.fit(x, y, epochs=5, verbose=0, callbacks=[TQDMProgressBar()])
    """

    def __init__(
        self,
        metrics_separator=" - ",
        overall_bar_format="{l_bar}{bar} {n_fmt}/{total_fmt} ETA: {remaining}s,  {rate_fmt}{postfix}",
        epoch_bar_format="{n_fmt}/{total_fmt}{bar} ETA: {remaining}s - {desc}",
        metrics_format="{name}: {value:0.4f}",
        update_per_second=10,
        leave_epoch_progress=True,
        leave_overall_progress=True,
        show_epoch_progress=True,
        show_overall_progress=True,
    ):
        super().__init__()
        for name, value in (
            ("metrics_separator", metrics_separator),
            ("overall_bar_format", overall_bar_format),
            ("epoch_bar_format", epoch_bar_format),
            ("metrics_format", metrics_format),
        ):
            if not isinstance(value, str):
                raise invalid(name, "a string", value, TypeError)
        try:
            metrics_format.format(name="loss", value=0.5)
        except (KeyError, IndexError, ValueError) as error:
            raise invalid(
                "metrics_format",
                "a format string with fields {name} and {value} (a float)",
                metrics_format,
            ) from error
        for name, value in (
            ("leave_epoch_progress", leave_epoch_progress),
            ("leave_overall_progress", leave_overall_progress),
            ("show_epoch_progress", show_epoch_progress),
            ("show_overall_progress", show_overall_progress),
        ):
            check_bool(name, value)
        self.update_per_second = check_number(
            "update_per_second", update_per_second, low=0.0, low_open=True
        )
        self.tqdm = _load_tqdm()
        self.metrics_separator = metrics_separator
        self.overall_bar_format = overall_bar_format
        self.epoch_bar_format = epoch_bar_format
        self.metrics_format = metrics_format
        self.leave_epoch_progress = leave_epoch_progress
        self.leave_overall_progress = leave_overall_progress
        self.show_epoch_progress = show_epoch_progress
        self.show_overall_progress = show_overall_progress
        self.update_interval = 1.0 / self.update_per_second
        self.overall_progress_tqdm = None
        self.epoch_progress_tqdm = None
        self.is_training = False
        self._last_update = 0.0
        self._logs = {}

    # -- the bars --------------------------------------------------------

    def _open_steps_bar(self, description=None):
        self._logs = {}
        self._last_update = time.monotonic()
        if not self.show_epoch_progress:
            return
        self.epoch_progress_tqdm = self.tqdm(
            total=self.params.get("steps"),
            desc=description,
            bar_format=self.epoch_bar_format,
            leave=self.leave_epoch_progress,
            dynamic_ncols=True,
            unit="steps",
        )

    def _advance(self, batch, logs):
        """Moves the steps bar to `batch + 1` steps done (Keras reports the last
        step of a `steps_per_execution` group), throttled to `update_per_second`."""
        self._logs = dict(logs or {})
        bar = self.epoch_progress_tqdm
        if bar is None:
            return
        now = time.monotonic()
        if now - self._last_update >= self.update_interval:
            bar.desc = self.format_metrics(self._logs)
            bar.update(max(batch + 1 - bar.n, 0))
            self._last_update = now

    def _close_steps_bar(self, logs):
        bar = self.epoch_progress_tqdm
        if bar is None:
            return
        bar.desc = self.format_metrics(logs)
        # The last redraw is never throttled away.
        bar.miniters = 0
        bar.mininterval = 0
        if bar.total is not None:
            bar.update(max(bar.total - bar.n, 0))
        else:
            bar.refresh()
        bar.close()
        self.epoch_progress_tqdm = None

    # -- fit ---------------------------------------------------------------

    def on_train_begin(self, logs=None):
        self.is_training = True
        if self.show_overall_progress:
            self.overall_progress_tqdm = self.tqdm(
                desc="Training",
                total=self.params.get("epochs"),
                bar_format=self.overall_bar_format,
                leave=self.leave_overall_progress,
                dynamic_ncols=True,
                unit="epochs",
            )

    def on_epoch_begin(self, epoch, logs=None):
        if self.show_epoch_progress:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}")
        self._open_steps_bar()

    def on_train_batch_end(self, batch, logs=None):
        self._advance(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._close_steps_bar(logs if logs is not None else self._logs)
        if self.overall_progress_tqdm is not None:
            self.overall_progress_tqdm.update(1)

    def on_train_end(self, logs=None):
        self.is_training = False
        if self.overall_progress_tqdm is not None:
            self.overall_progress_tqdm.close()
            self.overall_progress_tqdm = None

    # -- evaluate and predict (validation inside fit shows in the epoch's logs) --

    def on_test_begin(self, logs=None):
        if not self.is_training:
            self._open_steps_bar("Evaluating")

    def on_test_batch_end(self, batch, logs=None):
        if not self.is_training:
            self._advance(batch, logs)

    def on_test_end(self, logs=None):
        if not self.is_training:
            self._close_steps_bar(logs if logs is not None else self._logs)

    def on_predict_begin(self, logs=None):
        self._open_steps_bar("Predicting")

    def on_predict_batch_end(self, batch, logs=None):
        # Predict logs hold the outputs, not metrics: show none.
        self._advance(batch, {})

    def on_predict_end(self, logs=None):
        self._close_steps_bar({})

    def format_metrics(self, logs=None, factor=1):
        """The metrics of `logs` as one string, each value divided by `factor` (as TFA)."""
        pairs = []
        for key, value in (logs or {}).items():
            if key in ("batch", "size"):
                continue
            try:
                value = float(value) / factor
            except (TypeError, ValueError):
                continue  # not a number (predict outputs): nothing to print
            pairs.append(self.metrics_format.format(name=key, value=value))
        return self.metrics_separator.join(pairs)

    def get_config(self):
        return {
            "metrics_separator": self.metrics_separator,
            "overall_bar_format": self.overall_bar_format,
            "epoch_bar_format": self.epoch_bar_format,
            "metrics_format": self.metrics_format,
            "update_per_second": self.update_per_second,
            "leave_epoch_progress": self.leave_epoch_progress,
            "leave_overall_progress": self.leave_overall_progress,
            "show_epoch_progress": self.show_epoch_progress,
            "show_overall_progress": self.show_overall_progress,
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
