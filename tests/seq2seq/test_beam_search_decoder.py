import itertools
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq

VOCAB, EMBED, UNITS, END = 4, 3, 5, 0


def tiny_model(seed=0):
    keras.utils.set_random_seed(seed)
    cell = keras.layers.LSTMCell(UNITS)
    dense = keras.layers.Dense(VOCAB)
    embedding = np.random.default_rng(seed).normal(size=(VOCAB, EMBED)).astype("float32")
    # Scaled-up logits make the distributions peaked and varied, so the best
    # sequence is not the greedy one for some start states.
    dense.build((None, UNITS))
    dense.kernel.assign(dense.kernel * 4.0)
    return cell, dense, embedding


def initial_state(batch, seed=1):
    rng = np.random.default_rng(seed)
    return [tf.constant(rng.normal(size=(batch, UNITS)).astype("float32")) for _ in range(2)]


def exhaustive_best(cell, dense, embedding, state, start, max_len):
    """Scores every sequence (ended by END, or cut at max_len) with the same weights; returns the best."""
    best = (-np.inf, None)
    for length in range(1, max_len + 1):
        for tokens in itertools.product(range(VOCAB), repeat=length):
            if END in tokens[:-1] or (length < max_len and tokens[-1] != END):
                continue
            s, prev, score = [tf.constant(x) for x in state], start, 0.0
            for token in tokens:
                out, s = cell(tf.constant(embedding[[prev]]), s)
                score += float(tf.nn.log_softmax(dense(out))[0, token])
                prev = token
            if score > best[0]:
                best = (score, tokens)
    return best


@keras.saving.register_keras_serializable(package="tests")
class AttentionalBeamTranslator(keras.Model):
    """Encoder LSTM, AttentionWrapper(LSTMCell, BahdanauAttention), beam search decoding."""

    def __init__(self, units=6, beam_width=3, **kwargs):
        super().__init__(**kwargs)
        self.units, self.beam_width = units, beam_width
        self.embedding = keras.layers.Embedding(VOCAB, EMBED)
        self.encoder = keras.layers.LSTM(units, return_sequences=True, return_state=True)
        self.mechanism = seq2seq.BahdanauAttention(units, normalize=True)
        self.cell = seq2seq.AttentionWrapper(
            keras.layers.LSTMCell(units), self.mechanism, attention_layer_size=units
        )
        self.decoder = seq2seq.BeamSearchDecoder(
            self.cell,
            beam_width,
            embedding_fn=self.embedding,
            output_layer=keras.layers.Dense(VOCAB),
            maximum_iterations=5,
            length_penalty_weight=0.5,
            coverage_penalty_weight=0.2,
        )

    def call(self, ids):
        memory, h, c = self.encoder(self.embedding(ids))
        memory, h, c = seq2seq.tile_batch((memory, h, c), self.beam_width)
        self.mechanism.setup_memory(memory)
        batch = keras.ops.shape(ids)[0]
        state = self.cell.get_initial_state(
            batch_size=batch * self.beam_width, dtype="float32"
        ).clone(cell_state=[h, c])
        starts = keras.ops.full((batch,), 1, dtype="int32")
        outputs, _, _ = self.decoder(None, start_tokens=starts, end_token=END, initial_state=state)
        return outputs.predicted_ids

    def build(self, input_shape):
        # Sublayers create their weights on a first call with concrete values.
        self.call(keras.ops.ones((1, input_shape[1] or 2), dtype="int32"))
        self.built = True

    def get_config(self):
        return {**super().get_config(), "units": self.units, "beam_width": self.beam_width}


