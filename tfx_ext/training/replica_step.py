"""One training or evaluation step on one replica's share of a batch.

The counterpart of Keras's `train_step`/`test_step`: the loss over the
*global* batch plus `model.losses`, the gradient clipped after the all-reduce
(so clipping sees the global gradient), one optimizer or a per-part
`MultiOptimizer`, and the running loss and metrics. It knows nothing of
iterators, compiled functions or how steps are scheduled: a `Runner` calls it
inside `strategy.run`.
"""

import contextlib

import keras
import tensorflow as tf
from keras import tree


def _unpack(data):
    if len(data) == 3:
        return data
    return data[0], data[1], None


def _all_finite(grads, jit_compile=False):
    """Whether every gradient is finite, as one scalar.

    Without XLA: `g * 0` is 0 where `g` is finite and NaN where it is NaN or
    infinite, so the sum of those products is finite exactly when every
    gradient is (no overflow is possible: every finite term is 0). On CPU
    this is an order of magnitude cheaper than `reduce_all(is_finite(g))`
    per gradient, which cost a small model's step about a quarter of its
    time. XLA is the other way round: it fuses `is_finite` into one cheap
    pass and makes the sums cost a sixth of the step
    (`scripts/bench/training_loop.py`, digits MLP).
    """
    # Only the rows a sparse gradient touches can be non-finite.
    present = [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads if g is not None]
    if not present:
        return tf.constant(True)
    if jit_compile:
        return tf.reduce_all([tf.reduce_all(tf.math.is_finite(g)) for g in present])
    sums = [tf.cast(tf.reduce_sum(g * tf.zeros([], g.dtype)), tf.float32) for g in present]
    return tf.math.is_finite(tf.add_n(sums))


def _batch_size(x):
    return tf.shape(tree.flatten(x)[0])[0]


class ReplicaStep:
    """The per-replica train and test steps of a `Trainer`.

    Args:
        model: The Keras model.
        loss_fn: An unreduced Keras loss (`losses_and_metrics.unreduced_loss`).
        optimizer: The built optimizer (possibly a `MultiOptimizer`).
        loss_tracker: The `keras.metrics.Mean` logged as "loss".
        metrics: The Keras metrics updated with (y, y_pred).
        strategy: The `tf.distribute` strategy (or the default one).
        clip_norm: Clip each gradient to this L2 norm, or None.
        clip_global_norm: Clip all gradients to this global L2 norm, or None.
        jit_compile: Whether the step is compiled with XLA (it picks the
            cheaper form of the gradient finiteness check).
    """

    def __init__(
        self,
        model,
        loss_fn,
        optimizer,
        loss_tracker,
        metrics,
        strategy,
        clip_norm=None,
        clip_global_norm=None,
        jit_compile=False,
    ):
        self.model = model
        self.loss_fn = loss_fn
        self.optimizer = optimizer
        self.loss_tracker = loss_tracker
        self.metrics = metrics
        self.strategy = strategy
        self.clip_norm = clip_norm
        self.clip_global_norm = clip_global_norm
        self.jit_compile = jit_compile

    @property
    def tracked_metrics(self):
        """The loss tracker followed by the metrics."""
        return [self.loss_tracker, *self.metrics]

    def logs(self):
        return {m.name: m.result() for m in self.tracked_metrics}

    @contextlib.contextmanager
    def metrics_set_aside(self):
        """Resets the loss tracker and metrics, and puts their values back on exit."""
        saved = [[v.numpy() for v in m.variables] for m in self.tracked_metrics]
        for metric in self.tracked_metrics:
            metric.reset_state()
        try:
            yield
        finally:
            for metric, values in zip(self.tracked_metrics, saved):
                for variable, value in zip(metric.variables, values):
                    variable.assign(value)

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
        values = self.loss_fn(y, y_pred, sample_weight)
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

    def train(self, data):
        """One optimizer step; returns this replica's share of the loss
        (NaN when a gradient is not finite)."""
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
            grads = [
                None if g is None else g * keras.ops.cast(scale, g.dtype) for g in self._clip(grads)
            ]
        self.optimizer.apply(grads, variables)
        self._update_metrics(tracked, weight, y, y_pred, sample_weight)
        if isinstance(self.optimizer, keras.optimizers.LossScaleOptimizer):
            # It expects overflowing gradients: it skips the step and lowers
            # its scale. Only a non-finite loss is an error.
            return objective
        # A finite loss can still have non-finite gradients (NaN inputs under
        # a fused softmax cross-entropy): report the step before a checkpoint
        # saves the weights it poisoned.
        return tf.where(
            _all_finite(grads, self.jit_compile),
            objective,
            tf.constant(float("nan"), objective.dtype),
        )

    def test(self, data):
        """Updates the loss tracker and metrics; returns this replica's share of the loss."""
        x, y, sample_weight = _unpack(data)
        objective, tracked, weight, y_pred = self._loss_parts(x, y, sample_weight, False)
        self._update_metrics(tracked, weight, y, y_pred, sample_weight)
        return objective

    def _update_metrics(self, tracked, weight, y, y_pred, sample_weight):
        self.loss_tracker.update_state(tracked, sample_weight=weight)
        for metric in self.metrics:
            # As `compile(metrics=...)`: sample weights weight the loss only.
            metric.update_state(y, y_pred)
