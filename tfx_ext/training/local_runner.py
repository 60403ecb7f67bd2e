"""The runner for strategies whose steps run in this process.

The default strategy, `MirroredStrategy` and `MultiWorkerMirroredStrategy`:
each call of the compiled function runs a step on every replica and returns
the reduced loss, so each step's loss is checked as soon as it ran.
"""

import tensorflow as tf

from tfx_ext._core.arguments import invalid
from tfx_ext.training.runner import Runner


class LocalRunner(Runner):
    """Runs steps synchronously through `strategy.run` (see `Runner`)."""

    @staticmethod
    def check_jit_compile(strategy, jit_compile):
        local_devices = []
        if jit_compile and strategy.num_replicas_in_sync > 1:
            local_devices = list(strategy.extended.worker_devices)
        if (
            jit_compile
            and len(local_devices) > 1
            and all("CPU" in d.upper() for d in local_devices)
        ):
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

    _test_mode = "next"

    def __init__(self, strategy, replica_step, jit_compile, distributed, steps_per_execution=1):
        super().__init__(strategy, replica_step, jit_compile, distributed, steps_per_execution)
        self._train = None
        self._call = None
        self._call_spec = None
        self._may_run_out = False
        self._last_objective = None

    def _distribute(self, dataset):
        if not self.distributed:
            return dataset
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        return self.strategy.experimental_distribute_dataset(dataset.with_options(options))

    def _one_steps(self, step):
        """Modes: "next" takes a batch with `get_next` (the caller counts
        batches, as `model.fit` does, or sees OutOfRangeError); "optional"
        runs the step only when the iterator yields one (for datasets of
        unknown length: a call on an exhausted iterator would otherwise still
        run the stateful ops that do not depend on the data, such as the
        optimizer's iteration counter)."""
        strategy = self.strategy

        def reduced(data):
            per_replica = strategy.run(step, args=(data,))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)

        def run_next(iterator):
            return tf.constant(True), reduced(iterator.get_next())

        def run_optional(iterator):
            optional = iterator.get_next_as_optional()
            objective = tf.cond(
                optional.has_value(),
                lambda: reduced(optional.get_value()),
                lambda: tf.constant(0.0),
            )
            return optional.has_value(), objective

        return {"next": run_next, "optional": run_optional}

    def iterator(self, dataset):
        return iter(self._distribute(dataset))

    def begin_fit(self, data, steps_per_epoch, steps):
        if (steps is not None and (steps_per_epoch is None or data.is_infinite)) or (
            self.jit_compile and self.strategy.num_replicas_in_sync > 1
        ):
            # Known length: count batches. (XLA steps under a multi-replica
            # strategy cannot sit inside the Optional's tf.cond.)
            mode = "next"
        else:
            mode = "optional"
        train = self._function(self.replica_step.train, mode)
        if train is not self._train:
            self._train, self._call = train, None
        self._may_run_out = mode == "optional"

    def begin_epoch(self, iterator):
        self._iterator = iterator
        # Calling the concrete function skips tf.function's per-call
        # signature matching (about a third of a small step's host time);
        # each epoch's iterator has the same spec, so one lookup per fit.
        spec = (type(iterator), iterator.element_spec)
        if self._call is None or spec != self._call_spec:
            if self.steps_per_execution == 1:
                self._call = self._train.get_concrete_function(iterator)
            else:
                self._call = self._train.get_concrete_function(
                    iterator, tf.TensorSpec([], tf.int32)
                )
            self._call_spec = spec

    def run_steps(self, count):
        if self.steps_per_execution == 1:
            has_value, objective, logs = self._call(self._iterator)
            if self._may_run_out and not bool(has_value):
                raise StopIteration
            ran = 1
        else:
            ran, objective, logs = self._call(self._iterator, self._count(count))
            ran = int(ran)
            if not ran:
                raise StopIteration
        self._last_objective = objective
        return ran, logs

    def last_loss(self):
        return float(self._last_objective)

    def _test_input(self, dataset):
        return self.iterator(dataset)
