"""Trainer checkpoints: a resumed run equals an uninterrupted one.

Reference: the same seeded run without interruption (and without a checkpoint
directory). The resumed run always starts from a model built with another seed
(other initial weights, another dropout seed), so everything that makes it
equal the reference has to come from the checkpoint: weights, every
sub-optimizer's iteration counter and slots, the dropout RNG state, the running
metric totals of an unfinished epoch, and the position in the data.
"""

import math
import os
import shutil
import signal
import sys
import tempfile
import time
from unittest import mock

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.fork_server import ForkServer
from tests.training.models import mlp, wide_and_deep_trainer
from tfx_ext.training import Trainer, TrainingCheckpoint

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "resumable_run.py")

EXAMPLES, BATCH = 320, 32  # 10 steps per epoch
STEPS_PER_EPOCH = EXAMPLES // BATCH
EPOCHS = 3


def temp_dir(test):
    path = tempfile.mkdtemp(prefix="tfx_ext_ckpt_test_")
    test.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def arrays():
    x_train, y_train, x_test, y_test = digits()
    return (x_train[:EXAMPLES], y_train[:EXAMPLES]), (x_test[:100], y_test[:100])


def unshuffled_dataset(unknown_length=False):
    dataset = tf.data.Dataset.from_tensor_slices(arrays()[0]).batch(BATCH)
    if unknown_length:
        dataset = dataset.filter(lambda x, y: True)
        assert int(dataset.cardinality()) == tf.data.UNKNOWN_CARDINALITY
    return dataset


def make_trainer(directory=None, seed=0, checkpoint_every=None, keep_checkpoints=3):
    return wide_and_deep_trainer(directory, seed, 0.3, checkpoint_every, keep_checkpoints)


def ckpt(directory, number):
    return os.path.join(directory, f"ckpt-{number}")


def counters(path):
    reader = tf.train.load_checkpoint(path)
    return tuple(
        int(reader.get_tensor(f"{name}/.ATTRIBUTES/VARIABLE_VALUE"))
        for name in ("epoch", "step_in_epoch", "global_step")
    )


class StopAt(keras.callbacks.Callback):
    """Sets `model.stop_training` after batch `batch` of epoch `epoch`, or at
    that epoch's end when `batch` is None (as EarlyStopping does)."""

    def __init__(self, epoch, batch=None):
        super().__init__()
        self.stop_epoch, self.stop_batch = epoch, batch
        self.epoch = None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == self.stop_epoch and batch == self.stop_batch:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        if self.stop_batch is None and epoch == self.stop_epoch:
            self.model.stop_training = True


class CrashAt(keras.callbacks.Callback):
    """Raises after global step `step` (an in-process stand-in for a crash)."""

    def __init__(self, step):
        super().__init__()
        self.step, self.done = step, 0

    def on_train_batch_end(self, batch, logs=None):
        self.done += 1
        if self.done == self.step:
            raise RuntimeError("simulated crash")


class BatchLog(keras.callbacks.Callback):
    """Records (epoch, batch) of every step run."""

    def __init__(self):
        super().__init__()
        self.steps, self.epoch = [], None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append((self.epoch, batch))


