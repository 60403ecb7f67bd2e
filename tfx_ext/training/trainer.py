"""A custom training loop that gets the usual details right.

"Hands-On ML" ch. 12 writes a custom loop for what `fit` cannot do (different
optimizers for the wide and the deep part of a model); ch. 19 distributes it.
Hand-written loops tend to divide the loss by the per-replica batch size,
forget regularization losses, never reset metrics, clip one replica's
gradients, and never resume after a crash. `Trainer` is that loop written
once, split as Keras splits `fit`: this module holds the strategy-agnostic
epoch loop (callbacks, checkpoints, resume, the non-finite loss check);
`replica_step` the step itself (loss over the global batch plus
`model.losses`, clipping after the all-reduce, one optimizer or a per-part
`MultiOptimizer`); `losses_and_metrics` what `loss` and `metrics` become; and
a `Runner` how steps run under a strategy (`LocalRunner` for the default,
Mirrored and MultiWorkerMirrored strategies, `ParameterServerRunner` through
a `ClusterCoordinator`).
"""

import math
import warnings

import keras
import tensorflow as tf

from tfx_ext._core.arguments import check_bool, check_int, check_number, invalid
from tfx_ext.training.checkpointing import TrainingCheckpoint
from tfx_ext.training.data import TrainingData
from tfx_ext.training.local_runner import LocalRunner
from tfx_ext.training.losses_and_metrics import resolve_metric, unreduced_loss
from tfx_ext.training.model_checks import check_model_structure, check_variables_in_scope
from tfx_ext.training.non_finite import non_finite_loss_error
from tfx_ext.training.optimizer_mapping import build_optimizer
from tfx_ext.training.parameter_server_runner import ParameterServerRunner
from tfx_ext.training.replica_step import ReplicaStep


