"""Hands-On ML 2nd ed., chapter 16: the TensorFlow Addons flows, with `import tfx_ext as tfa`.

The chapter's encoder-decoder (`TrainingSampler` in a `BasicDecoder`
inside a functional model), exercise 9's greedy inference model
(`GreedyEmbeddingSampler(embedding_fn=...)` in a second `BasicDecoder`
sharing the trained layers, called on symbolic `start_tokens`), beam
search with `tile_batch`, and the attention mechanism, spelled with TFA's
module paths as the book does (`tfa.seq2seq.sampler.TrainingSampler`,
`tfa.seq2seq.basic_decoder.BasicDecoder`, ...).

Substitutions: the book's data (dates as text, its exercise 9) is replaced
by a generated toy translation (each source id maps to one target id, in
order) so that training fits in seconds; examples/date_translation.py
(tested in tests/examples) is the full date-translation program. The
book's `tf.fill(tf.shape(encoder_inputs)[:1], sos_id)` cannot take a Keras
3 symbolic tensor; `keras.ops.full_like(encoder_inputs[:, 0], sos_id)` is
the same tensor.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

import tfx_ext as tfa

N_SOURCE, MAX_LENGTH, UNITS, EMBEDDING = 8, 5, 32, 16
EOS, SOS = (
    1,
    N_SOURCE + 2,
)  # target ids: 0 pad, 1 end, 2.. words; SOS only as the first decoder input
N_OUTPUT = N_SOURCE + 2


def toy_translation(n, rng):
    """Source ids 1..N_SOURCE, target word = source + 1, then EOS; teacher-forcing inputs start with SOS."""
    lengths = rng.integers(2, MAX_LENGTH + 1, size=n)
    x = np.zeros((n, MAX_LENGTH), "int32")
    y = np.zeros((n, MAX_LENGTH + 1), "int32")
    for i, length in enumerate(lengths):
        words = rng.integers(1, N_SOURCE + 1, size=length)
        x[i, :length] = words
        y[i, :length] = words + 1
        y[i, length] = EOS
    decoder_x = np.concatenate([np.full((n, 1), SOS, "int32"), y[:, :-1]], axis=1)
    return x, decoder_x, y


def book_models():
    """The chapter's training model and exercise 9's inference model, sharing layers."""
    encoder_inputs = keras.layers.Input(shape=[None], dtype=np.int32)
    decoder_inputs = keras.layers.Input(shape=[None], dtype=np.int32)
    encoder_embeddings = keras.layers.Embedding(N_SOURCE + 1, EMBEDDING)(encoder_inputs)
    decoder_embedding_layer = keras.layers.Embedding(N_OUTPUT + 1, EMBEDDING)
    decoder_embeddings = decoder_embedding_layer(decoder_inputs)
    encoder = keras.layers.LSTM(UNITS, return_state=True)
    encoder_outputs, state_h, state_c = encoder(encoder_embeddings)
    encoder_state = [state_h, state_c]

    sampler = tfa.seq2seq.sampler.TrainingSampler()
    decoder_cell = keras.layers.LSTMCell(UNITS)
    output_layer = keras.layers.Dense(N_OUTPUT)
    decoder = tfa.seq2seq.basic_decoder.BasicDecoder(
        decoder_cell, sampler, output_layer=output_layer
    )
    final_outputs, final_state, final_sequence_lengths = decoder(
        decoder_embeddings, initial_state=encoder_state
    )
    Y_proba = keras.layers.Activation("softmax")(final_outputs.rnn_output)
    model = keras.models.Model(inputs=[encoder_inputs, decoder_inputs], outputs=[Y_proba])

    inference_sampler = tfa.seq2seq.sampler.GreedyEmbeddingSampler(
        embedding_fn=decoder_embedding_layer
    )
    inference_decoder = tfa.seq2seq.basic_decoder.BasicDecoder(
        decoder_cell,
        inference_sampler,
        output_layer=output_layer,
        maximum_iterations=MAX_LENGTH + 1,
    )
    start_tokens = keras.ops.full_like(encoder_inputs[:, 0], SOS)
    final_outputs, final_state, final_sequence_lengths = inference_decoder(
        start_tokens, initial_state=encoder_state, start_tokens=start_tokens, end_token=EOS
    )
    inference_model = keras.models.Model(
        inputs=[encoder_inputs], outputs=[final_outputs.sample_id, final_sequence_lengths]
    )
    layers = {
        "encoder": keras.Model(encoder_inputs, encoder_state),
        "embedding": decoder_embedding_layer,
        "cell": decoder_cell,
        "output": output_layer,
    }
    return model, inference_model, layers


def eager_greedy(layers, x, steps):
    """Step-by-step greedy decoding with the trained layers: the reference for the inference model."""
    state = [np.asarray(s) for s in layers["encoder"](x)]
    ids = np.full(len(x), SOS, "int32")
    out = []
    for _ in range(steps):
        output, state = layers["cell"](layers["embedding"](ids), state)
        ids = np.argmax(np.asarray(layers["output"](output)), axis=-1).astype("int32")
        out.append(ids)
    return np.stack(out, axis=1)


def until_end(row):
    """The ids up to and including the first end token, and that length."""
    hits = np.flatnonzero(row == EOS)
    length = hits[0] + 1 if len(hits) else len(row)
    return list(row[:length]), length


class BookChapter16Test(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        cls.x, cls.decoder_x, cls.y = toy_translation(1024, rng)
        cls.x_test, _, cls.y_test = toy_translation(32, rng)
        cls.model, cls.inference_model, cls.layers = book_models()
        cls.model.compile(
            loss="sparse_categorical_crossentropy",
            optimizer=keras.optimizers.Nadam(0.01),
            metrics=["accuracy"],
        )
        cls.history = cls.model.fit(
            [cls.x, cls.decoder_x], cls.y, epochs=12, batch_size=64, verbose=0
        )

    def test_training_model_learns(self):
        loss = self.history.history["loss"]
        self.assertLess(loss[-1], 0.3 * loss[0])
        self.assertEqual(self.model.outputs[0].shape[-1], N_OUTPUT)

    def test_greedy_inference_model_matches_a_step_by_step_decode(self):
        """Exercise 9: the functional inference model gives the eager greedy loop's ids and lengths."""
        ids, lengths = self.inference_model.predict(self.x_test, verbose=0)
        reference = eager_greedy(self.layers, self.x_test, MAX_LENGTH + 1)
        for row, ref_row, length in zip(ids, reference, lengths):
            expected, expected_length = until_end(ref_row)
            self.assertEqual(until_end(row)[0], expected)
            self.assertEqual(int(length), expected_length)
        # And the trained model translates: most test sentences come out right.
        correct = [until_end(row)[0] == until_end(y)[0] for row, y in zip(ids, self.y_test)]
        self.assertGreater(np.mean(correct), 0.8)

    def test_inference_model_round_trips_through_keras_file(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "inference.keras")
            self.inference_model.save(path)
            loaded = keras.models.load_model(path)
        expected_outputs = self.inference_model.predict(self.x_test, verbose=0)
        for got, expected in zip(loaded.predict(self.x_test, verbose=0), expected_outputs):
            self.assertAllEqual(got, expected)

    def test_beam_search_with_tile_batch(self):
        """The chapter's beam search: width 1 is greedy decoding; wider beams come ranked by score."""
        encoder_state = self.layers["encoder"](self.x_test)
        start_tokens = tf.fill([len(self.x_test)], SOS)
        embedding_decoder = self.layers["embedding"].embeddings
        greedy = eager_greedy(self.layers, self.x_test, MAX_LENGTH + 1)
        for beam_width in (1, 4):
            decoder = tfa.seq2seq.beam_search_decoder.BeamSearchDecoder(
                cell=self.layers["cell"],
                beam_width=beam_width,
                output_layer=self.layers["output"],
                maximum_iterations=MAX_LENGTH + 1,
            )
            decoder_initial_state = tfa.seq2seq.beam_search_decoder.tile_batch(
                encoder_state, multiplier=beam_width
            )
            outputs, _, _ = decoder(
                embedding_decoder,
                start_tokens=start_tokens,
                end_token=EOS,
                initial_state=decoder_initial_state,
            )
            predicted = np.asarray(outputs.predicted_ids)  # [batch, time, beam]
            scores = np.asarray(outputs.beam_search_decoder_output.scores)
            self.assertEqual(predicted.shape[::2], (len(self.x_test), beam_width))
            self.assertTrue(np.all(np.diff(scores, axis=-1) <= 1e-6))
            if beam_width == 1:
                for row, ref_row in zip(predicted[:, :, 0], greedy):
                    self.assertEqual(until_end(row)[0], until_end(ref_row)[0])
            else:
                correct = [
                    until_end(row)[0] == until_end(y)[0]
                    for row, y in zip(predicted[:, :, 0], self.y_test)
                ]
                self.assertGreater(np.mean(correct), 0.8)

    def test_luong_attention_as_the_book_spells_it(self):
        """`tfa.seq2seq.attention_wrapper.LuongAttention` over encoder outputs, against its formula."""
        rng = np.random.default_rng(1)
        memory = rng.normal(size=(3, 4, UNITS)).astype("float32")
        lengths = np.array([4, 2, 1], "int32")
        attention_mechanism = tfa.seq2seq.attention_wrapper.LuongAttention(
            UNITS, memory, memory_sequence_length=lengths
        )
        attention_decoder_cell = tfa.seq2seq.attention_wrapper.AttentionWrapper(
            keras.layers.LSTMCell(UNITS), attention_mechanism, attention_layer_size=UNITS
        )
        state = attention_decoder_cell.get_initial_state(batch_size=3, dtype="float32")
        inputs = rng.normal(size=(3, 5)).astype("float32")
        output, next_state = attention_decoder_cell(inputs, state)
        self.assertEqual(output.shape, (3, UNITS))
        # Alignments: softmax over the unmasked memory of query . (memory @ W).
        first_cell_inputs = np.concatenate(
            [inputs, np.zeros((3, UNITS), "float32")], 1
        )  # previous attention: zeros
        cell_output, _ = attention_decoder_cell.cell(first_cell_inputs, state.cell_state)
        keys = memory @ np.asarray(attention_mechanism.memory_layer.kernel)
        score = np.einsum("bu,btu->bt", np.asarray(cell_output), keys)
        mask = np.arange(4)[None] < lengths[:, None]
        score = np.where(mask, score, -np.inf)
        expected = np.exp(score - score.max(1, keepdims=True))
        expected /= expected.sum(1, keepdims=True)
        self.assertAllClose(next_state.alignments, expected, atol=1e-5)
