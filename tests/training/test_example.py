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


def checkpoint_values(directory):
    """The newest checkpoint in `directory`: {variable name: value}."""
    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(directory))
    return {name: reader.get_tensor(name) for name in reader.get_variable_to_shape_map()}


def model_weights(values):
    # Keras 3 models' variables reach the checkpoint graph through the optimizer first.
    return {
        name: value
        for name, value in values.items()
        if name.startswith("optimizer/_trainable_variables/")
    }


class WideAndDeepExampleTest(tf.test.TestCase):
    def run_example(self, epochs, directory):
        with contextlib.redirect_stdout(io.StringIO()):
            return self.example.main(
                ["--epochs", str(epochs), "--checkpoint-dir", directory, "--verbose", "0"]
            )

    def test_trains_both_parts_and_resumes_from_its_checkpoints(self):
        self.example = load_example()
        directory, fresh = (tempfile.mkdtemp(prefix="tfx_ext_wide_deep_") for _ in range(2))
        for path in (directory, fresh):
            self.addCleanup(shutil.rmtree, path, ignore_errors=True)
        results = self.run_example(8, directory)
        _, y_train, _, y_test = self.example.load_data()
        mean_predictor_mse = float(np.mean((y_test - y_train.mean()) ** 2))
        self.assertLess(results["loss"], 0.75 * mean_predictor_mse)

        # 332 training rows in batches of 32: 11 updates per epoch, for each optimizer.
        steps_per_epoch = -(-len(y_train) // 32)
        self.assertEqual(steps_per_epoch, 11)
        first = checkpoint_values(directory)
        self.assertEqual(
            tf.train.latest_checkpoint(directory),
            os.path.join(directory, f"ckpt-{8 * steps_per_epoch}"),
        )
        iterations = {
            name: int(value)
            for name, value in first.items()
            if name.startswith("optimizer_")
            and name.endswith("_iterations/.ATTRIBUTES/VARIABLE_VALUE")
        }
        self.assertEqual(sorted(iterations.values()), [8 * steps_per_epoch] * 2, iterations)
        self.assertEqual(int(first["epoch/.ATTRIBUTES/VARIABLE_VALUE"]), 8)

        # Running it again with a larger budget continues from step 88, not from scratch: two
        # more epochs give exactly the weights of one uninterrupted 10-epoch run.
        self.assertEqual(results["epochs_run"], 8)
        self.assertEqual(self.run_example(10, directory)["epochs_run"], 2)
        resumed = checkpoint_values(directory)
        self.assertEqual(
            int(resumed["global_step/.ATTRIBUTES/VARIABLE_VALUE"]), 10 * steps_per_epoch
        )
        self.assertEqual(int(resumed["epoch/.ATTRIBUTES/VARIABLE_VALUE"]), 10)
        self.assertEqual(self.run_example(10, fresh)["epochs_run"], 10)
        uninterrupted = model_weights(checkpoint_values(fresh))
        self.assertGreaterEqual(
            len(uninterrupted), 8
        )  # wide, deep_1, deep_2, deep_out: kernel, bias
        self.assertEqual(sorted(model_weights(resumed)), sorted(uninterrupted))
        for name, value in uninterrupted.items():
            self.assertAllEqual(model_weights(resumed)[name], value, msg=name)
        self.assertTrue(any(not np.array_equal(first[n], uninterrupted[n]) for n in uninterrupted))