class ResumeEqualsUninterruptedTest(tf.test.TestCase):
    def assert_same_state(self, trainer, reference, steps):
        """Model variables (weights and dropout seed state) and every optimizer's
        variables (iterations, learning rate, slots) equal the reference's."""
        self.assertLen(trainer.model.variables, len(reference.model.variables))
        for got, want in zip(trainer.model.variables, reference.model.variables):
            self.assert_variable_equal(got, want)
        self.assertEqual(int(trainer.optimizer.iterations), int(reference.optimizer.iterations))
        got_subs, want_subs = trainer.optimizer.optimizers, reference.optimizer.optimizers
        self.assertEqual([type(o) for o in got_subs], [type(o) for o in want_subs])
        for got_opt, want_opt in zip(got_subs, want_subs):
            # Not a vacuous comparison: both took every step of the run.
            self.assertEqual(int(want_opt.iterations), steps)
            self.assertEqual(int(got_opt.iterations), steps)
            self.assertLen(got_opt.variables, len(want_opt.variables))
            for got, want in zip(got_opt.variables, want_opt.variables):
                self.assert_variable_equal(got, want)

    def assert_variable_equal(self, got, want):
        self.assertEqual(got.shape, want.shape, msg=want.path)
        if got.dtype in ("float32", "float64"):
            self.assertAllClose(got.numpy(), want.numpy(), rtol=0, atol=1e-6, msg=want.path)
        else:
            self.assertAllEqual(got.numpy(), want.numpy(), msg=want.path)

    def assert_history_equal(self, history, reference, epochs):
        self.assertEqual(history.epoch, epochs)
        self.assertEqual(set(history.history), set(reference.history))
        for key, values in reference.history.items():
            self.assertAllClose(
                history.history[key], [values[e] for e in epochs], rtol=1e-6, atol=0, msg=key
            )

    def interrupted_then_resumed(
        self, fit_kwargs, interrupt, epochs=EPOCHS, checkpoint_every=None, crash=False
    ):
        """Runs reference, interrupted and resumed fits; returns (resumed, reference,
        the resumed fit's history, the reference history, the resumed (epoch, batch)
        steps, what the interrupted run left: its newest checkpoint's number and
        counters, and the numbers of the checkpoints it kept)."""
        reference = make_trainer()
        reference_history = reference.fit(epochs=epochs, verbose=0, **fit_kwargs())

        directory = temp_dir(self)
        first = make_trainer(directory, checkpoint_every=checkpoint_every)
        if crash:
            with self.assertRaisesRegex(RuntimeError, "simulated crash"):
                first.fit(epochs=epochs, verbose=0, callbacks=[interrupt], **fit_kwargs())
        else:
            first.fit(epochs=epochs, verbose=0, callbacks=[interrupt], **fit_kwargs())
        newest = first.latest_checkpoint
        kept = [
            int(p.rsplit("-", 1)[1])
            for p in tf.train.get_checkpoint_state(directory).all_model_checkpoint_paths
        ]
        interrupted_at = (int(newest.rsplit("-", 1)[1]), counters(newest), kept)

        resumed = make_trainer(directory, seed=1, checkpoint_every=checkpoint_every)
        log = BatchLog()
        history = resumed.fit(epochs=epochs, verbose=0, callbacks=[log], **fit_kwargs())
        return resumed, reference, history, reference_history, log.steps, interrupted_at

    def test_stop_mid_epoch_then_resume(self):
        """Shuffled arrays, validation data; a callback stops after batch 3 of epoch 1."""
        (x, y), validation = arrays()
        resumed, reference, history, reference_history, steps, stopped_at = (
            self.interrupted_then_resumed(
                lambda: dict(train_data=(x, y), batch_size=BATCH, validation_data=validation),
                StopAt(epoch=1, batch=3),
                checkpoint_every=4,
            )
        )
        # The stop saved (epoch 1, 4 batches done) at global step 14, between
        # the periodic checkpoints 12 and 16.
        self.assertEqual(stopped_at, (14, (1, 4, 14), [10, 12, 14]))
        # The resumed run did exactly the remaining batches, once each.
        self.assertEqual(steps, [(1, b) for b in range(4, 10)] + [(2, b) for b in range(10)])
        self.assert_same_state(resumed, reference, steps=EPOCHS * STEPS_PER_EPOCH)
        # Epoch 1 is reported over all its batches (the running totals of its
        # first 4 batches came from the checkpoint), as in the reference.
        self.assert_history_equal(history, reference_history, [1, 2])

    def test_stop_at_epoch_end_then_resume(self):
        """An EarlyStopping-like stop at the end of epoch 1; the resumed fit asks for 4 epochs."""
        (x, y), _ = arrays()
        resumed, reference, history, reference_history, steps, stopped_at = (
            self.interrupted_then_resumed(
                lambda: dict(train_data=(x, y), batch_size=BATCH),
                StopAt(epoch=1),
                epochs=4,
            )
        )
        # Without checkpoint_every, only epoch ends were saved.
        self.assertEqual(stopped_at, (20, (2, 0, 20), [10, 20]))
        self.assertEqual(steps, [(e, b) for e in (2, 3) for b in range(10)])
        self.assert_same_state(resumed, reference, steps=4 * STEPS_PER_EPOCH)
        self.assert_history_equal(history, reference_history, [2, 3])

    def test_unshuffled_dataset_is_replayed_with_skip(self):
        """A tf.data dataset (known length): the resumed epoch skips the consumed batches."""
        resumed, reference, history, reference_history, steps, stopped_at = (
            self.interrupted_then_resumed(
                lambda: dict(train_data=unshuffled_dataset()),
                StopAt(epoch=1, batch=6),
            )
        )
        self.assertEqual(stopped_at, (17, (1, 7, 17), [10, 17]))
        self.assertEqual(steps, [(1, b) for b in range(7, 10)] + [(2, b) for b in range(10)])
        self.assert_same_state(resumed, reference, steps=EPOCHS * STEPS_PER_EPOCH)
        self.assert_history_equal(history, reference_history, [1, 2])

    def test_dataset_of_unknown_length_is_replayed_with_skip(self):
        """Same with a dataset whose cardinality is unknown (the loop runs until it ends)."""
        resumed, reference, history, reference_history, steps, stopped_at = (
            self.interrupted_then_resumed(
                lambda: dict(train_data=unshuffled_dataset(unknown_length=True)),
                StopAt(epoch=0, batch=2),
            )
        )
        self.assertEqual(stopped_at, (3, (0, 3, 3), [3]))
        self.assertEqual(
            steps, [(0, b) for b in range(3, 10)] + [(e, b) for e in (1, 2) for b in range(10)]
        )
        self.assert_same_state(resumed, reference, steps=EPOCHS * STEPS_PER_EPOCH)
        self.assert_history_equal(history, reference_history, [0, 1, 2])

    def test_steps_per_epoch_over_a_repeated_dataset(self):
        """steps_per_epoch=7 over a repeated 10-batch dataset: epochs straddle passes,
        so the resumed iterator must skip the global step count, not the epoch's."""
        resumed, reference, history, reference_history, steps, stopped_at = (
            self.interrupted_then_resumed(
                lambda: dict(train_data=unshuffled_dataset().repeat(), steps_per_epoch=7),
                StopAt(epoch=1, batch=4),
                checkpoint_every=5,
            )
        )
        # Periodic saves at 5 and 10, the end of epoch 0 at 7, the stop at 12.
        self.assertEqual(stopped_at, (12, (1, 5, 12), [7, 10, 12]))
        self.assertEqual(steps, [(1, 5), (1, 6)] + [(2, b) for b in range(7)])
        self.assert_same_state(resumed, reference, steps=EPOCHS * 7)
        self.assert_history_equal(history, reference_history, [1, 2])

    def test_crash_resumes_from_the_periodic_checkpoint(self):
        """An exception after global step 14 (no stop-save): the newest checkpoint
        is the periodic one of step 12, so steps 13 and 14 are done again."""
        (x, y), _ = arrays()
        resumed, reference, history, reference_history, steps, crashed_at = (
            self.interrupted_then_resumed(
                lambda: dict(train_data=(x, y), batch_size=BATCH),
                CrashAt(step=14),
                checkpoint_every=4,
                crash=True,
            )
        )
        self.assertEqual(crashed_at, (12, (1, 2, 12), [8, 10, 12]))
        self.assertEqual(steps, [(1, b) for b in range(2, 10)] + [(2, b) for b in range(10)])
        self.assert_same_state(resumed, reference, steps=EPOCHS * STEPS_PER_EPOCH)
        self.assert_history_equal(history, reference_history, [1, 2])


