"""A custom training loop that gets the usual details right.

"Hands-On ML" ch. 12 writes a custom loop for what `fit` cannot do (different
optimizers for the wide and the deep part of a model); ch. 19 distributes it.
Each hand-written loop tends to repeat the same bugs: the loss is divided by
the per-replica instead of the global batch size under a strategy,
regularization losses are forgotten, metrics are never reset, clipping is
applied to one replica's gradients, and nothing resumes after a crash.
`Trainer` is that loop written once:

- the step is a `tf.function` (XLA with `jit_compile=True`) that adds
  `model.losses`, scales by the global batch size, clips the all-reduced
  gradients, and applies one optimizer or a per-part mapping
  (`keras.optimizers.MultiOptimizer`);
- Keras callbacks (`EarlyStopping`, `ModelCheckpoint`, `TensorBoard`,
  `CSVLogger`, ...) receive the usual hooks, a `Progbar` shows progress, and
  `fit` returns a `keras.callbacks.History`;
- `tf.distribute`: the default strategy, `MirroredStrategy`,
  `MultiWorkerMirroredStrategy`, and `ParameterServerStrategy` through a
  `ClusterCoordinator`;
- checkpoints every N steps and at each epoch end; `fit` resumes from the
  newest one; a non-finite loss stops training with `NonFiniteLossError` and
  leaves the last good checkpoint in place.

The loop is TensorFlow's (GradientTape, tf.function, tf.distribute); the
model, losses, metrics and optimizers are plain Keras 3 objects.
"""

import math
import warnings

import keras
import tensorflow as tf
from keras import tree

from tfx_ext.arguments import check_int, check_number, invalid
from tfx_ext.training.checkpointing import TrainingCheckpoint
from tfx_ext.training.data import TrainingData
from tfx_ext.training.optimizer_mapping import build_optimizer, sub_optimizers


class NonFiniteLossError(RuntimeError):
    """Raised when a training step produces a NaN or infinite loss."""


class _UnreducedLoss(keras.losses.Loss):
    """A Keras loss with its reduction left to the Trainer.

    Wraps the instance (its `call` gives the per-example values) rather than
    rebuilding it from its config, which may not hold every argument
    (`keras.losses.Huber.get_config()` has no `delta`). `Loss.__call__` still
    applies sample weights and masks.
    """

    def __init__(self, loss):
        super().__init__(name=loss.name, reduction=None, dtype=loss.dtype)
        self.loss = loss

    def call(self, y_true, y_pred):
        return self.loss.call(y_true, y_pred)


def _same_rank(y_true, y_pred):
    """What `compile` does before calling a loss function: add or drop a
    trailing axis of size 1, so targets (n,) meet predictions (n, 1)
    elementwise instead of broadcasting to (n, n)."""
    t, p = len(y_true.shape), len(y_pred.shape)
    if t == p + 1 and y_true.shape[-1] == 1:
        if p == 1:
            return y_true, keras.ops.expand_dims(y_pred, -1)
        return keras.ops.squeeze(y_true, -1), y_pred
    if p == t + 1 and y_pred.shape[-1] == 1:
        if t == 1:
            return keras.ops.expand_dims(y_true, -1), y_pred
        return y_true, keras.ops.squeeze(y_pred, -1)
    return y_true, y_pred


class _PerExampleLoss(keras.losses.Loss):
    """A loss function as an unreduced Keras loss (sample weights, masks)."""

    def __init__(self, fn):
        name = getattr(fn, "__name__", "loss")
        # A lambda's "<lambda>" is not a valid name scope.
        super().__init__(name=name if name.isidentifier() else "loss", reduction=None)
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(*_same_rank(y_true, y_pred))


def _unreduced_loss(loss):
    """A Keras loss that returns per-element values (sample weights applied)."""
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        return _UnreducedLoss(loss)
    if callable(loss):
        return _PerExampleLoss(loss)
    raise invalid(
        "loss",
        "a Keras loss, the name of one, or a function (y_true, y_pred) -> "
        "per-example loss",
        loss,
        TypeError,
    )