class Trainer:
    """Trains a Keras model with a custom loop: per-part optimizers, clipping,
    checkpoint/resume and `tf.distribute`.

    Args:
        model: A Keras model. Under a strategy, build it inside
            `strategy.scope()`.
        loss: A Keras loss, a loss name, or a function
            `(y_true, y_pred) -> per-example loss`. The batch loss is the sum
            of per-example losses divided by the *global* batch size, plus
            `model.losses` (regularization): on one device this is exactly
            what `model.fit` minimizes.
        optimizer: A Keras optimizer, or a mapping from keys to optimizers
            for different parts of the model. Keys are variable-path
            patterns (`re.fullmatch` on `variable.path`, e.g. `"wide/.*"`),
            layers, or tuples of those. Every trainable variable must match
            exactly one optimizer; the mapping becomes a
            `keras.optimizers.MultiOptimizer`.
        metrics: Keras metrics or metric names (`"accuracy"` picks the
            accuracy that fits the shapes, as `compile` does). Under a
            strategy, metrics created outside its scope are copied into it;
            `self.metrics` holds the ones updated. As with
            `compile(metrics=...)`, sample weights weight the loss only.
        strategy: A `tf.distribute.Strategy`; defaults to the current one.
        clip_norm: Clip each gradient to this L2 norm (a number > 0).
        clip_global_norm: Scale all gradients together so that their global
            L2 norm is at most this (a number > 0), across every optimizer of
            a mapping. Under a multi-replica strategy gradients are
            all-reduced before clipping, so clipping sees the global gradient.
        jit_compile: Compile the step with XLA.
        checkpoint_dir: Directory for `tf.train.CheckpointManager`
            checkpoints. When it already holds one, `fit` resumes from it.
        keep_checkpoints: How many checkpoints to keep (an integer >= 1).
        checkpoint_every: Also checkpoint every this many steps (an integer
            >= 1); checkpoints are always written at each epoch end.
        seed: Seed of the per-epoch shuffle of array inputs.
        steps_per_execution: Steps run by one call of the compiled function
            (an integer >= 1), as in `compile(steps_per_execution=...)`: on
            small models most of a step's time is the call itself. Callbacks'
            batch hooks then see one batch per group of steps
            (`on_train_batch_end` gets the group's last step and the logs
            after it); a group ends early at a checkpoint (`checkpoint_every`
            counts steps), an epoch end, or a non-finite loss.

    Example:

    >>> trainer = Trainer(
    ...     model, "mse",
    ...     optimizer={"wide/.*": keras.optimizers.SGD(0.01),
    ...                "deep_.*/.*|output/.*": keras.optimizers.Nadam()},
    ...     metrics=["mae"], checkpoint_dir="ckpt", checkpoint_every=100)
    >>> history = trainer.fit(dataset, epochs=10, validation_data=val_dataset)
    """

    def __init__(
        self,
        model,
        loss,
        optimizer,
        metrics=None,
        strategy=None,
        clip_norm=None,
        clip_global_norm=None,
        jit_compile=False,
        checkpoint_dir=None,
        keep_checkpoints=3,
        checkpoint_every=None,
        seed=0,
        steps_per_execution=1,
    ):
        if not isinstance(model, keras.Model):
            raise invalid("model", "a keras.Model", model, TypeError)
        if strategy is not None and not isinstance(strategy, tf.distribute.Strategy):
            raise invalid("strategy", "a tf.distribute.Strategy", strategy, TypeError)
        self.model = model
        # The default strategy (no `tf.distribute` in use) needs no dataset
        # distribution and no scope checks.
        self._distributed = strategy is not None or tf.distribute.has_strategy()
        self.strategy = strategy or tf.distribute.get_strategy()
        self.clip_norm = (
            None
            if clip_norm is None
            else check_number("clip_norm", clip_norm, low=0.0, low_open=True)
        )
        self.clip_global_norm = (
            None
            if clip_global_norm is None
            else check_number("clip_global_norm", clip_global_norm, low=0.0, low_open=True)
        )
        if self.clip_norm is not None and self.clip_global_norm is not None:
            raise invalid(
                "clip_norm",
                "None when `clip_global_norm` is given (clip each gradient or "
                "all of them together, not both)",
                clip_norm,
            )
        check_bool("jit_compile", jit_compile)
        self.jit_compile = jit_compile
        runner_class = (
            ParameterServerRunner if ParameterServerRunner.supports(self.strategy) else LocalRunner
        )
        runner_class.check_jit_compile(self.strategy, jit_compile)
        self.keep_checkpoints = check_int("keep_checkpoints", keep_checkpoints, minimum=1)
        self.checkpoint_every = (
            None
            if checkpoint_every is None
            else check_int("checkpoint_every", checkpoint_every, minimum=1)
        )
        self.seed = check_int("seed", seed)
        self.steps_per_execution = check_int("steps_per_execution", steps_per_execution, minimum=1)
        loss_fn = unreduced_loss(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise invalid("metrics", "a list of Keras metrics or metric names", metrics, TypeError)
        check_model_structure(model)
        if checkpoint_every is not None and checkpoint_dir is None:
            raise invalid(
                "checkpoint_every", "None unless `checkpoint_dir` is given", checkpoint_every
            )
        if self._distributed:
            check_variables_in_scope(model, self.strategy)
        with self.strategy.scope():
            self.optimizer = build_optimizer(optimizer, model.trainable_variables, self.strategy)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            scoped = self.strategy if self._distributed else None
            self.metrics = [resolve_metric(m, scoped) for m in (metrics or [])]
        self._step = ReplicaStep(
            model,
            loss_fn,
            self.optimizer,
            self.loss_tracker,
            self.metrics,
            self.strategy,
            clip_norm=self.clip_norm,
            clip_global_norm=self.clip_global_norm,
            jit_compile=jit_compile,
        )
        self._runner = runner_class(
            self.strategy, self._step, jit_compile, self._distributed, self.steps_per_execution
        )
        self._checkpoint = None
        if checkpoint_dir is not None:
            totals = [v for m in self._step.tracked_metrics for v in m.variables]
            self._checkpoint = TrainingCheckpoint(
                checkpoint_dir,
                model,
                self.optimizer,
                self.strategy,
                max_to_keep=self.keep_checkpoints,
                extra_variables=totals,
            )

    @property
    def checkpoint_dir(self):
        return None if self._checkpoint is None else self._checkpoint.directory

    @property
    def latest_checkpoint(self):
        """Path of the newest checkpoint, or None."""
        return None if self._checkpoint is None else self._checkpoint.latest

    def _data(self, data, name, batch_size, shuffle):
        return TrainingData.prepare(
            data, name, self.model, batch_size=batch_size, shuffle=shuffle, seed=self.seed
        )

    # -- public API --------------------------------------------------------

    def fit(
        self,
        train_data,
        epochs=1,
        validation_data=None,
        callbacks=None,
        steps_per_epoch=None,
        batch_size=32,
        shuffle=True,
        verbose="auto",
    ):
        """Trains for `epochs` epochs, resuming from the newest checkpoint.

        Args:
            train_data: A `tf.data.Dataset` of `(x, y)` or
                `(x, y, sample_weight)` batches, or such a tuple of arrays
                (batched with `batch_size`, shuffled per epoch from `seed`).
            epochs: Train until this epoch count is reached (as in
                `model.fit`, a resumed run continues toward the same total).
            validation_data: Same forms as `train_data`; evaluated at each
                epoch end into `val_*` logs.
            callbacks: Keras callbacks.
            steps_per_epoch: Steps per epoch. With a dataset, one iterator
                then runs across epochs (repeat the dataset); required under
                `ParameterServerStrategy`.
            batch_size: Batch size for array inputs.
            shuffle: Shuffle array inputs each epoch.
            verbose: 0 (silent), 1 (progress bar), 2 (one line per epoch) or
                "auto" (1).

        Returns:
            The `keras.callbacks.History` of this call.

        Raises:
            NonFiniteLossError: a step's loss was NaN or infinite; the newest
                checkpoint (the last good state) is left in place and, when
                there is one, restored into the model.
        """
        epochs = check_int("epochs", epochs, minimum=0)
        if steps_per_epoch is not None:
            steps_per_epoch = check_int("steps_per_epoch", steps_per_epoch, minimum=1)
        if verbose == "auto":
            verbose = 1
        check_int("verbose", verbose, minimum=0)
        if callbacks is not None and not isinstance(
            callbacks, (list, tuple, keras.callbacks.CallbackList)
        ):
            raise invalid("callbacks", "a list of Keras callbacks", callbacks, TypeError)
        data = self._data(train_data, "train_data", batch_size, shuffle)
        validation = self._data(validation_data, "validation_data", batch_size, False)
        self._runner.check_steps_per_epoch(steps_per_epoch)

        start_epoch, start_step, global_step = 0, 0, 0
        if self._checkpoint is not None:
            restored = self._checkpoint.restore_latest()
            if restored is not None:
                start_epoch, start_step, global_step = restored
        steps = steps_per_epoch or data.num_batches

        callback_list = (
            callbacks
            if isinstance(callbacks, keras.callbacks.CallbackList)
            else keras.callbacks.CallbackList(
                list(callbacks or []),
                add_history=True,
                add_progbar=verbose != 0,
                verbose=verbose,
                epochs=epochs,
                steps=steps,
                model=self.model,
            )
        )
        previous_optimizer = self._attach_optimizer()
        try:
            return self._fit(
                data,
                validation,
                epochs,
                steps_per_epoch,
                steps,
                callback_list,
                start_epoch,
                start_step,
                global_step,
            )
        finally:
            if previous_optimizer is not None:
                self.model.optimizer = previous_optimizer

    def _fit(
        self,
        data,
        validation,
        epochs,
        steps_per_epoch,
        steps,
        callback_list,
        start_epoch,
        start_step,
        global_step,
    ):
        self.model.stop_training = False
        runner = self._runner
        runner.begin_fit(data, steps_per_epoch, steps)
        callback_list.on_train_begin()
        epoch_logs = None
        persistent = None
        if steps_per_epoch is not None:
            # One stream across epochs, as `model.fit` does with steps_per_epoch.
            persistent = runner.iterator(
                data.stream(skip=global_step, steps=epochs * steps_per_epoch)
            )
        # Batches per epoch, counted here when known.
        limit = steps_per_epoch if steps_per_epoch is not None else steps
        for epoch in range(start_epoch, epochs):
            skip = start_step if epoch == start_epoch else 0
            if not skip:
                # A resumed epoch keeps the running totals restored with the
                # checkpoint, so its logs equal an uninterrupted epoch's.
                for metric in self._step.tracked_metrics:
                    metric.reset_state()
            callback_list.on_epoch_begin(epoch)
            runner.begin_epoch(
                persistent or runner.iterator(data.dataset_for_epoch(epoch, skip=skip))
            )
            step = skip
            logs = {}
            exhausted = interrupted = False
            while limit is None or step < limit:
                callback_list.on_train_batch_begin(step)
                try:
                    ran, logs = runner.run_steps(self._group_size(step, limit, global_step))
                except (StopIteration, tf.errors.OutOfRangeError):
                    exhausted = True
                    break
                step += ran
                global_step += ran
                self._check_finite(runner.last_loss(), epoch, step, global_step)
                callback_list.on_train_batch_end(step - 1, logs)
                if self.model.stop_training:
                    interrupted = limit is None or step < limit
                    break
                if (
                    self._checkpoint is not None
                    and self.checkpoint_every is not None
                    and global_step % self.checkpoint_every == 0
                    # An epoch's last step is saved by the epoch-end save.
                    and (limit is None or step < limit)
                ):
                    self._save(epoch, step, global_step)
            self._check_finite(runner.finish_steps(), epoch, step, global_step)
            runner.end_epoch()
            if exhausted and step == 0 and epoch == start_epoch and steps_per_epoch is None:
                raise invalid(
                    "train_data", "data with at least one batch", "a dataset that yielded none"
                )
            if exhausted and steps_per_epoch is not None:
                warnings.warn(
                    f"train_data ran out after {step} of steps_per_epoch={steps_per_epoch} "
                    "steps; repeat the dataset (dataset.repeat()). Training stops.",
                    stacklevel=2,
                )
                self.model.stop_training = True
            # As `model.fit`: the logs of the epoch's last step are its logs
            # (read again when this epoch ran no step or the runner returns none).
            epoch_logs = {k: float(v) for k, v in (logs or self._step.logs()).items()}
            if validation is not None:
                val_logs = self.evaluate(validation, verbose=0)
                epoch_logs.update({f"val_{k}": v for k, v in val_logs.items()})
            if self._checkpoint is not None:
                # A callback that stops mid-epoch leaves the epoch unfinished:
                # a later fit resumes inside it, not after it.
                self._save(*((epoch, step) if interrupted else (epoch + 1, 0)), global_step)
            callback_list.on_epoch_end(epoch, epoch_logs)
            if self.model.stop_training:
                break
        callback_list.on_train_end(logs=epoch_logs)
        return self.model.history

    def evaluate(self, data, batch_size=32, verbose=0):
        """Returns the loss (with regularization) and metrics over `data`."""
        prepared = self._data(data, "data", batch_size, False)
        # Evaluating mid-training (a callback, validation) must not disturb
        # the running training metrics.
        with self._step.metrics_set_aside():
            self._runner.begin_test(prepared.dataset_for_epoch(0))
            batches = prepared.num_batches
            progbar = keras.utils.Progbar(batches, verbose=verbose) if verbose else None
            seen = 0
            while batches is None or seen < batches:
                size = (
                    self.steps_per_execution
                    if batches is None
                    else min(self.steps_per_execution, batches - seen)
                )
                try:
                    seen += self._runner.test_steps(size)
                except tf.errors.OutOfRangeError:
                    break
                if progbar is not None:
                    progbar.update(seen)
            self._runner.end_test()
            return {k: float(v) for k, v in self._step.logs().items()}

    # -- loop internals ----------------------------------------------------

    def _attach_optimizer(self):
        # Callbacks such as LearningRateScheduler and ReduceLROnPlateau act on
        # `model.optimizer`: it must be the one this loop steps (a compiled
        # model's own optimizer is put back when fit returns).
        previous = getattr(self.model, "optimizer", None)
        self.model.optimizer = self.optimizer
        return previous

    def _check_finite(self, value, epoch, step, global_step):
        """Raises `NonFiniteLossError` when `value` (a loss, or None when
        there is nothing to check yet) is not finite."""
        if value is None or math.isfinite(value):
            return
        where = f"epoch {epoch + 1}, step {step} (global step {global_step})"
        raise non_finite_loss_error(value, where, self._checkpoint)

    def _group_size(self, step, limit, global_step):
        """Steps of the next group: it ends at the epoch's end and on the
        next `checkpoint_every` boundary, so checkpoints land where they
        would one step at a time."""
        size = (
            self.steps_per_execution
            if limit is None
            else min(self.steps_per_execution, limit - step)
        )
        if self._checkpoint is not None and self.checkpoint_every is not None:
            size = min(size, self.checkpoint_every - global_step % self.checkpoint_every)
        return size

    def _save(self, epoch, step_in_epoch, global_step):
        # Never save poisoned weights: the runner may only see the workers'
        # losses once it waited for them.
        self._check_finite(self._runner.finish_steps(), epoch, step_in_epoch, global_step)
        self._checkpoint.save(epoch, step_in_epoch, global_step)
