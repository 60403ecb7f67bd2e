"""examples/wide_and_deep.py: trains, beats the mean predictor, and resumes."""

import contextlib
import importlib.util
import io
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "wide_and_deep.py")


def load_example():
    spec = importlib.util.spec_from_file_location("wide_and_deep_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class WideAndDeepExampleTest(tf.test.TestCase):
    def test_trains_both_parts_and_resumes_from_its_checkpoints(self):
        example = load_example()
        directory = tempfile.mkdtemp(prefix="tfx_ext_wide_deep_")
        self.addCleanup(shutil.rmtree, directory, ignore_errors=True)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            results = example.main(["--epochs", "8", "--checkpoint-dir", directory, "--verbose", "0"])
        _, y_train, _, y_test = example.load_data()
        mean_predictor_mse = float(np.mean((y_test - y_train.mean()) ** 2))
        self.assertLess(results["loss"], 0.75 * mean_predictor_mse)
        # 332 training rows in batches of 32: 11 updates per epoch, for each optimizer.
        self.assertIn("SGD    88 updates", out.getvalue())
        self.assertIn("Nadam  88 updates", out.getvalue())
        self.assertEqual(tf.train.latest_checkpoint(directory), os.path.join(directory, "ckpt-88"))

        # Running it again with a larger budget continues from step 88, not from scratch.
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            example.main(["--epochs", "10", "--checkpoint-dir", directory, "--verbose", "0"])
        self.assertIn("SGD    110 updates", out.getvalue())
        self.assertIn("epochs run: 2;", out.getvalue())