def _accuracy_for_shapes(y_true, y_pred):
    """The accuracy `compile` picks for "accuracy", from the static shapes."""
    if y_pred.shape[-1] == 1:
        return keras.metrics.binary_accuracy(y_true, y_pred)
    if len(y_true.shape) < len(y_pred.shape) or (y_true.shape[-1] == 1 and y_pred.shape[-1] > 1):
        return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)
    return keras.metrics.categorical_accuracy(y_true, y_pred)


def _resolve_metric(metric, strategy):
    if isinstance(metric, keras.metrics.Metric):
        if strategy is None or all(
            strategy.extended.variable_created_in_scope(v.value) for v in metric.variables
        ):
            return metric
        # A copy whose variables are created under the strategy.
        return metric.__class__.from_config(metric.get_config())
    if metric in ("accuracy", "acc"):
        return keras.metrics.MeanMetricWrapper(_accuracy_for_shapes, name=metric)
    if isinstance(metric, str):
        try:
            resolved = keras.metrics.get(metric)
        except ValueError:
            raise invalid("metrics", "a list of Keras metrics or metric names", metric) from None
        if isinstance(resolved, keras.metrics.Metric):
            # Logged under the name the user wrote, as `compile` does.
            return resolved.__class__.from_config({**resolved.get_config(), "name": metric})
        return keras.metrics.MeanMetricWrapper(resolved, name=metric)
    if callable(metric):
        return keras.metrics.MeanMetricWrapper(metric, name=getattr(metric, "__name__", "metric"))
    raise invalid("metrics", "a list of Keras metrics or metric names", metric, TypeError)


def _unpack(data):
    if len(data) == 3:
        return data
    return data[0], data[1], None


def _batch_size(x):
    return tf.shape(tree.flatten(x)[0])[0]


def _make_assign_add_atomic(variable):
    """Makes `variable.assign_add` one atomic TensorFlow op.

    Keras 3's `Variable.assign_add` reads, adds and assigns. Under
    ParameterServerStrategy, workers updating one parameter-server variable
    at once lose each other's increments (we measured 60-73 optimizer
    iterations for 90 steps, and metric counts short by up to 30%);
    TensorFlow's `assign_add` (AssignAddVariableOp) is atomic.
    """

    def assign_add(value):
        variable.value.assign_add(tf.cast(value, variable.value.dtype))
        return variable

    variable.assign_add = assign_add


