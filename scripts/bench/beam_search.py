"""Benchmark: BeamSearchDecoder against a Python beam-search loop over the same model.

An attentional decoder (LSTMCell(64) + LuongAttention over a 12-step
memory, Dense(30) logits) with random weights decodes batches of 32
sequences for 20 steps, beam widths 1, 4 and 10.

- loop: the usual hand-written beam search: a Python loop that calls the
  model one step at a time (a compiled step function) and does the beam
  bookkeeping (top-k, parent gathers, back-tracking) in NumPy;
- ours: `tfx_ext.seq2seq.BeamSearchDecoder` inside one `tf.function`.

Both use the same weights and must return the same best sequences (checked
before timing). Each way is timed round-robin in the same run (medians);
the table gives sequences/s and the ratio ours / loop.

Run: .venv/bin/python scripts/bench/beam_search.py [--repeats 5] [--batch 32]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_ext import seq2seq  # noqa: E402

VOCAB, UNITS, MEMORY_TIME, STEPS, START, END = 30, 64, 12, 20, 1, 0


class Model:
    """Embedding, attentional LSTM cell and output layer shared by both ways."""

    def __init__(self):
        keras.utils.set_random_seed(0)
        self.embedding = keras.layers.Embedding(VOCAB, 16)
        self.embedding.build((None,))
        self.mechanism = seq2seq.LuongAttention(UNITS)
        self.cell = seq2seq.AttentionWrapper(
            keras.layers.LSTMCell(UNITS), self.mechanism, attention_layer_size=UNITS
        )
        self.dense = keras.layers.Dense(VOCAB)

    def start(self, memory, beam_width):
        """Sets up the tiled memory; returns the initial cell state for batch * beam rows."""
        self.mechanism.setup_memory(seq2seq.tile_batch(memory, beam_width))
        return self.cell.get_initial_state(batch_size=memory.shape[0] * beam_width, dtype="float32")


def ours(model, beam_width):
    decoder = seq2seq.BeamSearchDecoder(
        model.cell,
        beam_width,
        embedding_fn=model.embedding,
        output_layer=model.dense,
        maximum_iterations=STEPS,
    )

    @tf.function
    def decode(memory):
        state = model.start(memory, beam_width)
        starts = tf.fill([tf.shape(memory)[0]], START)
        outputs, _, _ = decoder(None, start_tokens=starts, end_token=END, initial_state=state)
        return outputs.predicted_ids[:, :, 0]

    return lambda memory: decode(memory).numpy()


def python_loop(model, beam_width):
    @tf.function
    def step(ids, state):
        output, state = model.cell(model.embedding(ids), state)
        return tf.nn.log_softmax(model.dense(output)), state

    @tf.function
    def reorder(state, rows):
        return tf.nest.map_structure(lambda t: tf.gather(t, rows) if t.shape.rank else t, state)

    def decode(memory):
        batch = memory.shape[0]
        state = model.start(memory, beam_width)
        log_probs = np.full((batch, beam_width), -np.inf, "float32")
        log_probs[:, 0] = 0.0
        finished = np.ones((batch, beam_width), bool)
        finished[:, 0] = False
        ids = np.full(batch * beam_width, START, "int32")
        step_ids, parents = [], []
        lowest = np.finfo("float32").min
        for _ in range(STEPS):
            step_log_probs, state = step(tf.constant(ids), state)
            step_log_probs = step_log_probs.numpy().reshape(batch, beam_width, VOCAB)
            eos_only = np.full(VOCAB, lowest, "float32")
            eos_only[END] = 0.0
            step_log_probs[finished] = eos_only
            total = (log_probs[:, :, None] + step_log_probs).reshape(batch, -1)
            best = np.argsort(-total, axis=1, kind="stable")[:, :beam_width]  # top_k's tie order
            log_probs = np.take_along_axis(total, best, axis=1)
            parent, token = best // VOCAB, (best % VOCAB).astype("int32")
            finished = np.take_along_axis(finished, parent, axis=1) | (token == END)
            rows = (parent + np.arange(batch)[:, None] * beam_width).reshape(-1)
            state = reorder(state, tf.constant(rows, tf.int32))
            ids = token.reshape(-1)
            step_ids.append(token)
            parents.append(parent)
            if finished.all():
                break
        # Back-track the best beam (beam 0 after the last top-k).
        beam = np.zeros(batch, int)
        path = []
        for token, parent in zip(reversed(step_ids), reversed(parents)):
            path.append(token[np.arange(batch), beam])
            beam = parent[np.arange(batch), beam]
        path = np.stack(path[::-1], axis=1)
        ended = np.cumsum(path == END, axis=1) > 0
        return np.where(ended, END, path)

    return decode


def timed(ways, repeats):
    times = {name: [] for name in ways}
    for _ in range(repeats):
        for name, fn in ways.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()

    model = Model()
    memory = tf.constant(
        np.random.default_rng(0).normal(size=(args.batch, MEMORY_TIME, 24)).astype("float32")
    )
    print(
        f"batch {args.batch}, {STEPS} steps, vocab {VOCAB}, LSTM {UNITS} + Luong attention; median of {args.repeats}"
    )
    print(f"{'beam':>4} {'loop seq/s':>11} {'ours seq/s':>11} {'ratio':>7}")
    for beam_width in (1, 4, 10):
        loop_fn, ours_fn = python_loop(model, beam_width), ours(model, beam_width)
        expected, got = loop_fn(memory), ours_fn(memory)  # also the warm-up (tracing)
        n = min(expected.shape[1], got.shape[1])
        if not np.array_equal(expected[:, :n], got[:, :n]):
            raise SystemExit(f"beam {beam_width}: the two ways disagree")
        seconds = timed(
            {"loop": lambda: loop_fn(memory), "ours": lambda: ours_fn(memory)}, args.repeats
        )
        loop_rate, ours_rate = args.batch / seconds["loop"], args.batch / seconds["ours"]
        print(
            f"{beam_width:>4} {loop_rate:>11.1f} {ours_rate:>11.1f} {ours_rate / loop_rate:>6.2f}x"
        )


if __name__ == "__main__":
    main()
