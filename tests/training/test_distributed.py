"""Trainer under tf.distribute: the same numbers as one device, in real processes.

Logical CPUs and a strategy's collective runtime must be set up before
TensorFlow initializes, which this pytest process already did, so each
scenario of distributed_worker.py runs in fresh processes (started once per
class, killed in the class cleanup even when a test fails) and writes its
results into a temporary directory:

- MirroredStrategy over two logical CPUs against a single-device Trainer on
  the same batches (1347 digits in batches of 64, the last one of 3);
- MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1 against
  a single-device run on the same global batches;
- ParameterServerStrategy: one parameter server and two workers
  (`tf.distribute.Server` processes) driven by a coordinator process.
"""

import json
import os
import subprocess
import sys
import tempfile
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.datasets import digits
from tests.training.models import free_port, mlp
from tfx_ext.training import Trainer

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(HERE))
SCRIPT = os.path.join(HERE, "distributed_worker.py")
BATCH = 64  # distributed_worker.BATCH, the global batch
EPOCHS = 2  # distributed_worker.EPOCHS
TRAIN = len(digits()[0])  # 1347 examples: 21 batches of 64 and one of 3
STEPS = -(-TRAIN // BATCH)
TOL = 1e-5


class ScenarioTestCase(tf.test.TestCase):
    """Starts scenario processes for a whole class and kills them in its cleanup."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        tmp = tempfile.TemporaryDirectory()
        cls.addClassCleanup(tmp.cleanup)
        cls.tmp = tmp.name

    @classmethod
    def start(cls, name, *args, env=None):
        environ = {k: v for k, v in os.environ.items() if k != "TF_CONFIG"}
        environ.update(
            PYTHONPATH=os.pathsep.join(
                [REPO_ROOT] + [p for p in [os.environ.get("PYTHONPATH")] if p]
            ),
            KERAS_BACKEND="tensorflow",
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        environ.update(env or {})
        log = open(os.path.join(cls.tmp, f"{name}.log"), "w")
        cls.addClassCleanup(log.close)
        process = subprocess.Popen(
            [sys.executable, SCRIPT, *args],
            env=environ,
            cwd=cls.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

        def kill():
            if process.poll() is None:
                process.kill()
            process.wait()

        cls.addClassCleanup(kill)
        return process

    @classmethod
    def log_tail(cls, name, lines=40):
        with open(os.path.join(cls.tmp, f"{name}.log")) as f:
            return "".join(f.readlines()[-lines:])

    @classmethod
    def wait(cls, processes, timeout):
        """Waits for {name: process} to exit 0 within `timeout` seconds in all."""
        deadline = time.monotonic() + timeout
        for name, process in processes.items():
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                raise AssertionError(
                    f"{name} still running after {timeout} s:\n{cls.log_tail(name)}"
                ) from None
            if process.returncode != 0:
                raise AssertionError(
                    f"{name} exited with {process.returncode}:\n{cls.log_tail(name)}"
                )

    @classmethod
    def json(cls, name):
        with open(os.path.join(cls.tmp, name)) as f:
            return json.load(f)

    @classmethod
    def weights(cls, name):
        with np.load(os.path.join(cls.tmp, name)) as arrays:
            return dict(arrays)

    def assertWeightsClose(self, actual, expected, atol=TOL):
        self.assertEqual(list(actual), list(expected))
        for key in expected:
            self.assertAllClose(actual[key], expected[key], atol=atol, rtol=0, msg=key)

    def assertHistoryClose(self, actual, expected, atol=TOL):
        self.assertCountEqual(actual, expected)
        for key in expected:
            self.assertLen(actual[key], EPOCHS, msg=key)
            self.assertAllClose(actual[key], expected[key], atol=atol, rtol=0, msg=key)


def ports(n):
    """`n` different free ports on 127.0.0.1."""
    found = set()
    while len(found) < n:
        found.add(free_port())
    return [f"127.0.0.1:{port}" for port in found]


def model_weights(model):
    """As distributed_worker.save_weights keys them."""
    return {f"{i}:{v.path}": v.numpy() for i, v in enumerate(model.variables)}


def max_change(after, before):
    return max(float(np.abs(after[k] - before[k]).max()) for k in before)


@pytest.mark.slow
class MirroredStrategyTest(ScenarioTestCase):
    """MirroredStrategy(["/cpu:0", "/cpu:1"]) against one device, in one process."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        process = cls.start("mirrored", "--scenario", "mirrored", "--out", cls.tmp)
        cls.wait({"mirrored": process}, timeout=150)
        cls.results = cls.json("mirrored.json")

    def check_matches_single_device(self, case):
        single, mirrored = self.results[f"{case}-single"], self.results[f"{case}-mirrored"]
        initial = self.weights(f"{case}-single-initial.npz")
        # Both runs start from the same weights, and training moved them.
        self.assertWeightsClose(self.weights(f"{case}-mirrored-initial.npz"), initial, atol=0)
        final = self.weights(f"{case}-single.npz")
        self.assertGreater(max_change(final, initial), 0.1)
        self.assertWeightsClose(self.weights(f"{case}-mirrored.npz"), final)
        self.assertHistoryClose(mirrored["history"], single["history"])
        self.assertEqual(single["iterations"], EPOCHS * STEPS)
        self.assertEqual(mirrored["iterations"], EPOCHS * STEPS)
        return final

    def test_two_replicas(self):
        self.assertEqual(self.results["num_replicas_in_sync"], 2)

    def test_mlp_matches_single_device(self):
        self.check_matches_single_device("mlp")

    def test_clip_global_norm_matches_single_device(self):
        clipped = self.check_matches_single_device("clip")
        # Clipping changed the run: the all-reduced gradient was clipped, as on one device.
        self.assertGreater(max_change(clipped, self.weights("mlp-single.npz")), 1e-3)

    def test_optimizer_mapping_matches_single_device(self):
        self.check_matches_single_device("mapping")

    def test_evaluate_matches_single_device(self):
        for case in ("mlp", "clip", "mapping"):
            single = self.results[f"{case}-single"]["evaluate"]["test"]
            mirrored = self.results[f"{case}-mirrored"]["evaluate"]["test"]
            self.assertCountEqual(mirrored, ["loss", "accuracy"])
            for key in single:
                self.assertAllClose(
                    mirrored[key], single[key], atol=TOL, rtol=0, msg=f"{case} {key}"
                )
            self.assertGreater(single["accuracy"], 0.9, msg=case)

    def test_a_replica_with_an_empty_last_batch(self):
        """A last batch of 1 example leaves the second replica nothing.

        Training is still right (the weights match), and so must be the
        reported loss: the mlp's L2 term belongs to every example's loss.
        """
        single, mirrored = self.results["last1-single"], self.results["last1-mirrored"]
        self.assertWeightsClose(
            self.weights("last1-mirrored.npz"), self.weights("last1-single.npz")
        )
        for case in ("mlp", "last1"):
            single_eval = self.results[f"{case}-single"]["evaluate"]["test449"]
            mirrored_eval = self.results[f"{case}-mirrored"]["evaluate"]["test449"]
            for key in single_eval:
                self.assertAllClose(
                    mirrored_eval[key], single_eval[key], atol=TOL, rtol=0, msg=f"{case} {key}"
                )
        self.assertHistoryClose(mirrored["history"], single["history"])

    def test_model_built_outside_the_scope_is_refused(self):
        message = self.results["outside_scope_error"]
        self.assertIsNotNone(message, "a model built outside strategy.scope() was accepted")
        self.assertIn("`model`", message)
        self.assertIn("strategy.scope()", message)
        self.assertIn("mlp/hidden/kernel", message)


@pytest.mark.slow
class MultiWorkerMirroredStrategyTest(ScenarioTestCase):
    """Two worker processes on 127.0.0.1; worker 0 is the chief."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.checkpoint_dir = os.path.join(cls.tmp, "checkpoints")
        # The workers' private temporary directory, to see what they leave in it.
        cls.worker_tmp = os.path.join(cls.tmp, "worker-tmp")
        os.makedirs(cls.worker_tmp)
        workers = ports(2)
        processes = {}
        for index in range(2):
            tf_config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
            processes[f"worker{index}"] = cls.start(
                f"worker{index}",
                "--scenario",
                "mwms",
                "--out",
                cls.tmp,
                "--checkpoint-dir",
                cls.checkpoint_dir,
                env={"TF_CONFIG": json.dumps(tf_config), "TMPDIR": cls.worker_tmp},
            )
        cls.wait(processes, timeout=120)
        cls.results = [cls.json(f"mwms-worker{index}.json") for index in range(2)]

    def test_two_workers_one_replica_each(self):
        self.assertEqual([r["task_id"] for r in self.results], [0, 1])
        self.assertEqual([r["num_replicas_in_sync"] for r in self.results], [2, 2])

    def test_each_worker_gets_one_half_of_every_global_batch(self):
        """Auto-shard policy DATA on batches of 64: per step, worker 0 gets the
        first half of the global batch and worker 1 the second (of the last
        batch of 3: 2 and 1), so the step's union is exactly the global batch."""
        seen = [r["seen"] for r in self.results]
        self.assertLen(seen[0], STEPS)
        self.assertLen(seen[1], STEPS)
        for step in range(STEPS):
            batch = list(range(step * BATCH, min(TRAIN, (step + 1) * BATCH)))
            half = -(-len(batch) // 2)
            self.assertEqual(seen[0][step], batch[:half], msg=f"step {step}")
            self.assertEqual(seen[1][step], batch[half:], msg=f"step {step}")

    def test_workers_end_with_identical_weights(self):
        first, second = self.weights("mwms-worker0.npz"), self.weights("mwms-worker1.npz")
        self.assertWeightsClose(second, first, atol=1e-6)
        self.assertHistoryClose(self.results[1]["history"], self.results[0]["history"], atol=1e-6)

    def test_weights_equal_single_device_on_the_global_batches(self):
        reference = self.weights("mwms-reference.npz")
        self.assertGreater(max_change(reference, model_weights(mlp(seed=0))), 0.1)
        for index in range(2):
            self.assertWeightsClose(self.weights(f"mwms-worker{index}.npz"), reference)
            self.assertHistoryClose(
                self.results[index]["history"], self.results[0]["reference_history"]
            )
            self.assertEqual(self.results[index]["iterations"], EPOCHS * STEPS)

    def test_the_chief_writes_the_checkpoints(self):
        # One checkpoint per epoch end, numbered by global step.
        self.assertEqual(
            tf.train.latest_checkpoint(self.checkpoint_dir),
            os.path.join(self.checkpoint_dir, f"ckpt-{EPOCHS * STEPS}"),
        )
        for epoch in range(1, EPOCHS + 1):
            self.assertTrue(
                os.path.exists(os.path.join(self.checkpoint_dir, f"ckpt-{epoch * STEPS}.index"))
            )
        # It holds the trained model: a single-device Trainer resumes from it
        # at the end of epoch 2 and has nothing left to train.
        model = mlp(seed=1)
        trainer = Trainer(
            model,
            "sparse_categorical_crossentropy",
            keras.optimizers.Adam(1e-2),
            metrics=["accuracy"],
            checkpoint_dir=self.checkpoint_dir,
        )
        x_train, y_train, _, _ = digits()
        trainer.fit(
            tf.data.Dataset.from_tensor_slices((x_train, y_train)).batch(BATCH),
            epochs=EPOCHS,
            verbose=0,
        )
        self.assertEqual(int(trainer.optimizer.iterations.numpy()), EPOCHS * STEPS)
        self.assertWeightsClose(model_weights(model), self.weights("mwms-worker0.npz"), atol=0)

    def test_the_non_chief_leaves_no_temporary_directory(self):
        """The non-chief writes its share of each checkpoint into a private
        temporary directory that is "deleted afterwards" (checkpointing.py)."""
        left = [
            name
            for name in os.listdir(self.worker_tmp)
            if name.startswith("tfx_ext-worker-checkpoint-")
        ]
        self.assertEqual(left, [])


@pytest.mark.slow
class ParameterServerStrategyTest(ScenarioTestCase):
    """One parameter server and two workers, driven by a coordinator process."""

    EPOCHS = 3
    STEPS_PER_EPOCH = 30

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        addresses = ports(4)
        cluster = {"worker": addresses[:2], "ps": addresses[2:3], "chief": addresses[3:]}
        for job in ("ps", "worker"):
            for index in range(len(cluster[job])):
                cls.start(
                    f"{job}{index}",
                    "--scenario",
                    "ps-server",
                    "--cluster",
                    json.dumps(cluster),
                    "--job",
                    job,
                    "--index",
                    str(index),
                )
        coordinator = cls.start(
            "coordinator",
            "--scenario",
            "ps-coordinator",
            "--out",
            cls.tmp,
            "--cluster",
            json.dumps(cluster),
            "--epochs",
            str(cls.EPOCHS),
            "--steps-per-epoch",
            str(cls.STEPS_PER_EPOCH),
        )
        cls.wait({"coordinator": coordinator}, timeout=150)
        cls.results = cls.json("ps.json")

    def test_fit_converges(self):
        before, after = self.results["before"], self.results["evaluate"]
        self.assertLess(before["accuracy"], 0.3)
        self.assertGreater(after["accuracy"], 0.9)
        self.assertLess(after["loss"], before["loss"] / 3)
        losses = self.results["history"]["loss"]
        self.assertLen(losses, self.EPOCHS)
        for earlier, later in zip(losses, losses[1:]):
            self.assertLess(later, earlier)

    def test_missing_steps_per_epoch_is_refused(self):
        message = self.results["missing_steps_error"]
        self.assertIsNotNone(message, "fit without steps_per_epoch was accepted")
        self.assertIn("`steps_per_epoch`", message)
        self.assertEqual(self.results["steps_run_after_error"], 0)

    def test_every_scheduled_step_is_counted(self):
        """Workers run steps concurrently on the parameter server's variables:
        the step counter and the running loss/metric totals must not lose
        any worker's update."""
        steps = self.EPOCHS * self.STEPS_PER_EPOCH
        self.assertEqual(
            self.results["steps_run"], steps
        )  # counted with TensorFlow's atomic assign_add
        self.assertEqual(self.results["iterations"], steps)
        examples = self.STEPS_PER_EPOCH * self.results["batch_size"]
        self.assertEqual(
            self.results["last_epoch_counts"], {"loss": examples, "accuracy": examples}
        )
