"""How a `Trainer`'s compiled steps run: the interface of a runner.

The epoch loop (`Trainer.fit`) is the same under every strategy: it asks a
runner for an iterator, runs steps, checks the loss and saves checkpoints. A
runner owns what differs between strategies, as Keras's backend trainer and
`EpochIterator` do for `fit`: the compiled functions (their modes), the
iterators, how steps are scheduled, when a step's loss can be checked for
finiteness, and the counters that must be updated atomically.
"""

import tensorflow as tf

from tfx_ext.training.iterator_release import release


class Runner:
    """Runs a `ReplicaStep` under one kind of `tf.distribute` strategy.

    Args:
        strategy: The `tf.distribute` strategy (or the default one).
        replica_step: The `ReplicaStep` to run on each replica.
        jit_compile: Compile the replica step with XLA.
        distributed: Whether a strategy is in use (datasets are then
            distributed with it).
        steps_per_execution: Steps run by one call of a compiled function.
    """

    def __init__(self, strategy, replica_step, jit_compile, distributed, steps_per_execution=1):
        self.strategy = strategy
        self.replica_step = replica_step
        self.jit_compile = jit_compile
        self.distributed = distributed
        self.steps_per_execution = steps_per_execution
        self._functions = {}
        self._counts = {}
        self._iterator = None
        self._test = None
        self._test_iterator = None

    # -- what a runner may refuse or adjust ------------------------------

    @staticmethod
    def check_jit_compile(strategy, jit_compile):
        """Raises when this runner cannot run XLA-compiled steps on `strategy`."""

    def check_steps_per_epoch(self, steps_per_epoch):
        """Raises when `fit`'s `steps_per_epoch` cannot work with this runner."""

    # -- training --------------------------------------------------------

    def begin_fit(self, data, steps_per_epoch, steps):
        """Prepares the train function for `data` (a `TrainingData`).

        `steps` is the number of batches per epoch when known (None if not).
        """
        raise NotImplementedError

    def iterator(self, dataset):
        """An iterator over `dataset` as the train function reads it."""
        raise NotImplementedError

    def begin_epoch(self, iterator):
        """Sets the iterator the next `run_steps` calls read."""
        raise NotImplementedError

    def run_steps(self, count):
        """Runs (or schedules) up to `count` steps.

        Returns:
            (steps run, logs after them); the logs are empty when the
            runner does not see them at once.

        Raises:
            StopIteration or `tf.errors.OutOfRangeError`: the data ran out
                before a step could run.
        """
        raise NotImplementedError

    def last_loss(self):
        """The loss of the steps just run, or None when it is only known at
        `finish_steps` (a NaN when a gradient was not finite)."""
        raise NotImplementedError

    def finish_steps(self):
        """Waits for every scheduled step; returns the loss to check, or None
        when `last_loss` already checked each step."""
        return None

    def end_epoch(self):
        """Lets go of the epoch's iterator once its steps are done.

        Deleting an iterator waits for its prefetching threads to stop: it
        is dropped on a background thread (`iterator_release`), not when the
        next epoch's iterator replaces it. An iterator that runs across
        epochs (`steps_per_epoch`) stays alive: the epoch loop holds it.
        """
        iterator, self._iterator = self._iterator, None
        release(iterator)

    # -- evaluation ------------------------------------------------------

    def begin_test(self, dataset):
        """Prepares `test_steps` to read `dataset`."""
        self._test = self._function(self.replica_step.test, self._test_mode)
        self._test_iterator = self._test_input(dataset)

    def end_test(self):
        """Lets go of the evaluation iterator (see `end_epoch`)."""
        iterator, self._test_iterator = self._test_iterator, None
        release(iterator)

    def test_steps(self, count):
        """Runs up to `count` evaluation steps; returns how many ran.

        Raises:
            `tf.errors.OutOfRangeError`: the data ran out.
        """
        if self.steps_per_execution == 1:
            self._test(self._test_iterator)
            return 1
        ran, _, _ = self._test(self._test_iterator, self._count(count))
        return int(ran)

    # -- shared by the runners -------------------------------------------

    _test_mode = None

    def _test_input(self, dataset):
        raise NotImplementedError

    def _count(self, count):
        """`count` as a tensor, so each group size reuses one trace."""
        if count not in self._counts:
            self._counts[count] = tf.constant(count, tf.int32)
        return self._counts[count]

    def _function(self, step, mode):
        """The compiled function running `step` in `mode` (cached).

        With `steps_per_execution` 1 it is `function(iterator)`, one step;
        otherwise `function(iterator, count)` runs up to `count` steps in a
        `tf.while_loop`, as Keras's `fit` does, and stops early when the data
        runs out or a loss is not finite (so that step can be reported).
        Both return (steps run or whether a step ran, the last loss, logs).
        """
        key = (step.__name__, mode)
        if key not in self._functions:
            one_step = self._one_steps(self._compiled_step(step))[mode]
            if self.steps_per_execution == 1:
                body = self._single(one_step, mode)
            else:
                body = self._group(one_step)
            # No autograph: the bodies have no tensor-dependent Python control flow.
            self._functions[key] = tf.function(body, reduce_retracing=True, autograph=False)
        return self._functions[key]

    def _compiled_step(self, step):
        if not self.jit_compile:
            return step
        return tf.function(step, jit_compile=True, reduce_retracing=True, autograph=False)

    def _one_steps(self, step):
        """Per mode, `one_step(iterator) -> (whether a step ran, its loss)`."""
        raise NotImplementedError

    def _single(self, one_step, mode):
        logs = self.replica_step.logs

        def run_one(iterator):
            return (*one_step(iterator), logs())

        return run_one

    def _group(self, one_step):
        logs = self.replica_step.logs

        def run_group(iterator, count):
            def more(ran, loss, has_value):
                return tf.logical_and(
                    tf.logical_and(ran < count, has_value), tf.math.is_finite(loss)
                )

            def step(ran, loss, has_value):
                has_value, loss = one_step(iterator)
                return ran + tf.cast(has_value, tf.int32), loss, has_value

            ran, loss, _ = tf.while_loop(
                more, step, (tf.constant(0), tf.constant(0.0), tf.constant(True))
            )
            return ran, loss, logs()

        return run_group