def _is_parameter_server(strategy):
    return isinstance(
        strategy,
        (tf.distribute.ParameterServerStrategy, tf.distribute.experimental.ParameterServerStrategy),
    )


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
        self.clip_norm = None if clip_norm is None else check_number("clip_norm", clip_norm, low=0.0, low_open=True)
        self.clip_global_norm = (
            None if clip_global_norm is None
            else check_number("clip_global_norm", clip_global_norm, low=0.0, low_open=True)
        )
        if not isinstance(jit_compile, bool):
            raise invalid("jit_compile", "True or False", jit_compile, TypeError)
        self.jit_compile = jit_compile
        local_devices = []
        if jit_compile and self.strategy.num_replicas_in_sync > 1:
            local_devices = list(self.strategy.extended.worker_devices)
        if jit_compile and len(local_devices) > 1 and all("CPU" in d.upper() for d in local_devices):
            # XLA places one compiled step on one CPU device and cannot read
            # the replica variables of the other logical CPUs (XLA known
            # issue "tf.Variable on a different device"); GPUs are separate
            # XLA devices and are fine.
            raise invalid(
                "jit_compile",
                "False when the strategy mirrors over several logical CPU "
                f"devices ({', '.join(local_devices)}): XLA cannot run a step "
                "whose replicas share one CPU",
                jit_compile,
            )
        self.keep_checkpoints = check_int("keep_checkpoints", keep_checkpoints, minimum=1)
        self.checkpoint_every = (
            None if checkpoint_every is None else check_int("checkpoint_every", checkpoint_every, minimum=1)
        )
        self.seed = check_int("seed", seed)
        self._loss_fn = _unreduced_loss(loss)
        if metrics is not None and not isinstance(metrics, (list, tuple)):
            raise invalid("metrics", "a list of Keras metrics or metric names", metrics, TypeError)
        self._parameter_server = _is_parameter_server(self.strategy)
        if not model.built:
            raise invalid(
                "model",
                "a built model (call it on data, or give it an Input) so its "
                "variables exist before training",
                model,
            )
        if len(getattr(model, "outputs", None) or []) > 1:
            raise invalid(
                "model",
                "a single-output model (combine several outputs' losses in one "
                "loss function over a single concatenated output)",
                model.name,
            )
        if checkpoint_every is not None and checkpoint_dir is None:
            raise invalid(
                "checkpoint_every", "None unless `checkpoint_dir` is given", checkpoint_every
            )
        self._check_variables_in_scope()
        with self.strategy.scope():
            self.optimizer = build_optimizer(optimizer, model.trainable_variables, self.strategy)
            self.loss_tracker = keras.metrics.Mean(name="loss")
            scoped = self.strategy if self._distributed else None
            self.metrics = [_resolve_metric(m, scoped) for m in (metrics or [])]
        if self._parameter_server:
            for metric in [self.loss_tracker, *self.metrics]:
                for variable in metric.variables:
                    _make_assign_add_atomic(variable)
            for opt in [self.optimizer, *sub_optimizers(self.optimizer)]:
                if isinstance(opt.iterations, keras.Variable):
                    _make_assign_add_atomic(opt.iterations)
        self._checkpoint = None
        if checkpoint_dir is not None:
            self._checkpoint = TrainingCheckpoint(
                checkpoint_dir, model, self.optimizer, self.strategy,
                max_to_keep=self.keep_checkpoints, extra_variables=self._metric_variables(),
            )
        self._functions = {}
        self._coordinator = None

    # -- setup -------------------------------------------------------------

    def _check_variables_in_scope(self):
        if not self._distributed:
            return
        outside = [
            v.path for v in self.model.variables
            if not self.strategy.extended.variable_created_in_scope(v.value)
        ]
        if outside:
            raise invalid(
                "model",
                "a model whose variables were created under `strategy.scope()` "
                f"(these were not: {', '.join(outside[:5])}{' ...' if len(outside) > 5 else ''})",
                self.model.name,
            )

    def _metric_variables(self):
        return [v for m in [self.loss_tracker, *self.metrics] for v in m.variables]

    @property
    def checkpoint_dir(self):
        return None if self._checkpoint is None else self._checkpoint.directory

    @property
    def latest_checkpoint(self):
        """Path of the newest checkpoint, or None."""
        return None if self._checkpoint is None else self._checkpoint.latest

    # -- the step ----------------------------------------------------------

    def _clip(self, grads):
        """Clips the gradients that exist (a variable the loss does not reach has None)."""
        present = [g for g in grads if g is not None]
        clipped = iter(self._clip_present(present))
        return [None if g is None else next(clipped) for g in grads]

    def _clip_present(self, grads):
        replicas = self.strategy.num_replicas_in_sync
        if replicas > 1:
            # Clip the global gradient, not one replica's share of it.
            grads = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, grads
            )
        if self.clip_norm is not None:
            grads = [tf.clip_by_norm(g, self.clip_norm) for g in grads]
        if self.clip_global_norm is not None:
            grads, _ = tf.clip_by_global_norm(grads, self.clip_global_norm)
        if replicas > 1:
            # Each replica now holds the whole gradient; the optimizer sums
            # the replicas' gradients again, so hand it an equal share.
            grads = [g / replicas for g in grads]
        return grads

    def _loss_parts(self, x, y, sample_weight, training):
        """Per-replica (objective, value and weight for the loss tracker, y_pred)."""
        replicas = self.strategy.num_replicas_in_sync
        local_n = _batch_size(x)
        if replicas > 1:
            global_n = tf.distribute.get_replica_context().all_reduce(
                tf.distribute.ReduceOp.SUM, local_n
            )
        else:
            global_n = local_n
        y_pred = self.model(x, training=training)
        values = self._loss_fn(y, y_pred, sample_weight)
        values = keras.ops.cast(values, "float32")
        per_example = keras.ops.cast(keras.ops.size(values), "float32") / keras.ops.maximum(
            keras.ops.cast(local_n, "float32"), 1.0
        )
        denominator = keras.ops.cast(global_n, "float32") * per_example
        objective = keras.ops.divide_no_nan(keras.ops.sum(values), denominator)
        if self.model.losses:
            regularization = keras.ops.sum(
                keras.ops.stack([keras.ops.cast(l, "float32") for l in self.model.losses])
            )
            objective = objective + regularization / replicas
        # The tracker sums value * weight over replicas. Every replica weighs
        # in with global_n / replicas (its own batch may be empty: a last
        # batch of 1 on 2 replicas), so the sum is objective * global_n and
        # the running mean is exact, regularization included.
        tracked = objective * replicas
        weight = keras.ops.cast(global_n, "float32") / replicas
        return objective, tracked, weight, y_pred

    def _replica_train_step(self, data):
        x, y, sample_weight = _unpack(data)
        variables = self.model.trainable_variables
        with tf.GradientTape() as tape:
            objective, tracked, weight, y_pred = self._loss_parts(x, y, sample_weight, True)
            scaled = self.optimizer.scale_loss(objective)
        grads = tape.gradient(scaled, variables)
        if self.clip_norm is not None or self.clip_global_norm is not None:
            # Clip the true gradients, not the loss-scaled ones (mixed precision).
            scale = keras.ops.cast(self.optimizer.scale_loss(1.0), "float32")
            grads = [None if g is None else g / keras.ops.cast(scale, g.dtype) for g in grads]
            grads = [None if g is None else g * keras.ops.cast(scale, g.dtype) for g in self._clip(grads)]
        self.optimizer.apply(grads, variables)
        self._update_metrics(tracked, weight, y, y_pred, sample_weight)
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            # It expects overflowing gradients: it skips the step and lowers
            # its scale. Only a non-finite loss is an error.
            return objective
        # A finite loss can still have non-finite gradients (NaN inputs under
        # a fused softmax cross-entropy): report the step before a checkpoint
        # saves the weights it poisoned.
        finite = tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in grads if g is not None])
        return tf.where(finite, objective, tf.constant(float("nan"), objective.dtype))

    def _replica_test_step(self, data):
        x, y, sample_weight = _unpack(data)
        objective, tracked, weight, y_pred = self._loss_parts(x, y, sample_weight, False)
        self._update_metrics(tracked, weight, y, y_pred, sample_weight)
        return objective

    def _update_metrics(self, tracked, weight, y, y_pred, sample_weight):
        self.loss_tracker.update_state(tracked, sample_weight=weight)
        for metric in self.metrics:
            # As `compile(metrics=...)`: sample weights weight the loss only.
            metric.update_state(y, y_pred)

    def _logs(self):
        return {m.name: m.result() for m in [self.loss_tracker, *self.metrics]}

    def _function(self, replica_step, mode):
        """The compiled loop body for `replica_step` in `mode` (cached).

        Modes: "next" takes a batch with `get_next` (the caller counts
        batches, as `model.fit` does, or sees OutOfRangeError); "optional"
        runs the step only when the iterator yields one (for datasets of
        unknown length: a call on an exhausted iterator would otherwise still
        run the stateful ops that do not depend on the data, such as the
        optimizer's iteration counter); "worker" is the function scheduled
        on ParameterServerStrategy workers; "local" runs on this process
        without the strategy (evaluation on a ParameterServerStrategy
        coordinator, which reads the variables from the parameter servers).
        """
        key = (replica_step.__name__, mode)
        if key not in self._functions:
            self._functions[key] = self._make_function(replica_step, mode)
        return self._functions[key]

    def _make_function(self, replica_step, mode):
        # No autograph: the step has no tensor-dependent Python control flow.
        step = (
            tf.function(replica_step, jit_compile=True, reduce_retracing=True, autograph=False)
            if self.jit_compile
            else replica_step
        )

        def reduced(data):
            per_replica = self.strategy.run(step, args=(data,))
            return self.strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        def run_next(iterator):
            return tf.constant(True), reduced(iterator.get_next()), self._logs()

        def run_optional(iterator):
            optional = iterator.get_next_as_optional()
            objective = tf.cond(
                optional.has_value(), lambda: reduced(optional.get_value()), lambda: tf.constant(0.0)
            )
            return optional.has_value(), objective, self._logs()

        def run_on_worker(iterator):
            return self.strategy.run(step, args=(iterator.get_next(),))

        def run_local(iterator):
            return tf.constant(True), step(iterator.get_next()), self._logs()

        body = {"next": run_next, "optional": run_optional, "worker": run_on_worker, "local": run_local}[mode]
        return tf.function(body, reduce_retracing=True, autograph=False)

    # -- data --------------------------------------------------------------

    def _data(self, data, name, batch_size, shuffle):
        if data is None:
            return None
        if isinstance(data, TrainingData):
            return data
        prepared = TrainingData(data, name, batch_size=batch_size, shuffle=shuffle, seed=self.seed)
        prepared.check_against(self.model)
        return prepared

    def _distribute(self, dataset):
        if not self._distributed:
            return dataset
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

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
        if callbacks is not None and not isinstance(callbacks, (list, tuple, keras.callbacks.CallbackList)):
            raise invalid("callbacks", "a list of Keras callbacks", callbacks, TypeError)
        data = self._data(train_data, "train_data", batch_size, shuffle)
        validation = self._data(validation_data, "validation_data", batch_size, False)
        if self._parameter_server and steps_per_epoch is None:
            raise invalid(
                "steps_per_epoch",
                "an integer >= 1 under ParameterServerStrategy (workers read "
                "a repeated dataset; the coordinator counts the steps)",
                steps_per_epoch,
            )

        start_epoch, start_step, global_step = 0, 0, 0
        if self._checkpoint is not None:
            restored = self._checkpoint.restore_latest()
            if restored is not None:
                start_epoch, start_step, global_step = restored
        steps = steps_per_epoch or data.num_batches

        callback_list = callbacks if isinstance(callbacks, keras.callbacks.CallbackList) else keras.callbacks.CallbackList(
            list(callbacks or []),
            add_history=True,
            add_progbar=verbose != 0,
            verbose=verbose,
            epochs=epochs,
            steps=steps,
            model=self.model,
        )
        previous_optimizer = self._attach_optimizer()
        try:
            return self._fit(data, validation, epochs, steps_per_epoch, steps, callback_list,
                             start_epoch, start_step, global_step)
        finally:
            if previous_optimizer is not None:
                self.model.optimizer = previous_optimizer

    def _fit(self, data, validation, epochs, steps_per_epoch, steps, callback_list,
             start_epoch, start_step, global_step):
        self.model.stop_training = False
        if self._parameter_server:
            mode = "worker"
        elif (steps is not None and (steps_per_epoch is None or data.is_infinite)) or (
            self.jit_compile and self.strategy.num_replicas_in_sync > 1
        ):
            # Known length: count batches. (XLA steps under a multi-replica
            # strategy cannot sit inside the Optional's tf.cond.)
            mode = "next"
        else:
            mode = "optional"
        train_function = self._function(self._replica_train_step, mode)
        self._may_run_out = mode == "optional"

        callback_list.on_train_begin()
        logs = {}
        epoch_logs = None
        persistent = None
        if steps_per_epoch is not None:
            # One stream across epochs, as `model.fit` does with steps_per_epoch.
            persistent = self._iterator(data.stream(skip=global_step, steps=epochs * steps_per_epoch))
        # Batches per epoch, counted here when known: see `_function`.
        limit = steps_per_epoch if steps_per_epoch is not None else steps
        for epoch in range(start_epoch, epochs):
            skip = start_step if epoch == start_epoch else 0
            if not skip:
                # A resumed epoch keeps the running totals restored with the
                # checkpoint, so its logs equal an uninterrupted epoch's.
                for metric in [self.loss_tracker, *self.metrics]:
                    metric.reset_state()
            callback_list.on_epoch_begin(epoch)
            if persistent is not None:
                iterator = persistent
            else:
                iterator = self._iterator(data.dataset_for_epoch(epoch, skip=skip))
            step_function = train_function
            if not self._parameter_server:
                # Calling the concrete function skips tf.function's per-call
                # signature matching (about a third of a small step's host time).
                step_function = train_function.get_concrete_function(iterator)
            step = skip
            exhausted = interrupted = False
            while limit is None or step < limit:
                callback_list.on_train_batch_begin(step)
                try:
                    logs = self._run_train_step(step_function, iterator)
                except (StopIteration, tf.errors.OutOfRangeError):
                    exhausted = True
                    break
                step += 1
                global_step += 1
                self._check_finite(logs, epoch, step, global_step)
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
            if self._parameter_server:
                self._coordinator.join()
                self._check_finite(None, epoch, step, global_step)
            if exhausted and steps_per_epoch is not None:
                warnings.warn(
                    f"train_data ran out after {step} of steps_per_epoch={steps_per_epoch} "
                    "steps; repeat the dataset (dataset.repeat()). Training stops.",
                    stacklevel=2,
                )
                self.model.stop_training = True
            epoch_logs = {k: float(v) for k, v in self._logs().items()}
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
        function = self._function(self._replica_test_step, "local" if self._parameter_server else "next")
        # Evaluating mid-training (a callback, validation) must not disturb
        # the running training metrics.
        saved = [[v.numpy() for v in m.variables] for m in [self.loss_tracker, *self.metrics]]
        for metric in [self.loss_tracker, *self.metrics]:
            metric.reset_state()
        dataset = prepared.dataset_for_epoch(0)
        iterator = iter(dataset) if self._parameter_server else self._iterator(dataset)
        batches = prepared.num_batches
        progbar = keras.utils.Progbar(batches, verbose=verbose) if verbose else None
        seen = 0
        while batches is None or seen < batches:
            try:
                function(iterator)
            except tf.errors.OutOfRangeError:
                break
            seen += 1
            if progbar is not None:
                progbar.update(seen)
        results = {k: float(v) for k, v in self._logs().items()}
        for metric, values in zip([self.loss_tracker, *self.metrics], saved):
            for variable, value in zip(metric.variables, values):
                variable.assign(value)
        return results

    # -- loop internals ----------------------------------------------------

    def _attach_optimizer(self):
        # Callbacks such as LearningRateScheduler and ReduceLROnPlateau act on
        # `model.optimizer`: it must be the one this loop steps (a compiled
        # model's own optimizer is put back when fit returns).
        previous = getattr(self.model, "optimizer", None)
        self.model.optimizer = self.optimizer
        return previous

    def _iterator(self, dataset):
        if self._parameter_server:
            if self._coordinator is None:
                self._coordinator = tf.distribute.coordinator.ClusterCoordinator(self.strategy)
            per_worker = self._coordinator.create_per_worker_dataset(dataset)
            return iter(per_worker)
        return iter(self._distribute(dataset))

    def _run_train_step(self, function, iterator):
        if self._parameter_server:
            self._coordinator.schedule(function, args=(iterator,))
            return {}
        has_value, objective, logs = function(iterator)
        if self._may_run_out and not bool(has_value):
            raise StopIteration
        self._last_objective = objective
        return logs

    def _check_finite(self, logs, epoch, step, global_step):
        if self._parameter_server:
            if logs is not None:
                return
            value = float(self.loss_tracker.result())
        else:
            value = float(self._last_objective)
        if math.isfinite(value):
            return
        where = f"epoch {epoch + 1}, step {step} (global step {global_step})"
        if self._checkpoint is not None and self._checkpoint.latest is not None:
            path = self._checkpoint.latest
            self._checkpoint.restore_latest()
            kept = (
                f"The last good checkpoint {path} was kept and restored into "
                "the model; fix the cause and call fit again to resume from it."
            )
        else:
            kept = (
                "No checkpoint was written yet (pass checkpoint_dir= and "
                "checkpoint_every= to keep good states); the model's weights "
                "are those after the failing step."
            )
        raise NonFiniteLossError(
            f"The training loss (or its gradient) became {value} at {where}. Common causes: a "
            "learning rate too high, log/division of zero in the loss, or "
            f"non-finite values in the data. {kept}"
        )

    def _save(self, epoch, step_in_epoch, global_step):
        if self._parameter_server:
            self._coordinator.join()
            # Workers' losses are only seen here: never save poisoned weights.
            self._check_finite(None, epoch, step_in_epoch, global_step)
        self._checkpoint.save(epoch, step_in_epoch, global_step)

