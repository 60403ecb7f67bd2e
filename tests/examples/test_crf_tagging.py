"""A tiny run of examples/crf_tagging.py: train a BiLSTM-CRF, reload, export, serve over REST."""

import importlib.util
import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "crf_tagging.py")


def load_example():
    spec = importlib.util.spec_from_file_location("crf_tagging", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.tf_only(
    "exports for TF Serving and trains with CRFModelWrapper's tf.GradientTape step"
)
class CrfTaggingExampleTest(tf.test.TestCase):
    def test_generated_tags_follow_the_formats(self):
        example = load_example()
        texts, tags = example.random_dates(40, np.random.default_rng(0))
        for text, row in zip(texts, tags):
            tokens = text.split()
            self.assertEqual(len(tokens), int(np.sum(row != example.PAD)))
            for token, tag in zip(tokens, row):
                if tag == example.SEP:
                    self.assertIn(token, "/-,")
                elif tag == example.YEAR:
                    self.assertTrue(1900 <= int(token) < 2100)
                elif tag == example.MONTH:
                    self.assertTrue(token.isalpha() or 1 <= int(token) <= 12)
                else:
                    self.assertTrue(1 <= int(token) <= 31, token)
        ids = np.asarray(example.Tokenize()(tf.constant(texts)))
        self.assertAllEqual(ids != 0, tags != example.PAD)  # padding is id 0
        self.assertFalse(np.any(ids == 1))  # every token is in the vocabulary

    def test_tiny_run_tags_dates_and_serves_the_keras_tags(self):
        example = load_example()
        with tempfile.TemporaryDirectory() as tmp:
            results = example.run(
                tmp,
                epochs=2,
                n_train=512,
                n_test=100,
                units=8,
                batch_size=16,
                softmax_baseline=False,
            )
            self.assertTrue(os.path.isdir(results["export_path"]))
        # A constant tagger scores at most the most frequent tag's share (< 40 %).
        self.assertGreater(results["crf_accuracy"], 0.9)
        self.assertTrue(results["reloaded_equals_keras"])
        self.assertTrue(results["served_equals_keras"])
        self.assertLen(results["served_tags"], 20)
        for text, tags in results["served_tags"]:
            self.assertEqual(len(tags.split()), len(text.split()))
