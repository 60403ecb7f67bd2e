"""Benchmark: tfx_ext's CRF ops against TensorFlow Addons' algorithm, in the same run.

64 sequences x 50 steps x 20 tags (lengths drawn in [25, 50]).

- baseline: TFA's algorithm written out in plain TensorFlow (TFA cannot be
  imported on TF 2.21 / Keras 3): `crf_decode` runs a `tf.keras.layers.RNN`
  over a forward Viterbi cell (masked, zero outputs past the end), reverses
  the back-pointers with `tf.reverse_sequence` and follows them with a
  `tf.scan`; `crf_log_likelihood` gathers the unary and binary scores from
  flattened tensors and runs the forward algorithm as a `tf.scan` that keeps
  every step's alphas, then gathers each sequence's last one;
- ours: `tfx_ext.text.crf_decode` and `tfx_ext.text.crf_log_likelihood`
  (`keras.ops` loops).

Each is wrapped in one `tf.function` (graph mode, as in `fit`, `predict` and a
served model); `log_likelihood+grad` also takes the gradient with respect to
the potentials and the transitions (a training step's CRF part). Both ways
must agree (checked before timing); they are timed round-robin in the same
run (medians of `--repeats` rounds of `--calls` calls) and the table gives
milliseconds per call and the ratio ours / baseline (below 1: ours is faster).

Run: .venv/bin/python scripts/bench/crf.py [--repeats 7] [--calls 20] [--jit]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import tensorflow as tf

from tfx_ext import text

BATCH, STEPS, TAGS = 64, 50, 20


class ViterbiCell(tf.keras.layers.Layer):
    """TFA's CrfDecodeForwardRnnCell: one max-product step with back-pointers."""

    def __init__(self, transitions, **kwargs):
        super().__init__(**kwargs)
        self.transitions = transitions
        self.state_size = int(transitions.shape[0])
        self.output_size = int(transitions.shape[0])

    def call(self, inputs, states):
        state = states[0] if isinstance(states, (list, tuple)) else states
        scores = tf.expand_dims(state, 2) + tf.expand_dims(self.transitions, 0)
        pointers = tf.cast(tf.argmax(scores, 1), tf.float32)
        return pointers, [inputs + tf.reduce_max(scores, [1])]


def baseline_decode(potentials, transitions, lengths):
    first = potentials[:, 0]
    rest = potentials[:, 1:]
    lengths_less_one = tf.maximum(0, lengths - 1)
    mask = tf.sequence_mask(lengths_less_one, tf.shape(rest)[1])
    rnn = tf.keras.layers.RNN(
        ViterbiCell(transitions),
        return_sequences=True,
        return_state=True,
        zero_output_for_mask=True,
    )
    pointers, last = rnn(rest, initial_state=[first], mask=mask)
    pointers = tf.cast(pointers, tf.int32)
    pointers = tf.reverse_sequence(pointers, lengths_less_one, seq_axis=1)
    best = tf.expand_dims(tf.cast(tf.argmax(last, 1), tf.int32), -1)

    def back(state, row):
        index = tf.stack([tf.range(tf.shape(row)[0]), tf.squeeze(state, 1)], axis=1)
        return tf.expand_dims(tf.gather_nd(row, index), -1)

    tags = tf.transpose(tf.scan(back, tf.transpose(pointers, [1, 0, 2]), best), [1, 0, 2])
    tags = tf.concat([best, tf.squeeze(tags, 2)], axis=1)
    return tf.reverse_sequence(tags, lengths, seq_axis=1), tf.reduce_max(last, 1)


