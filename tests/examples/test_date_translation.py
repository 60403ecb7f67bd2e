"""A tiny run of examples/date_translation.py: train, decode, export, serve over REST."""

import importlib.util
import os
import tempfile

import numpy as np
import tensorflow as tf
from tests.seq2seq.tensorflow_only import tensorflow_only

EXAMPLE = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "date_translation.py")


def load_example():
    spec = importlib.util.spec_from_file_location("date_translation", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@tensorflow_only
class DateTranslationExampleTest(tf.test.TestCase):
    def test_data_round_trips_through_the_encodings(self):
        example = load_example()
        inputs, targets = example.random_dates(50, np.random.default_rng(0))
        self.assertEqual(targets[0][4], "-")
        decoder_in, decoder_out = example.encode_targets(targets)
        self.assertEqual(example.decode_ids(decoder_out), targets)
        self.assertTrue((decoder_in[:, 0] == example.START_ID).all())
        ids = example.encode_inputs(inputs)
        chars = ["".join(example.INPUT_CHARS[i - 1] for i in row if i) for row in ids]
        self.assertEqual(chars, inputs)
        # The serving preprocessing gives the same ids as the training one.
        self.assertAllEqual(example.CharsToIds()(tf.constant(inputs)), ids)

    def test_tiny_run_serves_the_keras_answers(self):
        example = load_example()
        with tempfile.TemporaryDirectory() as tmp:
            results = example.run(tmp, epochs=1, n_train=128, n_test=16, units=16, beam_width=2, batch_size=64)
            self.assertTrue(os.path.isdir(results["export_path"]))
        self.assertTrue(results["served_equals_keras"])
        self.assertLen(results["served_answers"], 16)
        for key in ("greedy_accuracy", "beam_accuracy"):
            self.assertBetween(results[key], 0.0, 1.0)
