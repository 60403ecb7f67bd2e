"""Date translation with an attentional encoder-decoder ("Hands-On ML" ch. 16 exercise).

"April 22, 2019" -> "2019-04-22". The data is generated here (random dates
from 1000 to 9999). The model is the book's: a character encoder (LSTM) and
a decoder `AttentionWrapper(LSTMCell, LuongAttention)` trained with teacher
forcing (`TrainingSampler` in a `BasicDecoder`), decoded greedily
(`GreedyEmbeddingSampler`) and with `BeamSearchDecoder`. The beam search runs
inside the serving signature, so `export_for_serving` ships strings in,
strings out; the example queries it over REST through
`tfx_ext.serving.LocalModelServer` and checks the answers equal the Keras
model's.

Run: .venv/bin/python examples/date_translation.py [--epochs 4] [--output-dir DIR]

`run(output_dir, ...)` returns a dict of results (accuracies, timings,
served answers) for the demo.
"""

import argparse
import datetime
import os
import socket
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_ext import seq2seq  # noqa: E402

MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
INPUT_CHARS = "".join(sorted(set("".join(MONTHS) + "0123456789, ")))
OUTPUT_CHARS = "0123456789-"
# Output ids: 0 = end of sequence, 1..11 = OUTPUT_CHARS, 12 = start.
END_ID, START_ID = 0, len(OUTPUT_CHARS) + 1
OUTPUT_VOCAB = len(OUTPUT_CHARS) + 2
OUTPUT_LENGTH = 10  # YYYY-MM-DD, then the end token
MAX_INPUT_LENGTH = 18  # "September 30, 9999"


def random_dates(n, rng):
    """`n` random dates between 1000-01-01 and 9999-12-31: (inputs, targets) strings."""
    low, high = datetime.date(1000, 1, 1).toordinal(), datetime.date(9999, 12, 31).toordinal()
    dates = [datetime.date.fromordinal(int(o)) for o in rng.integers(low, high + 1, size=n)]
    inputs = [f"{MONTHS[d.month - 1]} {d.day}, {d.year}" for d in dates]
    targets = [d.isoformat() for d in dates]
    return inputs, targets


def encode_inputs(texts):
    """Input characters -> ids (1-based, 0 pads), `[n, MAX_INPUT_LENGTH]`."""
    ids = np.zeros((len(texts), MAX_INPUT_LENGTH), "int32")
    for row, text in enumerate(texts):
        ids[row, : len(text)] = [INPUT_CHARS.index(c) + 1 for c in text]
    return ids


def encode_targets(texts):
    """(decoder inputs `[START, c1..c10]`, targets `[c1..c10, END]`)."""
    ids = np.array([[OUTPUT_CHARS.index(c) + 1 for c in text] for text in texts], "int32")
    starts = np.full((len(texts), 1), START_ID, "int32")
    ends = np.full((len(texts), 1), END_ID, "int32")
    return np.concatenate([starts, ids], 1), np.concatenate([ids, ends], 1)


def decode_ids(ids):
    """Output ids -> strings, stopping at the end token."""
    texts = []
    for row in np.asarray(ids):
        chars = []
        for i in row:
            if i == END_ID or i >= START_ID:
                break
            chars.append(OUTPUT_CHARS[i - 1])
        texts.append("".join(chars))
    return texts


