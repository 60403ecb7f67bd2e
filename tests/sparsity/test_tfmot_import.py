"""Importing tfmot through tfx_ext does not switch the process's `tf.keras` to tf_keras."""

import os
import subprocess
import sys

import pytest
import tensorflow as tf

pytestmark = pytest.mark.tf_only("tf.keras and tfmot are TensorFlow's")

# tfmot 0.8 sets TF_USE_LEGACY_KERAS=1 on import; if nothing had read
# `tf.keras` yet, TensorFlow then resolved it to tf_keras for good.
PROGRAM = """
import os
import tensorflow as tf
from tfx_ext._core.keras_flavour import import_tfmot
tfmot = import_tfmot()
print(tf.keras.layers.LSTMCell.__module__.split(".")[0])
print(os.environ.get("TF_USE_LEGACY_KERAS"))
print(tfmot.sparsity.keras.prune_low_magnitude.__module__.split(".")[0])
"""


class TfmotImportTest(tf.test.TestCase):
    def test_tf_keras_stays_keras_3_and_the_environment_is_restored(self):
        env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
        env["TF_CPP_MIN_LOG_LEVEL"] = "3"
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=300
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout.split(), ["keras", "None", "tensorflow_model_optimization"])

        # A caller who asked for tf_keras keeps it.
        env["TF_USE_LEGACY_KERAS"] = "1"
        result = subprocess.run(
            [sys.executable, "-c", PROGRAM], capture_output=True, text=True, env=env, timeout=300
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        self.assertEqual(result.stdout.split(), ["tf_keras", "1", "tensorflow_model_optimization"])
