"""Trainer(steps_per_execution=N): groups of steps in one compiled call.

Grouping changes how often Python runs, not which steps run: every test
compares a grouped run against `model.fit` with the same setting or against
the same Trainer one step at a time.
"""

import json
import os
import shutil
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.training import test_checkpointing
from tests.training.models import mlp, wide_and_deep_trainer
from tfx_ext.training import NonFiniteLossError, Trainer

EXAMPLES, BATCH = 320, 32  # 10 steps per epoch
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCE = "sparse_categorical_crossentropy"


def temp_dir(test):
    path = tempfile.mkdtemp(prefix="tfx_ext_spe_test_")
    test.addCleanup(shutil.rmtree, path, ignore_errors=True)
    return path


def train_arrays():
    x_train, y_train, _, _ = digits()
    return x_train[:EXAMPLES], y_train[:EXAMPLES]


def batches(x, y):
    return tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH)


class Hooks(keras.callbacks.Callback):
    """Records (epoch, begin batch, end batch) of every group."""

    def __init__(self):
        super().__init__()
        self.groups, self.epoch, self.begin = [], None, None

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_begin(self, batch, logs=None):
        self.begin = batch

    def on_train_batch_end(self, batch, logs=None):
        self.groups.append((self.epoch, self.begin, batch))


def saved_steps(directory):
    """Global steps of every checkpoint kept in `directory` (they are numbered by it)."""
    state = tf.train.get_checkpoint_state(directory)
    return [int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths]