@tensorflow_only
class BeamSearchDecoderTest(tf.test.TestCase):
    def test_full_width_beam_finds_the_exhaustive_best(self):
        cell, dense, embedding = tiny_model()
        max_len = 3
        states = initial_state(4)
        beam_width = VOCAB**max_len  # wide enough to keep every hypothesis
        decoder = seq2seq.BeamSearchDecoder(
            cell, beam_width, output_layer=dense, maximum_iterations=max_len
        )
        outputs, final_state, _ = decoder(
            embedding,
            start_tokens=tf.fill([4], 1),
            end_token=END,
            initial_state=seq2seq.tile_batch(states, beam_width),
        )
        ids = np.asarray(outputs.predicted_ids)[:, :, 0]
        for row in range(4):
            score, tokens = exhaustive_best(
                cell, dense, embedding, [s[row : row + 1] for s in states], 1, max_len
            )
            self.assertEqual(tuple(ids[row, : len(tokens)]), tokens)
            self.assertAllClose(np.asarray(final_state.log_probs)[row, 0], score, atol=1e-4)

    def test_beam_width_one_equals_greedy(self):
        cell, dense, embedding = tiny_model(seed=3)
        states = initial_state(6, seed=4)
        starts = tf.constant([1, 2, 3, 1, 2, 3])
        beam = seq2seq.BeamSearchDecoder(cell, 1, output_layer=dense, maximum_iterations=6)
        greedy = seq2seq.BasicDecoder(
            cell, seq2seq.GreedyEmbeddingSampler(), output_layer=dense, maximum_iterations=6
        )
        beam_out, _, beam_lengths = beam(
            embedding, start_tokens=starts, end_token=END, initial_state=states
        )
        greedy_out, _, greedy_lengths = greedy(
            embedding, start_tokens=starts, end_token=END, initial_state=states
        )
        beam_ids = np.asarray(beam_out.predicted_ids)[:, :, 0]
        greedy_ids = np.asarray(greedy_out.sample_id)
        for row in range(6):
            n = int(greedy_lengths[row])
            self.assertEqual(list(beam_ids[row, :n]), list(greedy_ids[row, :n]))
        self.assertAllEqual(beam_lengths[:, 0], greedy_lengths)

    def test_length_penalty_changes_only_the_ranking(self):
        cell, dense, embedding = tiny_model(seed=5)
        states = seq2seq.tile_batch(initial_state(3, seed=6), 4)
        kwargs = dict(start_tokens=tf.fill([3], 1), end_token=END, initial_state=states)
        plain = seq2seq.BeamSearchDecoder(cell, 4, output_layer=dense, maximum_iterations=5)
        penalized = seq2seq.BeamSearchDecoder(
            cell, 4, output_layer=dense, maximum_iterations=5, length_penalty_weight=1.0
        )
        out_plain, state_plain, _ = plain(embedding, **kwargs)
        out_pen, state_pen, _ = penalized(embedding, **kwargs)
        # Scores are log-probs divided by ((5 + length) / 6) ** weight, where a
        # beam that picked the end token this step is scored at its length
        # before the token (TFA's convention).
        lengths = np.asarray(state_pen.lengths, "float64")
        ratio = (
            np.asarray(state_pen.log_probs)
            / np.asarray(out_pen.beam_search_decoder_output.scores)[:, -1, :]
        )
        matches = np.isclose(ratio, (5.0 + lengths) / 6.0, atol=1e-4) | np.isclose(
            ratio, (5.0 + lengths - 1.0) / 6.0, atol=1e-4
        )
        self.assertTrue(matches.all(), msg=str(ratio))
        self.assertAllClose(
            np.asarray(out_plain.beam_search_decoder_output.scores)[:, -1, :],
            state_plain.log_probs,
            atol=1e-6,
        )

    def test_traced_with_dynamic_batch(self):
        cell, dense, embedding = tiny_model()
        decoder = seq2seq.BeamSearchDecoder(cell, 3, output_layer=dense, maximum_iterations=4)

        @tf.function(input_signature=[tf.TensorSpec([None], tf.int32)])
        def decode(starts):
            batch = tf.shape(starts)[0]
            state = cell.get_initial_state(batch_size=batch * 3)
            return decoder(embedding, start_tokens=starts, end_token=END, initial_state=state)[
                0
            ].predicted_ids

        eager = decoder(
            embedding,
            start_tokens=tf.constant([1, 2]),
            end_token=END,
            initial_state=cell.get_initial_state(batch_size=6),
        )[0].predicted_ids
        self.assertAllEqual(decode(tf.constant([1, 2])), eager)
        self.assertEqual(decode(tf.constant([1, 2, 3])).shape[0], 3)

    def test_jit_compiled_decoding_matches_eager(self):
        cell, dense, embedding = tiny_model(seed=7)
        beam = seq2seq.BeamSearchDecoder(cell, 3, output_layer=dense, maximum_iterations=5)
        greedy = seq2seq.BasicDecoder(
            cell, seq2seq.GreedyEmbeddingSampler(), output_layer=dense, maximum_iterations=5
        )
        starts = tf.constant([1, 2, 3])

        def decode_beam(starts):
            state = cell.get_initial_state(batch_size=9)
            return beam(embedding, start_tokens=starts, end_token=END, initial_state=state)[
                0
            ].predicted_ids

        def decode_greedy(starts):
            state = cell.get_initial_state(batch_size=3)
            return greedy(embedding, start_tokens=starts, end_token=END, initial_state=state)[
                0
            ].sample_id

        for fn in (decode_beam, decode_greedy):
            eager = np.asarray(fn(starts))
            compiled = np.asarray(tf.function(fn, jit_compile=True)(starts))
            # Under XLA the outputs always have maximum_iterations steps (TFA's behaviour).
            self.assertAllEqual(compiled[:, : eager.shape[1]], eager)

    def test_attentional_model_keras_round_trip(self):
        keras.utils.set_random_seed(0)
        model = AttentionalBeamTranslator()
        ids = np.random.default_rng(0).integers(1, VOCAB, size=(2, 4)).astype("int32")
        model.build((None, 4))
        expected = model(ids)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "translator.keras")
            model.save(path)
            loaded = keras.models.load_model(path)
        self.assertAllEqual(loaded(ids), expected)
        self.assertEqual(len(loaded.weights), len(model.weights))

    def test_config_round_trip(self):
        cell, dense, _ = tiny_model()
        decoder = seq2seq.BeamSearchDecoder(
            cell,
            4,
            embedding_fn=keras.layers.Embedding(VOCAB, EMBED),
            output_layer=dense,
            length_penalty_weight=0.5,
            maximum_iterations=7,
        )
        clone = assert_config_round_trip(self, decoder)
        self.assertEqual(clone.beam_width, 4)
        self.assertIsInstance(clone.embedding_fn, keras.layers.Embedding)

    @rejects_bad_input(seq2seq.BeamSearchDecoder)
    def test_bad_arguments(self):
        cell = keras.layers.LSTMCell(3)
        with self.assertRaisesRegex(ValueError, "`beam_width`"):
            seq2seq.BeamSearchDecoder(cell, 0)
        with self.assertRaisesRegex(TypeError, "`beam_width`"):
            seq2seq.BeamSearchDecoder(cell, 2.5)
        with self.assertRaisesRegex(ValueError, "`length_penalty_weight`"):
            seq2seq.BeamSearchDecoder(cell, 2, length_penalty_weight=-1.0)
        with self.assertRaisesRegex(TypeError, "`cell`"):
            seq2seq.BeamSearchDecoder(keras.layers.Dense(3), 2)
        with self.assertRaisesRegex(ValueError, "`maximum_iterations`"):
            seq2seq.BeamSearchDecoder(cell, 2, maximum_iterations=0)
        decoder = seq2seq.BeamSearchDecoder(cell, 2, maximum_iterations=2)
        with self.assertRaisesRegex(ValueError, "batch_size \\* beam_width"):
            # The state was not tiled: 3 rows for 3 sequences x 2 beams.
            decoder(
                np.eye(4, dtype="float32"),
                start_tokens=[1, 1, 1],
                end_token=0,
                initial_state=cell.get_initial_state(batch_size=3),
            )
        with self.assertRaisesRegex(ValueError, "coverage_penalty_weight must be 0.0"):
            seq2seq.BeamSearchDecoder(cell, 2, coverage_penalty_weight=0.5)(
                np.eye(4, dtype="float32"),
                start_tokens=[1],
                end_token=0,
                initial_state=cell.get_initial_state(batch_size=2),
            )
