"""A tiny run of examples/digits_generative.py: VAE grid, DCGAN samples judged by a classifier."""

import importlib.util
import os
import tempfile

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

    def test_tiny_run_writes_both_grids_and_judges_the_samples(self):
        example = load_example()
        with tempfile.TemporaryDirectory() as tmp:
            r = example.run(tmp, vae_epochs=1, gan_epochs=1, classifier_epochs=3, samples=40)
            for key in ("vae_grid", "dcgan_grid"):
                with open(r[key], "rb") as f:
                    self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
            self.assertEqual(sorted(os.listdir(tmp)), ["dcgan_grid.png", "vae_grid.png"])  # no temporary left
        self.assertGreater(r["classifier_accuracy"], 0.8)
        self.assertEqual(r["generated"].shape, (40, 8, 8, 1))
        self.assertTrue(np.all((r["generated"] >= 0) & (r["generated"] <= 1)))  # tanh outputs rescaled
        self.assertEqual(sum(r["generated_class_counts"]), 40)
        self.assertAllClose(r["generated_confidence"], r["probabilities"].max(axis=1).mean())
        self.assertTrue(np.isfinite(r["final_d_loss"]) and np.isfinite(r["final_g_loss"]))
