"""The scheduled, custom and inference samplers decoding whole sequences, their draws'
statistics, round trips and argument checks."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq
from tfx_ext.seq2seq import sampler as sampler_py


class DrawsTest(tf.test.TestCase):
    def test_bernoulli_and_categorical_frequencies(self):
        draws = np.asarray(sampler_py.bernoulli_sample(probs=[0.2, 0.7], sample_shape=4000, seed=0))
        self.assertEqual(draws.shape, (4000, 2))
        self.assertAllClose(draws.mean(0), [0.2, 0.7], atol=0.03)
        logits = np.log(np.array([[0.1, 0.6, 0.3]], "float32"))
        ids = np.asarray(sampler_py.categorical_sample(logits, sample_shape=(50, 80), seed=1))
        self.assertEqual(ids.shape, (50, 80, 1))
        self.assertAllClose(
            np.bincount(ids.ravel(), minlength=3) / ids.size, [0.1, 0.6, 0.3], atol=0.03
        )

    def test_seeded_draws_repeat(self):
        logits = np.zeros((3, 5), "float32")
        a = sampler_py.categorical_sample(logits, seed=4, sample_shape=6)
        b = sampler_py.categorical_sample(logits, seed=4, sample_shape=6)
        self.assertAllEqual(a, b)

    def test_config_round_trips(self):
        embedding = keras.layers.Embedding(5, 3)
        clone = assert_config_round_trip(
            self,
            seq2seq.ScheduledEmbeddingTrainingSampler(
                0.25, embedding_fn=embedding, seed=1, scheduling_seed=2
            ),
        )
        self.assertIsInstance(clone.embedding_fn, keras.layers.Embedding)
        clone = assert_config_round_trip(
            self, seq2seq.ScheduledOutputTrainingSampler([0.1, 0.9], seed=3)
        )
        self.assertAllClose(clone.sampling_probability, [0.1, 0.9])

    @rejects_bad_input(
        seq2seq.ScheduledEmbeddingTrainingSampler,
        seq2seq.ScheduledOutputTrainingSampler,
        seq2seq.CustomSampler,
        seq2seq.InferenceSampler,
    )
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "scalar or a vector"):
            seq2seq.ScheduledEmbeddingTrainingSampler(np.ones((2, 2)))
        with self.assertRaisesRegex(TypeError, "`embedding_fn`"):
            seq2seq.ScheduledEmbeddingTrainingSampler(0.5, embedding_fn="embed")
        with self.assertRaisesRegex(TypeError, "`seed`"):
            seq2seq.ScheduledOutputTrainingSampler(0.5, seed=0.5)
        with self.assertRaisesRegex(TypeError, "`sample_fn`"):
            seq2seq.CustomSampler(lambda x: x, None, lambda **k: k)
        with self.assertRaisesRegex(TypeError, "`end_fn`"):
            seq2seq.InferenceSampler(lambda x: x, (), "int32", end_fn=3)
        with self.assertRaisesRegex(ValueError, "exactly one of probs and logits"):
            sampler_py.bernoulli_sample()


@tensorflow_only
class DecodingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.inputs = np.random.default_rng(0).normal(size=(4, 6, 5)).astype("float32")

    def test_scheduled_embedding_at_probability_zero_is_teacher_forcing(self):
        cell = keras.layers.GRUCell(5)
        embedding = keras.layers.Embedding(5, 5)
        forced = seq2seq.BasicDecoder(cell, seq2seq.TrainingSampler())
        scheduled = seq2seq.BasicDecoder(
            cell, seq2seq.ScheduledEmbeddingTrainingSampler(0.0, embedding_fn=embedding)
        )
        state = cell.get_initial_state(batch_size=4)
        a, _, _ = forced(self.inputs, initial_state=state, sequence_length=[6, 4, 2, 1])
        b, _, _ = scheduled(self.inputs, initial_state=state, sequence_length=[6, 4, 2, 1])
        self.assertAllClose(a.rnn_output, b.rnn_output)
        self.assertAllEqual(b.sample_id, -np.ones((4, 6)))

    def test_scheduled_output_at_probability_one_feeds_outputs_back(self):
        cell = keras.layers.GRUCell(5)
        decoder = seq2seq.BasicDecoder(cell, seq2seq.ScheduledOutputTrainingSampler(1.0, seed=0))
        state = cell.get_initial_state(batch_size=4)
        outputs, _, _ = decoder(self.inputs, initial_state=state, sequence_length=[6, 6, 6, 6])
        # by hand: the first input is the target's first step, then each output is the next input
        h, x, expected = (
            state[0] if isinstance(state, (list, tuple)) else state,
            self.inputs[:, 0],
            [],
        )
        for _ in range(6):
            out, h = cell(x, h)
            h = h[0] if isinstance(h, (list, tuple)) else h
            expected.append(np.asarray(out))
            x = out
        self.assertAllClose(outputs.rnn_output, np.stack(expected, axis=1), atol=1e-5)
        self.assertAllEqual(outputs.sample_id, np.ones((4, 6)))