def baseline_log_likelihood(potentials, tags, lengths, transitions):
    batch, steps, num_tags = (
        tf.shape(potentials)[0],
        tf.shape(potentials)[1],
        tf.shape(potentials)[2],
    )
    mask = tf.sequence_mask(lengths, steps, dtype=potentials.dtype)
    offsets = tf.expand_dims(tf.range(batch) * steps * num_tags, 1) + tf.expand_dims(
        tf.range(steps) * num_tags, 0
    )
    unary = tf.reduce_sum(tf.gather(tf.reshape(potentials, [-1]), offsets + tags) * mask, 1)
    pairs = tags[:, :-1] * num_tags + tags[:, 1:]
    binary = tf.reduce_sum(tf.gather(tf.reshape(transitions, [-1]), pairs) * mask[:, 1:], 1)

    def forward(alphas, unary_t):
        return unary_t + tf.reduce_logsumexp(
            tf.expand_dims(alphas, 2) + tf.expand_dims(transitions, 0), [1]
        )

    first = potentials[:, 0]
    alphas = tf.transpose(
        tf.scan(forward, tf.transpose(potentials[:, 1:], [1, 0, 2]), first), [1, 0, 2]
    )
    alphas = tf.concat([tf.expand_dims(first, 1), alphas], 1)
    last = tf.stack([tf.range(batch), tf.maximum(0, lengths - 1)], axis=1)
    log_norm = tf.reduce_logsumexp(tf.gather_nd(alphas, last), [1])
    log_norm = tf.where(lengths <= 0, tf.zeros_like(log_norm), log_norm)
    return unary + binary - log_norm


def ours_log_likelihood(potentials, tags, lengths, transitions):
    return text.crf_log_likelihood(potentials, tags, lengths, transitions)[0]


def with_gradient(log_likelihood):
    def step(potentials, tags, lengths, transitions):
        with tf.GradientTape() as tape:
            tape.watch([potentials, transitions])
            loss = -tf.reduce_mean(log_likelihood(potentials, tags, lengths, transitions))
        return (loss, *tape.gradient(loss, [potentials, transitions]))

    return step


def timed(fn, args, calls):
    start = time.perf_counter()
    for _ in range(calls):
        result = fn(*args)
    tf.nest.map_structure(lambda t: t.numpy(), result)
    return (time.perf_counter() - start) / calls * 1000


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--calls", type=int, default=20)
    parser.add_argument(
        "--jit",
        action="store_true",
        help="also compile both with XLA (jit_compile=True)",
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    potentials = tf.constant(rng.normal(size=(BATCH, STEPS, TAGS)).astype("float32"))
    transitions = tf.constant(rng.normal(size=(TAGS, TAGS)).astype("float32"))
    lengths = tf.constant(rng.integers(STEPS // 2, STEPS + 1, size=BATCH).astype("int32"))
    tags = tf.constant(rng.integers(0, TAGS, size=(BATCH, STEPS)).astype("int32"))

    jit_modes = (False, True) if args.jit else (False,)
    cases = []
    for jit in jit_modes:
        suffix = " (XLA)" if jit else ""
        cases += [
            (
                f"crf_decode{suffix}",
                baseline_decode,
                text.crf_decode,
                (potentials, transitions, lengths),
                jit,
            ),
            (
                f"crf_log_likelihood{suffix}",
                baseline_log_likelihood,
                ours_log_likelihood,
                (potentials, tags, lengths, transitions),
                jit,
            ),
            (
                f"log_likelihood+grad{suffix}",
                with_gradient(baseline_log_likelihood),
                with_gradient(ours_log_likelihood),
                (potentials, tags, lengths, transitions),
                jit,
            ),
        ]

    print(
        f"CRF ops, {BATCH} sequences x {STEPS} steps x {TAGS} tags, one tf.function each; ms per call"
    )
    print(f"{'op':<28}{'baseline (TFA)':>16}{'ours':>10}{'ours/baseline':>16}")
    for name, baseline_fn, ours_fn, inputs, jit in cases:
        baseline = tf.function(baseline_fn, jit_compile=jit)
        ours = tf.function(ours_fn, jit_compile=jit)
        expected, actual = baseline(*inputs), ours(*inputs)
        if name.startswith("crf_decode"):
            mask = tf.sequence_mask(lengths, STEPS)
            np.testing.assert_array_equal(
                tf.boolean_mask(actual[0], mask), tf.boolean_mask(expected[0], mask)
            )
            np.testing.assert_allclose(actual[1], expected[1], rtol=1e-5)
        else:
            for a, e in zip(tf.nest.flatten(actual), tf.nest.flatten(expected)):
                np.testing.assert_allclose(a, e, rtol=1e-4, atol=1e-4)
        times = {"baseline": [], "ours": []}
        for _ in range(args.repeats):
            times["baseline"].append(timed(baseline, inputs, args.calls))
            times["ours"].append(timed(ours, inputs, args.calls))
        b, o = statistics.median(times["baseline"]), statistics.median(times["ours"])
        print(f"{name:<28}{b:>16.2f}{o:>10.2f}{o / b:>16.2f}")


if __name__ == "__main__":
    main()