class DateTranslator(keras.Model):
    """Encoder (Embedding + LSTM) and attentional decoder, with three ways to decode.

    `call((encoder_ids, decoder_input_ids))` returns teacher-forced logits;
    `greedy(encoder_ids)` and `beam(encoder_ids)` return `[batch, time]` ids.
    """

    def __init__(self, units=128, embedding_dim=32, beam_width=4, **kwargs):
        super().__init__(**kwargs)
        self.units, self.beam_width = units, beam_width
        self.encoder_embedding = keras.layers.Embedding(
            len(INPUT_CHARS) + 1, embedding_dim, mask_zero=True
        )
        self.encoder = keras.layers.LSTM(units, return_sequences=True, return_state=True)
        self.decoder_embedding = keras.layers.Embedding(OUTPUT_VOCAB, embedding_dim)
        self.attention = seq2seq.LuongAttention(units)
        self.cell = seq2seq.AttentionWrapper(
            keras.layers.LSTMCell(units), self.attention, attention_layer_size=units
        )
        self.output_layer = keras.layers.Dense(OUTPUT_VOCAB)
        self.train_decoder = seq2seq.BasicDecoder(
            self.cell, seq2seq.TrainingSampler(), output_layer=self.output_layer
        )
        self.greedy_decoder = seq2seq.BasicDecoder(
            self.cell,
            seq2seq.GreedyEmbeddingSampler(self.decoder_embedding),
            output_layer=self.output_layer,
            maximum_iterations=OUTPUT_LENGTH + 1,
        )
        self.beam_decoder = seq2seq.BeamSearchDecoder(
            self.cell,
            beam_width,
            embedding_fn=self.decoder_embedding,
            output_layer=self.output_layer,
            maximum_iterations=OUTPUT_LENGTH + 1,
        )

    def _encode(self, encoder_ids, multiplier=1):
        embedded = self.encoder_embedding(encoder_ids)
        mask = keras.ops.not_equal(encoder_ids, 0)
        outputs, h, c = self.encoder(embedded, mask=mask)
        lengths = keras.ops.sum(keras.ops.cast(mask, "int32"), axis=1)
        if multiplier > 1:
            outputs, lengths, h, c = seq2seq.tile_batch((outputs, lengths, h, c), multiplier)
        self.attention.setup_memory(outputs, memory_sequence_length=lengths)
        batch = keras.ops.shape(encoder_ids)[0] * multiplier
        state = self.cell.get_initial_state(batch_size=batch, dtype=outputs.dtype)
        return state.clone(cell_state=[h, c])

    def call(self, inputs, training=None):
        encoder_ids, decoder_ids = inputs
        state = self._encode(encoder_ids)
        outputs, _, _ = self.train_decoder(
            self.decoder_embedding(decoder_ids), initial_state=state, training=training
        )
        return outputs.rnn_output

    def greedy(self, encoder_ids):
        state = self._encode(encoder_ids)
        starts = keras.ops.full((keras.ops.shape(encoder_ids)[0],), START_ID, dtype="int32")
        outputs, _, _ = self.greedy_decoder(
            None, start_tokens=starts, end_token=END_ID, initial_state=state
        )
        return outputs.sample_id

    def beam(self, encoder_ids):
        state = self._encode(encoder_ids, self.beam_width)
        starts = keras.ops.full((keras.ops.shape(encoder_ids)[0],), START_ID, dtype="int32")
        outputs, _, _ = self.beam_decoder(
            None, start_tokens=starts, end_token=END_ID, initial_state=state
        )
        return outputs.predicted_ids[:, :, 0]


class CharsToIds(keras.layers.Layer):
    """Serving preprocessing: date strings -> padded input ids (a byte lookup table, no vocabulary files)."""

    def call(self, texts):
        table = np.zeros(256, "int32")
        for i, c in enumerate(INPUT_CHARS):
            table[ord(c)] = i + 1
        codes = tf.strings.unicode_decode(texts, "UTF-8").to_tensor(
            0, shape=[None, MAX_INPUT_LENGTH]
        )
        return tf.gather(tf.constant(table), tf.clip_by_value(codes, 0, 255))

    def compute_output_spec(self, texts):
        return keras.KerasTensor((texts.shape[0], MAX_INPUT_LENGTH), dtype="int32")


class BeamTranslate(keras.layers.Layer):
    """Serving core: input ids -> ISO date strings, by beam search inside the signature."""

    def __init__(self, translator, **kwargs):
        super().__init__(**kwargs)
        self.translator = translator

    def call(self, ids):
        best = self.translator.beam(ids)
        chars = tf.constant([""] + list(OUTPUT_CHARS) + [""])  # end and start map to ""
        return tf.strings.reduce_join(tf.gather(chars, best), axis=1)

    def compute_output_spec(self, ids):
        return keras.KerasTensor((ids.shape[0],), dtype="string")


