import os
import signal
import sys
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.export.models import digits_classifier, digits_test_split, predict, temp_dir
from tests.fork_server import ForkServer
from tfx_ext.export import export_for_serving, remove_stale_staging

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# A fork server: imports TensorFlow once (no TF op has run yet, so forking is
# safe), then on "fork" starts an exporter process that loads the model and
# exports new versions into the same base directory, saying "exported" after
# each, until it is killed; "wait PID" reaps it and reports its wait status.
# (One python -c per trial would spend ~5 s per kill importing TensorFlow.)
EXPORTERS = r"""
import os, sys, traceback
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
from tfx_ext.export import export_for_serving
model_file, base = sys.argv[1], sys.argv[2]
print("ready", flush=True)
for line in sys.stdin:
    command = line.split()
    if command == ["fork"]:
        pid = os.fork()
        if pid == 0:
            try:
                model = keras.models.load_model(model_file)
                while True:
                    export_for_serving(model, base, "m")
                    print("exported", flush=True)
            except BaseException:
                traceback.print_exc()
            finally:
                os._exit(1)
        print(f"child {pid}", flush=True)
    elif command[0] == "wait":
        _, status = os.waitpid(int(command[1]), 0)
        print(f"status {status}", flush=True)
"""

TRIALS = 12


class AtomicVersionsUnderSigkillTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.tmp = temp_dir(self)
        self.base = os.path.join(self.tmp, "models")
        self.model_dir = os.path.join(self.base, "m")
        self.model = digits_classifier(epochs=0)
        self.model_file = os.path.join(self.tmp, "model.keras")
        self.model.save(self.model_file)
        self.x = digits_test_split()[0][:5]
        self.expected = predict(self.model, self.x)
        self.log = os.path.join(self.tmp, "exporters.log")
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
        self.server = ForkServer(
            self,
            [sys.executable, "-c", EXPORTERS, self.model_file, self.base],
            self.log,
            env,
            self.tmp,
            self._log_tail,
        )

    def _log_tail(self):
        with open(self.log, errors="replace") as f:
            return f.read()[-3000:]

    def _expect(self, prefix, timeout=120):
        """Reads lines until one starts with `prefix` (exporters' "exported" lines interleave)."""
        return self.server.expect(prefix, time.monotonic() + timeout, skip_others=True)

    def _assert_complete(self, version):
        path = os.path.join(self.model_dir, str(version))
        loaded = tf.saved_model.load(path)
        outputs = loaded.signatures["serving_default"](pixels=tf.constant(self.x))
        self.assertAllClose(outputs["digit"].numpy(), self.expected, atol=1e-5, msg=path)

    def _versions(self):
        names = os.listdir(self.model_dir)
        for name in names:
            self.assertTrue(
                name.isdigit() or name.startswith(".tmp-"), msg=f"unexpected entry {name!r}"
            )
        return sorted(int(n) for n in names if n.isdigit()), [n for n in names if not n.isdigit()]

    @pytest.mark.slow
    def test_sigkill_never_publishes_a_partial_version(self):
        export_for_serving(self.model, self.base, "m")  # version 1
        self._assert_complete(1)
        verified = {1}
        rng = np.random.default_rng(0)
        self._expect("ready")
        killed_mid_export = 0  # trials that left a new staging directory behind
        seen_others = set()
        duration = None
        for trial in range(TRIALS):
            self.server.send("fork")
            start = time.monotonic()
            pid = int(self._expect("child"))
            self.server.children.add(pid)  # killed at cleanup unless reaped below
            if duration is None:
                # Calibration: how long this exporter takes to load the model and
                # export once; this one is killed during its second export.
                self._expect("exported")
                duration = time.monotonic() - start
            time.sleep(max(0.0, start + rng.uniform(0.0, 1.2 * duration) - time.monotonic()))
            os.kill(pid, signal.SIGKILL)
            self.server.send(f"wait {pid}")
            status = int(self._expect("status"))
            self.server.children.discard(pid)
            self.assertTrue(
                os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL,
                msg=self._log_tail(),
            )

            versions, others = self._versions()
            self.assertEqual(versions, list(range(1, len(versions) + 1)))
            new = [v for v in versions if v not in verified]
            killed_mid_export += bool(set(others) - seen_others)
            seen_others = set(others)
            for version in new:
                self._assert_complete(version)
                verified.add(version)
            self._assert_complete(versions[-1])
            if len(versions) > 1:
                self._assert_complete(versions[-2])  # the previous version still loads
            self.assertEqual(
                export_for_serving(self.model, self.base, "m"),
                os.path.join(self.model_dir, str(versions[-1] + 1)),
            )
            verified.add(versions[-1] + 1)
            self._assert_complete(versions[-1] + 1)

        # Kills landed while a staging directory existed: partial exports were exercised.
        self.assertGreater(killed_mid_export, 0)
        versions, others = self._versions()
        self.assertEqual(sorted(remove_stale_staging(self.model_dir)), sorted(others))
        self.assertEqual(sorted(int(n) for n in os.listdir(self.model_dir)), versions)
