import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq


def functional_decoder_model():
    """Encoder LSTM state -> BasicDecoder(TrainingSampler) over the decoder inputs -> logits."""
    keras.utils.set_random_seed(0)
    source = keras.Input((5, 3), name="source")
    target = keras.Input((4, 2), name="target")
    _, h, c = keras.layers.LSTM(6, return_state=True)(source)
    decoder = seq2seq.BasicDecoder(
        keras.layers.LSTMCell(6), seq2seq.TrainingSampler(), output_layer=keras.layers.Dense(7)
    )
    outputs, _, _ = decoder(target, initial_state=[h, c])
    return keras.Model([source, target], outputs.rnn_output)


@tensorflow_only
class BasicDecoderTest(tf.test.TestCase):
    def test_functional_model_round_trip(self):
        model = functional_decoder_model()
        rng = np.random.default_rng(0)
        x = [
            rng.normal(size=(2, 5, 3)).astype("float32"),
            rng.normal(size=(2, 4, 2)).astype("float32"),
        ]
        self.assertEqual(tuple(model(x).shape), (2, 4, 7))
        loaded = assert_model_round_trip(
            self, model, x, saved_model=False
        )  # the kit's SavedModel check is single-input
        self.assertIsInstance(loaded.layers[-1], seq2seq.BasicDecoder)
        with tempfile.TemporaryDirectory() as tmp:
            model.export(tmp, format="tf_saved_model", verbose=False)
            reloaded = tf.saved_model.load(tmp)
            served = reloaded.serve(x)
        self.assertAllClose(served, model(x), atol=1e-6)

    def test_symbolic_sampler_arguments_beside_python_ints(self):
        """Issue #23: `start_tokens=<KerasTensor>, end_token=2` (the book's inference model) builds a
        functional model whose answers are the eager decoder's; so does a symbolic `sequence_length`."""
        keras.utils.set_random_seed(0)
        embedding, cell, dense = (
            keras.layers.Embedding(6, 3),
            keras.layers.GRUCell(5),
            keras.layers.Dense(6),
        )
        decoder = seq2seq.BasicDecoder(
            cell, seq2seq.GreedyEmbeddingSampler(embedding), dense, maximum_iterations=4
        )
        h = keras.Input((5,))
        starts = keras.Input((), dtype="int32")
        outputs, _, lengths = decoder(None, initial_state=h, start_tokens=starts, end_token=2)
        model = keras.Model([h, starts], [outputs.sample_id, lengths])
        state = np.random.default_rng(0).normal(size=(3, 5)).astype("float32")
        start_ids = np.array([1, 3, 4], "int32")
        eager, _, eager_lengths = decoder(
            None, initial_state=state, start_tokens=start_ids, end_token=2
        )
        ids, got_lengths = model([state, start_ids])
        self.assertAllEqual(ids, eager.sample_id)
        self.assertAllEqual(got_lengths, eager_lengths)

        training = seq2seq.BasicDecoder(cell, seq2seq.TrainingSampler(), dense)
        inputs, lengths_in = keras.Input((4, 3)), keras.Input((), dtype="int32")
        outputs, _, lengths = training(inputs, initial_state=h, sequence_length=lengths_in)
        model = keras.Model([inputs, h, lengths_in], lengths)
        x = np.random.default_rng(1).normal(size=(3, 4, 3)).astype("float32")
        self.assertAllEqual(model([x, state, np.array([4, 2, 1], "int32")]), [4, 2, 1])

    def test_samplers_and_decoder_config_round_trip(self):
        embedding = keras.layers.Embedding(5, 3)
        for obj in (
            seq2seq.TrainingSampler(time_major=True),
            seq2seq.GreedyEmbeddingSampler(embedding),
            seq2seq.SampleEmbeddingSampler(softmax_temperature=0.5, seed=3),
            seq2seq.BasicDecoder(
                keras.layers.GRUCell(4),
                seq2seq.GreedyEmbeddingSampler(embedding),
                maximum_iterations=9,
            ),
        ):
            with self.subTest(type(obj).__name__):
                assert_config_round_trip(self, obj)

    def test_sample_embedding_sampler_follows_the_distribution(self):
        sampler = seq2seq.SampleEmbeddingSampler(seed=0, softmax_temperature=2.0)
        logits = np.tile(np.log([[0.7, 0.2, 0.1]]), (4000, 1)).astype("float32")
        ids = np.asarray(sampler.sample(0, tf.constant(logits), None))
        expected = np.exp(np.log([0.7, 0.2, 0.1]) / 2.0)
        self.assertAllClose(
            np.bincount(ids, minlength=3) / 4000, expected / expected.sum(), atol=0.03
        )

    @rejects_bad_input(
        seq2seq.BasicDecoder,
        seq2seq.TrainingSampler,
        seq2seq.GreedyEmbeddingSampler,
        seq2seq.SampleEmbeddingSampler,
        seq2seq.dynamic_decode,
    )
    def test_bad_arguments(self):
        cell = keras.layers.LSTMCell(3)
        with self.assertRaisesRegex(TypeError, "`sampler`"):
            seq2seq.BasicDecoder(cell, "greedy")
        with self.assertRaisesRegex(TypeError, "`output_layer`"):
            seq2seq.BasicDecoder(cell, seq2seq.TrainingSampler(), output_layer=lambda x: x)
        with self.assertRaisesRegex(TypeError, "`time_major`"):
            seq2seq.TrainingSampler(time_major="yes")
        with self.assertRaisesRegex(ValueError, "`sequence_length`"):
            seq2seq.TrainingSampler().initialize(np.ones((2, 3, 1)), sequence_length=[[1, 2]])
        with self.assertRaisesRegex(TypeError, "`embedding_fn`"):
            seq2seq.GreedyEmbeddingSampler(embedding_fn=3)
        with self.assertRaisesRegex(ValueError, "end_token must be a scalar"):
            seq2seq.GreedyEmbeddingSampler().initialize(
                np.eye(3), start_tokens=[0], end_token=[1, 2]
            )
        with self.assertRaisesRegex(ValueError, "`softmax_temperature`"):
            seq2seq.SampleEmbeddingSampler(softmax_temperature=0.0)
        decoder = seq2seq.BasicDecoder(cell, seq2seq.TrainingSampler())
        with self.assertRaisesRegex(ValueError, "`maximum_iterations`"):
            seq2seq.dynamic_decode(decoder, maximum_iterations=0)
        with self.assertRaisesRegex(TypeError, "`decoder`"):
            seq2seq.dynamic_decode(cell)
