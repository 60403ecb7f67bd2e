"""Distributed tuning the keras-tuner way: a chief oracle and two workers, as separate processes."""

import glob
import json
import os
import socket
import subprocess
import sys
import tempfile
import time

import keras
import pytest
import tensorflow as tf

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
WORKERS = ("tuner0", "tuner1")
MAX_TRIALS = 4
DEADLINE = 300  # seconds for the whole search

# Each process runs tfx_ext.tuning.search with the same directory and project.
# The tuner class is swapped for a subclass recording the trials this process
# ran (keras-tuner keeps no record of which tuner ran which trial), and the
# workers wait for each other before searching so that both take part.
SCRIPT = (
    r"""
import json, os, sys, time

import keras
import keras_tuner

from tests.datasets import digits
from tfx_ext.tuning import TUNERS, MLPHyperModel, search

directory, report, barrier, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
tuner_id = os.environ["KERASTUNER_TUNER_ID"]
keras.utils.set_random_seed(0)
data = digits()

ran = []


class Recording(keras_tuner.RandomSearch):
    def on_trial_end(self, trial):
        ran.append({"trial_id": trial.trial_id, "status": trial.status})
        super().on_trial_end(trial)


TUNERS["random"] = Recording

if tuner_id != "chief":
    open(os.path.join(barrier, tuner_id), "w").close()
    start = time.time()
    while len(os.listdir(barrier)) < workers and time.time() - start < 120:
        time.sleep(0.1)

result = search(MLPHyperModel((64,), 10, max_layers=2), data, max_trials=%d, epochs=1,
                directory=directory, project_name="distributed")
out = {
    "tuner_id": tuner_id,
    "ran": ran,
    "table": result.table,
    "best_hyperparameters": result.best_hyperparameters,
    "has_best_model": result.best_model is not None,
}
if result.best_model is not None:
    out["best_model_accuracy"] = result.best_model.evaluate(data[2], data[3], verbose=0, return_dict=True)["accuracy"]
with open(report, "w") as f:
    json.dump(out, f)
"""
    % MAX_TRIALS
)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DistributedSearchTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name
        self.processes = {}
        self.logs = []

    def tearDown(self):
        for process in self.processes.values():
            if process.poll() is None:
                process.kill()
                process.wait()
        for log in self.logs:
            log.close()

    def start(self, tuner_id, port, directory, barrier):
        env = dict(os.environ)
        env.update(
            KERASTUNER_TUNER_ID=tuner_id,
            KERASTUNER_ORACLE_IP="127.0.0.1",
            KERASTUNER_ORACLE_PORT=str(port),
            PYTHONPATH=os.pathsep.join([REPO_ROOT] + [p for p in [env.get("PYTHONPATH")] if p]),
            KERAS_BACKEND="tensorflow",
            TF_CPP_MIN_LOG_LEVEL="2",
        )
        log = open(os.path.join(self.tmp, f"{tuner_id}.log"), "w")
        self.logs.append(log)
        report = os.path.join(self.tmp, f"{tuner_id}.json")
        self.processes[tuner_id] = subprocess.Popen(
            [sys.executable, "-c", SCRIPT, directory, report, barrier, str(len(WORKERS))],
            env=env,
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def log_tail(self, tuner_id, lines=30):
        with open(os.path.join(self.tmp, f"{tuner_id}.log")) as f:
            return "".join(f.readlines()[-lines:])

    def report(self, tuner_id):
        with open(os.path.join(self.tmp, f"{tuner_id}.json")) as f:
            return json.load(f)

    @pytest.mark.slow
    def test_chief_and_two_workers_share_the_trials(self):
        directory = os.path.join(self.tmp, "search")
        barrier = os.path.join(self.tmp, "barrier")
        os.makedirs(barrier)
        port = free_port()
        self.start("chief", port, directory, barrier)
        for worker in WORKERS:
            self.start(worker, port, directory, barrier)

        deadline = time.monotonic() + DEADLINE
        for tuner_id, process in self.processes.items():
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.fail(
                    f"{tuner_id} still running after {DEADLINE} s:\n{self.log_tail(tuner_id)}"
                )
            self.assertEqual(
                process.returncode, 0, msg=f"{tuner_id} failed:\n{self.log_tail(tuner_id)}"
            )

        # The trial records keras-tuner wrote: every trial completed.
        records = {}
        for path in glob.glob(os.path.join(directory, "distributed", "trial_*", "trial.json")):
            with open(path) as f:
                record = json.load(f)
            records[record["trial_id"]] = record
        self.assertLen(records, MAX_TRIALS)
        for trial_id, record in records.items():
            self.assertEqual(record["status"], "COMPLETED", msg=trial_id)
            self.assertIsNotNone(record["score"], msg=trial_id)

        # The workers ran the trials, each exactly once, and both took part.
        chief = self.report("chief")
        self.assertEqual(chief["ran"], [])
        runs = {worker: self.report(worker)["ran"] for worker in WORKERS}
        ran_by = {worker: [run["trial_id"] for run in runs[worker]] for worker in WORKERS}
        all_runs = [trial_id for worker in WORKERS for trial_id in ran_by[worker]]
        self.assertCountEqual(all_runs, records)  # the union is every trial, and none ran twice
        self.assertEmpty(set(ran_by["tuner0"]) & set(ran_by["tuner1"]))
        for worker in WORKERS:
            self.assertNotEmpty(ran_by[worker], msg=f"{worker} ran no trial: {ran_by}")
            self.assertEqual({run["status"] for run in runs[worker]}, {"COMPLETED"})

        # The chief's result holds every trial and the best model; the workers' hold none.
        table = chief["table"]
        self.assertCountEqual([row["trial_id"] for row in table], records)
        self.assertEqual(
            [row["score"] for row in table],
            sorted((r["score"] for r in records.values()), reverse=True),
        )
        self.assertEqual(
            chief["best_hyperparameters"],
            {k: v for k, v in table[0].items() if k not in ("trial_id", "score")},
        )
        self.assertTrue(chief["has_best_model"])
        self.assertAllClose(chief["best_model_accuracy"], table[0]["score"], atol=1e-5)
        for worker in WORKERS:
            result = self.report(worker)
            self.assertFalse(result["has_best_model"])
            self.assertEqual(result["table"], [])
            self.assertEqual(result["best_hyperparameters"], {})
