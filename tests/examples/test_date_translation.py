"""A tiny run of examples/date_translation.py: train, decode, export, serve over REST."""

import collections
import importlib.util
import os
import tempfile

import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only

# Enough training for the tiny model to learn the answers' form (digits, dashes).
EPOCHS, N_TRAIN = 2, 1024
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

    def test_tiny_run_learns_the_format_and_serves_the_keras_answers(self):
        example = load_example()
        with tempfile.TemporaryDirectory() as tmp:
            results = example.run(
                tmp,
                epochs=EPOCHS,
                n_train=N_TRAIN,
                n_test=16,
                units=16,
                beam_width=2,
                batch_size=32,
            )
            self.assertTrue(os.path.isdir(results["export_path"]))
        translator = results["model"]

        # Held-out dates the run never saw, with their true ISO form from `datetime`.
        inputs, truth = example.random_dates(200, np.random.default_rng(123))
        greedy = example.decode_ids(translator.greedy(tf.constant(example.encode_inputs(inputs))))
        learned = character_accuracy(greedy, truth)
        # Baseline: answer every position with the most common character of the true answers
        # (a constant model; an untrained or broken one does worse).
        chars = collections.Counter("".join(truth))
        common = chars.most_common(1)[0][0]
        baseline = character_accuracy([common * len(t) for t in truth], truth)
        self.assertGreater(learned, baseline + 0.05, f"greedy {greedy[:3]} vs baseline '{common}'")

        # The served strings are the Keras model's beam-search answers, decoded here.
        queries = [query for query, _ in results["served_answers"]]
        self.assertLen(queries, 16)
        served = [answer for _, answer in results["served_answers"]]
        beam = example.decode_ids(translator.beam(tf.constant(example.encode_inputs(queries))))
        self.assertEqual(served, beam)


def character_accuracy(predicted, truth):
    """Share of the true answers' characters matched at the same position."""
    hits = sum(p[i] == c for p, t in zip(predicted, truth) for i, c in enumerate(t) if i < len(p))
    return hits / sum(len(t) for t in truth)