def serving_model(translator):
    texts = keras.Input(shape=(), dtype="string", name="dates")
    iso = BeamTranslate(translator, name="iso_dates")(CharsToIds(name="chars_to_ids")(texts))
    return keras.Model(texts, iso, name="date_translation")


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def accuracy(predicted, expected):
    return float(np.mean([p == e for p, e in zip(predicted, expected)]))


def run(
    output_dir,
    epochs=4,
    n_train=20000,
    n_test=1000,
    units=128,
    beam_width=4,
    batch_size=64,
    serve=True,
    seed=42,
    verbose=0,
):
    """Trains, evaluates (greedy and beam), exports and serves the translator.

    Returns:
        A dict: `model` (the trained `DateTranslator`), `greedy_accuracy`,
        `beam_accuracy` (exact match on held-out dates), `train_seconds`,
        `examples` (input, beam answer), and with `serve`: `export_path`,
        `served_equals_keras`, `served_answers` ((input, served answer) pairs).
    """
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    train_x, train_y = random_dates(n_train, rng)
    test_x, test_y = random_dates(n_test, rng)
    decoder_in, targets = encode_targets(train_y)

    translator = DateTranslator(units=units, beam_width=beam_width)
    translator.compile(
        optimizer=keras.optimizers.Nadam(learning_rate=3e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    start = time.perf_counter()
    translator.fit(
        (encode_inputs(train_x), decoder_in),
        targets,
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
    )
    train_seconds = time.perf_counter() - start

    test_ids = tf.constant(encode_inputs(test_x))
    greedy = decode_ids(tf.function(translator.greedy)(test_ids))
    beam = decode_ids(tf.function(translator.beam)(test_ids))
    results = {
        "model": translator,
        "greedy_accuracy": accuracy(greedy, test_y),
        "beam_accuracy": accuracy(beam, test_y),
        "train_seconds": train_seconds,
        "examples": list(zip(test_x[:5], beam[:5])),
    }
    if serve:
        results.update(_export_and_serve(translator, output_dir, test_x[:20]))
    return results


def _export_and_serve(translator, output_dir, queries):
    from tfx_ext.export import export_for_serving
    from tfx_ext.serving import LocalModelServer, RestClient

    model = serving_model(translator)
    keras_answers = [s.decode() for s in np.asarray(model(tf.constant(queries)))]
    base = os.path.join(output_dir, "models")
    path = export_for_serving(model, base, "dates", input_names="dates", output_names="iso_dates")
    port = _free_port()
    with LocalModelServer(base, rest_port=port, grpc_port=0):
        client = RestClient("127.0.0.1", port, "dates")
        for _ in range(100):  # the server loads the version in the background
            try:
                served = client.predict(np.array(queries, dtype=object))
                break
            except Exception:
                time.sleep(0.2)
        else:
            raise RuntimeError("the local server did not serve the exported model")
    served = [
        s.decode() if isinstance(s, bytes) else str(s) for s in np.asarray(served).reshape(-1)
    ]
    return {
        "export_path": path,
        "served_answers": list(zip(queries, served)),
        "served_equals_keras": served == keras_answers,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--train-size", type=int, default=20000)
    parser.add_argument("--beam-width", type=int, default=4)
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    output_dir = args.output_dir or tempfile.mkdtemp(prefix="date_translation_")
    results = run(
        output_dir,
        epochs=args.epochs,
        n_train=args.train_size,
        beam_width=args.beam_width,
        verbose=2,
    )
    print(f"greedy exact match: {results['greedy_accuracy']:.2%}")
    print(
        f"beam exact match:   {results['beam_accuracy']:.2%}  (training {results['train_seconds']:.0f} s)"
    )
    for text, iso in results["examples"]:
        print(f"  {text!r} -> {iso!r}")
    print(f"exported: {results['export_path']}; served == Keras: {results['served_equals_keras']}")


if __name__ == "__main__":
    main()
