"""examples/digits_generative.py: the mode-collapse measure.

A tiny end-to-end run (three trainings, ~30 s on the shared machine) is left
to the demo stage that will run the example, to keep the suite's budget.
"""

import importlib.util
import os

import numpy as np
import pytest
import tensorflow as tf

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "digits_generative.py")


def load_example():
    spec = importlib.util.spec_from_file_location("digits_generative", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.tf_only("GAN.train_step uses tf.GradientTape")
class DigitsGenerativeExampleTest(tf.test.TestCase):
    def test_class_histogram_counts_predictions_and_measures_their_spread(self):
        example = load_example()
        uniform = np.eye(10)[np.arange(50) % 10]
        counts, entropy = example.class_histogram(uniform)
        self.assertEqual(counts.tolist(), [5] * 10)
        self.assertAllClose(entropy, 1.0)
        collapsed = np.tile(np.eye(10)[3], (20, 1))  # mode collapse: every sample a 3
        counts, entropy = example.class_histogram(collapsed)
        self.assertEqual(counts.tolist(), [0, 0, 0, 20, 0, 0, 0, 0, 0, 0])
        self.assertAllClose(entropy, 0.0)