class StepsPerExecutionTest(tf.test.TestCase):
    def setUp(self):
        self.x, self.y = train_arrays()

    def test_matches_fit_with_the_same_setting(self):
        model = mlp(seed=0)
        model.compile(keras.optimizers.Adam(1e-2), SCE, metrics=["accuracy"], steps_per_execution=4)
        want = model.fit(batches(self.x, self.y), epochs=2, verbose=0).history
        want_eval = model.evaluate(batches(self.x, self.y), verbose=0, return_dict=True)

        trainer = Trainer(
            mlp(seed=0),
            SCE,
            keras.optimizers.Adam(1e-2),
            metrics=["accuracy"],
            steps_per_execution=4,
        )
        hooks = Hooks()
        got = trainer.fit(batches(self.x, self.y), epochs=2, callbacks=[hooks], verbose=0).history
        for key in ("loss", "accuracy"):
            self.assertAllClose(got[key], want[key], rtol=1e-5, atol=1e-6, msg=key)
        got_eval = trainer.evaluate(batches(self.x, self.y))
        for key in ("loss", "accuracy"):
            self.assertAllClose(got_eval[key], want_eval[key], rtol=1e-5, atol=1e-6, msg=key)
        for got_w, want_w in zip(trainer.model.get_weights(), model.get_weights()):
            self.assertAllClose(got_w, want_w, rtol=1e-5, atol=1e-6)
        self.assertEqual(int(trainer.optimizer.iterations), 20)
        # Batch hooks once per group: steps 0-3, 4-7, then the epoch's last two.
        self.assertEqual(
            hooks.groups, [(e, b, end) for e in (0, 1) for b, end in ((0, 3), (4, 7), (8, 9))]
        )

    def test_dataset_of_unknown_length_equals_single_steps(self):
        def run(steps_per_execution):
            dataset = batches(self.x, self.y).filter(lambda x, y: True)
            trainer = Trainer(
                mlp(seed=0),
                SCE,
                keras.optimizers.SGD(0.1),
                metrics=["accuracy"],
                steps_per_execution=steps_per_execution,
            )
            history = trainer.fit(dataset, epochs=2, verbose=0).history
            return history, trainer.model.get_weights(), int(trainer.optimizer.iterations)

        (want, want_w, want_it), (got, got_w, got_it) = run(1), run(3)
        self.assertEqual(got_it, want_it)
        self.assertAllClose(got["loss"], want["loss"], rtol=1e-6)
        for g, w in zip(got_w, want_w):
            self.assertAllClose(g, w, rtol=1e-6, atol=1e-7)

    def test_checkpoints_land_where_single_steps_put_them_and_resume_exactly(self):
        """Groups of 4 with checkpoint_every=3: groups end at every checkpoint;
        a run stopped mid-epoch resumes to the uninterrupted run's weights."""

        def run(directory, steps_per_execution, seed=0, epochs=3, callbacks=()):
            trainer = wide_and_deep_trainer(
                directory,
                seed=seed,
                dropout=0.3,
                checkpoint_every=3,
                keep_checkpoints=100,
                steps_per_execution=steps_per_execution,
            )
            history = trainer.fit(
                (self.x, self.y),
                epochs=epochs,
                batch_size=BATCH,
                callbacks=list(callbacks),
                verbose=0,
            )
            return trainer, history

        single_dir, grouped_dir, resumed_dir = temp_dir(self), temp_dir(self), temp_dir(self)
        single, _ = run(single_dir, 1)
        grouped, grouped_history = run(grouped_dir, 4)
        self.assertEqual(saved_steps(grouped_dir), saved_steps(single_dir))
        self.assertEqual(saved_steps(single_dir), [3, 6, 9, 10, 12, 15, 18, 20, 21, 24, 27, 30])
        for got, want in zip(grouped.model.variables, single.model.variables):
            self.assertAllClose(got, want, rtol=1e-6, atol=1e-7, msg=got.path)

        class StopAfter(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                if int(grouped_again.optimizer.iterations) >= 16:
                    self.model.stop_training = True

        grouped_again = wide_and_deep_trainer(
            resumed_dir, checkpoint_every=3, keep_checkpoints=100, steps_per_execution=4
        )
        grouped_again.fit(
            (self.x, self.y), epochs=3, batch_size=BATCH, callbacks=[StopAfter()], verbose=0
        )
        # Groups 13-15 and 16-18 -> stopped after step 18 (epoch 2, step 8).
        self.assertEqual(int(grouped_again.optimizer.iterations), 18)
        resumed, history = run(resumed_dir, 4, seed=1)
        self.assertEqual(history.epoch, [1, 2])
        self.assertAllClose(history.history["loss"], grouped_history.history["loss"][1:], rtol=1e-6)
        for got, want in zip(resumed.model.variables, grouped.model.variables):
            self.assertAllClose(got, want, rtol=1e-6, atol=1e-7, msg=got.path)

    def test_non_finite_loss_stops_the_group_at_its_step(self):
        x = np.array(self.x, copy=True)
        x[5 * BATCH + 3, 0] = np.nan  # the 6th batch
        trainer = Trainer(mlp(seed=0), SCE, keras.optimizers.SGD(0.1), steps_per_execution=4)
        with self.assertRaisesRegex(NonFiniteLossError, r"at epoch 1, step 6 \(global step 6\)"):
            trainer.fit(batches(x, self.y), epochs=1, verbose=0)
        self.assertEqual(int(trainer.optimizer.iterations), 6)

    @rejects_bad_input(Trainer)
    def test_bad_steps_per_execution(self):
        for value, error in ((0, ValueError), (-2, ValueError), (2.5, TypeError), ("4", TypeError)):
            with self.assertRaisesRegex(
                error, "argument `steps_per_execution`.*Received: steps_per_execution="
            ):
                Trainer(mlp(seed=0), SCE, keras.optimizers.SGD(), steps_per_execution=value)


def group_ends(total, steps_per_epoch, steps_per_execution, checkpoint_every):
    """Global steps at which groups end: at most `steps_per_execution` steps,
    cut at each epoch end and each multiple of `checkpoint_every`."""
    ends, done = [], 0
    while done < total:
        in_epoch = done % steps_per_epoch
        done += min(
            steps_per_execution,
            steps_per_epoch - in_epoch,
            checkpoint_every - done % checkpoint_every,
        )
        ends.append(done)
    return ends


class GroupedSigkillResumeTest(test_checkpointing.SigkillResumeTest):
    """resumable_run.py with steps_per_execution=4, SIGKILLed after a group
    inside epoch 1 or 2, then run again: it ends with the uninterrupted
    run's weights and optimizer slots."""

    # The parent's test (one step at a time) runs in test_checkpointing.py.
    test_sigkill_then_rerun_equals_uninterrupted_run = None

    @pytest.mark.slow
    def test_sigkill_mid_epoch_with_groups_then_rerun(self):
        steps, every, total = (
            test_checkpointing.STEPS,
            test_checkpointing.EVERY,
            test_checkpointing.TOTAL,
        )
        grouped = ("--steps-per-execution", "4")
        ends = group_ends(total, steps, 4, every)
        rng = np.random.default_rng(11)
        kill = int(
            rng.choice([e for e in ends if steps + 4 < e < 3 * steps and e % every and e % steps])
        )
        self.start("reference", "reference", *grouped)
        self.start("killed", "killed", *grouped, "--kill-after-step", str(kill))

        self.assertEqual(self.wait("killed"), -9, msg=self.outputs())
        self.assertEqual(
            [line[2] for line in self.read_log("killed")], [e for e in ends if e <= kill]
        )
        latest = tf.train.latest_checkpoint(self.path("killed", "ckpt"))
        checkpointed = int(latest.rsplit("-", 1)[1])
        # The last checkpoint due before the kill: groups end on every one.
        self.assertEqual(
            checkpointed, max(s for s in range(1, kill) if s % every == 0 or s % steps == 0)
        )
        self.assertEqual(test_checkpointing.counters(latest)[2], checkpointed)

        self.start("resumed", "killed", *grouped, "--model-seed", "1")
        self.assertEqual(self.wait("resumed"), 0, msg=self.outputs())
        log = self.read_log("resumed")
        self.assertEqual([line[2] for line in log], [e for e in ends if e > checkpointed])
        for epoch, batch, step, *iterations in log:
            self.assertEqual((epoch, batch), divmod(step - 1, steps))
            self.assertEqual(iterations, [step, step])
        self.assertEqual(self.wait("reference"), 0, msg=self.outputs())
        with (
            np.load(self.path("reference", "npz")) as want,
            np.load(self.path("resumed", "npz")) as got,
        ):
            self.assertEqual(sorted(got.files), sorted(want.files))
            for key in want.files:
                self.assertAllClose(got[key], want[key], rtol=0, atol=1e-6, msg=key)


@pytest.mark.slow
class DistributedGroupsTest(tf.test.TestCase):
    """grouped_distributed_run.py: MirroredStrategy (two logical CPUs) and
    ParameterServerStrategy (an in-process cluster) with groups of steps."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        directory = tempfile.mkdtemp(prefix="tfx_ext_spe_dist_")
        cls.addClassCleanup(shutil.rmtree, directory, ignore_errors=True)
        out = os.path.join(directory, "results.json")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
        script = os.path.join(REPO, "tests", "training", "grouped_distributed_run.py")
        done = subprocess.run(
            [sys.executable, script, "--out", out],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=240,
        )
        if done.returncode != 0:
            raise AssertionError(f"grouped_distributed_run.py failed:\n{done.stderr[-3000:]}")
        with open(out) as f:
            cls.results = json.load(f)

    def test_mirrored_groups_equal_single_device_steps(self):
        got = self.results["mirrored"]
        self.assertEqual(got["mirrored_iterations"], 20)
        self.assertEqual(got["single_iterations"], 20)
        # The tolerance of test_distributed.py: two replicas sum in another order.
        self.assertLess(got["max_weight_difference"], 1e-5)
        for key in ("loss", "accuracy"):
            self.assertAllClose(
                got["mirrored_history"][key], got["single_history"][key], atol=1e-5, rtol=0
            )
            self.assertAllClose(
                got["mirrored_evaluate"][key], got["single_evaluate"][key], atol=1e-5, rtol=0
            )

    def test_parameter_server_groups_count_every_step(self):
        got = self.results["ps"]
        # 2 epochs of 10 steps in groups of 4 (4, 4, 2 per epoch), on two workers.
        self.assertEqual(got["steps_run"], 20)
        self.assertEqual(got["iterations"], 20)
        self.assertEqual(got["last_epoch_counts"], {"loss": 320.0, "accuracy": 320.0})
        self.assertLess(got["history"]["loss"][1], got["history"]["loss"][0])