class CheckpointContentsTest(tf.test.TestCase):
    def test_numbering_retention_counters_and_dropout_state(self):
        (x, y), _ = arrays()
        directory = temp_dir(self)
        trainer = make_trainer(directory, checkpoint_every=3, keep_checkpoints=2)
        seed_state = [v for v in trainer.model.variables if v.name == "seed_generator_state"]
        self.assertLen(seed_state, 1)  # the one Dropout layer
        initial_seed_state = seed_state[0].numpy().copy()

        class NewestBeforeEachStep(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.newest = []

            def on_train_batch_begin(self, batch, logs=None):
                path = trainer.latest_checkpoint
                self.newest.append(None if path is None else int(path.rsplit("-", 1)[1]))

        newest = NewestBeforeEachStep()
        trainer.fit((x, y), epochs=2, batch_size=BATCH, verbose=0, callbacks=[newest])

        # Saved every 3 global steps and at each epoch end (10, 20), numbered by global step.
        saved = sorted({*range(3, 21, 3), 10, 20})
        self.assertEqual(
            newest.newest,
            [max([s for s in saved if s < step], default=None) for step in range(1, 21)],
        )
        # keep_checkpoints=2: only the two newest remain, in the state file and on disk.
        state = tf.train.get_checkpoint_state(directory)
        self.assertEqual(
            list(state.all_model_checkpoint_paths), [ckpt(directory, 18), ckpt(directory, 20)]
        )
        self.assertEqual(state.model_checkpoint_path, ckpt(directory, 20))
        self.assertEqual(trainer.latest_checkpoint, ckpt(directory, 20))
        self.assertEqual(
            sorted(f for f in os.listdir(directory) if f.endswith(".index")),
            ["ckpt-18.index", "ckpt-20.index"],
        )

        # ckpt-18: epoch 1 with 8 batches done; each sub-optimizer took 18 steps;
        # the dropout seed advanced once per training step; the running loss
        # metric counts the 8 * 32 examples of this epoch so far.
        reader = tf.train.load_checkpoint(ckpt(directory, 18))
        keys = reader.get_variable_to_shape_map()
        self.assertEqual(counters(ckpt(directory, 18)), (1, 8, 18))
        for j in range(len(trainer.optimizer.optimizers)):
            self.assertEqual(
                int(reader.get_tensor(f"optimizer_{j}/_iterations/.ATTRIBUTES/VARIABLE_VALUE")), 18
            )
        seed_key = "seed_states/0/.ATTRIBUTES/VARIABLE_VALUE"
        self.assertIn(seed_key, keys)
        self.assertAllEqual(reader.get_tensor(seed_key), initial_seed_state + [0, 18])
        self.assertIn("tf_global_generator/_state_var/.ATTRIBUTES/VARIABLE_VALUE", keys)
        loss_count = trainer.loss_tracker.variables[1]
        self.assertEqual(loss_count.name, "count")
        # Metric totals are keyed by the variable's path, so adding or reordering metrics keeps them apart.
        key = f"metrics/{loss_count.path.replace('/', '-')}/.ATTRIBUTES/VARIABLE_VALUE"
        self.assertEqual(key, "metrics/loss-count/.ATTRIBUTES/VARIABLE_VALUE")
        self.assertEqual(float(reader.get_tensor(key)), 8 * BATCH)
        # ckpt-20 (end of epoch 1): resume at the start of epoch 2.
        self.assertEqual(counters(ckpt(directory, 20)), (2, 0, 20))
        self.assertAllEqual(
            tf.train.load_checkpoint(ckpt(directory, 20)).get_tensor(seed_key),
            initial_seed_state + [0, 20],
        )

        # A fresh trainer (other seed: other weights, other dropout seed) restores
        # everything, and has nothing left to train.
        restored = make_trainer(directory, seed=1)
        restored_seed = [v for v in restored.model.variables if v.name == "seed_generator_state"][0]
        self.assertNotAllEqual(restored_seed.numpy()[0], seed_state[0].numpy()[0])
        history = restored.fit((x, y), epochs=2, batch_size=BATCH, verbose=0)
        self.assertEqual(history.epoch, [])
        for got, want in zip(restored.model.variables, trainer.model.variables):
            self.assertAllEqual(got.numpy(), want.numpy(), msg=want.path)
        for got_opt, want_opt in zip(restored.optimizer.optimizers, trainer.optimizer.optimizers):
            for got, want in zip(got_opt.variables, want_opt.variables):
                self.assertAllEqual(got.numpy(), want.numpy(), msg=want.path)

    def test_no_checkpoint_number_is_written_twice(self):
        """A save must not rewrite the newest checkpoint in place. TensorFlow
        writes a checkpoint by renaming its new data file over the old one and
        then truncating and rewriting `ckpt-N.index` (MergeBundles, no temporary
        file for the index): a SIGKILL in between leaves the newest checkpoint
        unreadable (checksum mismatch, or "file is too short to be an sstable")
        and `fit` cannot resume. Here the end of epoch 0 (step 10) and the stop
        after step 15 both fall on checkpoint_every=5 steps."""
        (x, y), _ = arrays()
        written = []
        save = TrainingCheckpoint.save

        def spy(checkpoint, epoch, step_in_epoch, global_step):
            written.append(global_step)
            return save(checkpoint, epoch, step_in_epoch, global_step)

        with mock.patch.object(TrainingCheckpoint, "save", spy):
            trainer = Trainer(
                mlp(0, dropout=0.2),
                "sparse_categorical_crossentropy",
                "adam",
                checkpoint_dir=temp_dir(self),
                checkpoint_every=5,
            )
            trainer.fit(
                (x, y), epochs=2, batch_size=BATCH, verbose=0, callbacks=[StopAt(epoch=1, batch=4)]
            )
        self.assertEqual(counters(trainer.latest_checkpoint), (1, 5, 15))
        self.assertEqual(written, [5, 10, 15])


def mlp_two_hidden(seed=0):
    """mlp() with one more hidden layer: a different architecture whose first
    layer still fits mlp()'s checkpoint."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu", name="hidden"),
            keras.layers.Dense(32, activation="relu", name="hidden_2"),
            keras.layers.Dropout(0.2, name="dropout"),
            keras.layers.Dense(10, activation="softmax", name="output"),
        ]
    )


class DifferentArchitectureTest(tf.test.TestCase):
    def setUp(self):
        (self.x, self.y), _ = arrays()
        self.directory = temp_dir(self)
        trainer = Trainer(
            mlp(0, dropout=0.2),
            "sparse_categorical_crossentropy",
            "adam",
            checkpoint_dir=self.directory,
        )
        trainer.fit((self.x, self.y), epochs=1, batch_size=BATCH, verbose=0)

    def fit_other_model(self, model):
        trainer = Trainer(
            model, "sparse_categorical_crossentropy", "adam", checkpoint_dir=self.directory
        )
        trainer.fit((self.x, self.y), epochs=2, batch_size=BATCH, verbose=0)

    @rejects_bad_input(Trainer, TrainingCheckpoint)
    def test_restoring_into_a_different_architecture_raises(self):
        # TensorFlow's error names the mismatching variable and both shapes.
        with self.assertRaisesRegex(ValueError, r"shape \(32, 10\).*shape \(32, 32\)"):
            self.fit_other_model(mlp_two_hidden(1))

    def test_a_failed_restore_leaves_the_model_untouched(self):
        # The restore is not atomic: the variables matched before the mismatch
        # are overwritten with the checkpoint's values, so a caller that
        # catches the error and trains elsewhere trains a hybrid model.
        model = mlp_two_hidden(1)
        before = [v.numpy().copy() for v in model.variables]
        with self.assertRaises(ValueError):
            self.fit_other_model(model)
        for variable, value in zip(model.variables, before):
            self.assertAllEqual(
                variable.numpy(), value, msg=f"{variable.path} was changed by a failed restore"
            )


# -- SIGKILL ------------------------------------------------------------------

STEPS = 22  # resumable_run.py: 1347 digits training examples in batches of 64
TOTAL = 4 * STEPS
EVERY = 5  # resumable_run.py's default checkpoint_every
TIMEOUT = 300  # seconds for the whole test


class SigkillResumeTest(tf.test.TestCase):
    """resumable_run.py killed with SIGKILL, then run again on the same checkpoint
    directory, against an uninterrupted run of the same script.

    The runs are children forked by resumable_run.py's fork server, which
    imports TensorFlow once (a fresh interpreter per run would spend ~5 s of
    the 2 cores importing it)."""

    def setUp(self):
        self.assertEqual(math.ceil(len(digits()[0]) / 64), STEPS)
        self.tmp = temp_dir(self)
        self.deadline = time.monotonic() + TIMEOUT
        self.pids = {}  # name -> pid of runs not reaped yet
        env = dict(
            os.environ,
            TF_CPP_MIN_LOG_LEVEL="2",
            KERAS_BACKEND="tensorflow",
            PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]),
        )
        self.server = ForkServer(
            self,
            [sys.executable, SCRIPT, "--serve"],
            os.path.join(self.tmp, "server.log"),
            env,
            self.tmp,
            self.outputs,
        )
        self._expect("ready")

    def _expect(self, prefix):
        """The rest of the server's next line, which must start with `prefix`."""
        return self.server.expect(prefix, self.deadline)

    def outputs(self):
        texts = []
        for name in sorted(f for f in os.listdir(self.tmp) if f.endswith((".out", ".log"))):
            with open(os.path.join(self.tmp, name), errors="replace") as f:
                texts.append(f"--- {name}:\n{f.read()[-1500:]}")
        return "\n".join(texts)

    def path(self, name, extension):
        return os.path.join(self.tmp, f"{name}.{extension}")

    def start(self, name, checkpoints, *args):
        """Forks a run writing <tmp>/<name>.{log,npz,out}, checkpointing into <tmp>/<checkpoints>.ckpt."""
        self.server.send(
            " ".join(
                [
                    "run",
                    name,
                    self.path(name, "out"),
                    "--checkpoint-dir",
                    self.path(checkpoints, "ckpt"),
                    "--log",
                    self.path(name, "log"),
                    "--weights",
                    self.path(name, "npz"),
                    *args,
                ]
            )
        )
        got_name, pid = self._expect("pid").split()
        self.assertEqual(got_name, name)
        self.pids[name] = int(pid)
        self.server.children.add(int(pid))  # killed at cleanup unless reaped

    def wait(self, name):
        """Waits for run `name`; returns its exit code, or minus the signal that ended it."""
        pid = self.pids[name]
        self.server.send(f"wait {pid}")
        got_pid, status = self._expect("status").split()
        self.assertEqual(int(got_pid), pid)
        del self.pids[name]
        self.server.children.discard(pid)
        status = int(status)
        return -os.WTERMSIG(status) if os.WIFSIGNALED(status) else os.WEXITSTATUS(status)

    def read_log(self, name):
        """[(epoch, batch, global_step, iterations of optimizer 0, of optimizer 1)]"""
        if not os.path.exists(self.path(name, "log")):
            return []
        with open(self.path(name, "log")) as f:
            return [tuple(int(n) for n in line.split()) for line in f if line.endswith("\n")]

    def kill_while_saving(self, name, step):
        """SIGKILLs run `name` from here once its log shows `step` steps, as soon
        as it is writing a checkpoint (a ckpt-N_temp directory exists; give up
        waiting for one after 2 s). Returns whether one was seen."""
        while len(self.read_log(name)) < step:
            self.assertLess(
                time.monotonic(), self.deadline, msg=f"{name} too slow; {self.outputs()}"
            )
            time.sleep(0.005)
        directory, give_up = self.path(name, "ckpt"), time.monotonic() + 2.0
        writing = False
        while not writing and time.monotonic() < give_up:
            writing = any(f.endswith("_temp") for f in os.listdir(directory))
            time.sleep(0.0002)
        os.kill(self.pids[name], signal.SIGKILL)
        return writing

    def check_killed_run(self, name):
        """The run died of SIGKILL and left a complete newest checkpoint whose
        counters agree with its number. Returns (last logged step, that number)."""
        self.assertEqual(self.wait(name), -signal.SIGKILL, msg=self.outputs())
        log = self.read_log(name)
        done = len(log)
        self.assertEqual([line[2] for line in log], list(range(1, done + 1)))
        directory = self.path(name, "ckpt")
        latest = tf.train.latest_checkpoint(directory)
        self.assertIsNotNone(latest, msg=os.listdir(directory))
        checkpointed = int(latest.rsplit("-", 1)[1])
        # Complete: every tensor in it reads (checksums are verified).
        reader = tf.train.load_checkpoint(latest)
        for key in reader.get_variable_to_shape_map():
            reader.get_tensor(key)
        epoch, step_in_epoch, global_step = counters(latest)
        self.assertEqual(global_step, checkpointed)
        self.assertEqual(epoch * STEPS + step_in_epoch, global_step)
        self.assertBetween(step_in_epoch, 0, STEPS)
        for j in (0, 1):
            iterations = reader.get_tensor(f"optimizer_{j}/_iterations/.ATTRIBUTES/VARIABLE_VALUE")
            self.assertEqual(int(iterations), global_step)
        return done, checkpointed

    def check_resumed_run(self, name, checkpointed, reference):
        self.assertEqual(self.wait(name), 0, msg=self.outputs())
        log = self.read_log(name)
        # The step count continues from the checkpoint, in the epoch/batch
        # positions and in both optimizers' iteration counters.
        self.assertEqual(
            [line[2] for line in log], list(range(checkpointed + 1, TOTAL + 1)), msg=name
        )
        for epoch, batch, step, *iterations in log:
            self.assertEqual((epoch, batch), divmod(step - 1, STEPS))
            self.assertEqual(iterations, [step, step])
        with np.load(self.path(name, "npz")) as got:
            self.assertEqual(sorted(got.files), sorted(reference.files))
            for key in reference.files:
                self.assertAllClose(
                    got[key], reference[key], rtol=0, atol=1e-6, msg=f"{name}: {key}"
                )

    @pytest.mark.slow
    def test_sigkill_then_rerun_equals_uninterrupted_run(self):
        rng = np.random.default_rng(7)
        # Killed by itself right after a step: on the first step after the
        # checkpoint that ends epoch 0, and at a random step inside epoch 1 or 2.
        self_kills = {
            "after_epoch_end": STEPS + 1,
            "mid_epoch": int(rng.choice([s for s in range(STEPS + 2, 3 * STEPS) if s % STEPS])),
        }
        # Killed from here, during epoch 1, while writing a checkpoint (it
        # checkpoints every step).
        outside_kill = int(rng.integers(STEPS + 2, 2 * STEPS))

        self.start("reference", "reference")
        for name, step in self_kills.items():
            self.start(name, name, "--kill-after-step", str(step))
        self.start("outside", "outside", "--checkpoint-every", "1")

        checkpointed = {}
        for name in self_kills:
            done, checkpointed[name] = self.check_killed_run(name)
            self.assertEqual(done, self_kills[name])
            # The newest checkpoint is the last one due before the killed step
            # (every EVERY steps and at each epoch end; the save of the killed
            # step itself comes after the callback that killed the run) ...
            due = max(s for s in range(1, done) if s % EVERY == 0 or s % STEPS == 0)
            self.assertEqual(checkpointed[name], due, msg=name)
            # ... so at most checkpoint_every steps are done again.
            self.assertLessEqual(done - due, EVERY)
            self.assertEqual([f for f in os.listdir(self.path(name, "ckpt")) if "temp" in f], [])
            # Run again, from a model with other initial weights and dropout seed.
            self.start(f"{name}_resumed", name, "--model-seed", "1")
            if name == "after_epoch_end":
                self.assertTrue(self.kill_while_saving("outside", outside_kill))
                done, checkpointed["outside"] = self.check_killed_run("outside")
                self.assertGreaterEqual(done, outside_kill)
                self.assertBetween(done - checkpointed["outside"], 0, 1)
                # Resumed with the default checkpoint_every: checkpoints do not change the training.
                self.start("outside_resumed", "outside", "--model-seed", "1")

        self.assertEqual(self.wait("reference"), 0, msg=self.outputs())
        self.assertEqual(
            [line[2] for line in self.read_log("reference")], list(range(1, TOTAL + 1))
        )
        with np.load(self.path("reference", "npz")) as want:
            for name in checkpointed:
                self.check_resumed_run(f"{name}_resumed", checkpointed[name], want)
