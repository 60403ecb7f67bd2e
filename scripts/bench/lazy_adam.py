"""Benchmark: LazyAdam vs Keras's Adam on a sparse embedding update, per training step.

A 100,000 x 64 `Embedding` table; each batch looks up 1,000 distinct rows (1% of
the table), so on TensorFlow its gradient is a `tf.IndexedSlices` of 1,000 rows.
Keras's `Adam` turns it into a dense 100,000 x 64 update of both moments and
the table; `tfx_ext.optimizers.LazyAdam` gathers, updates and scatters back
only those rows. Each step (lookup, loss, gradient, optimizer update) runs in
one `tf.function`; the two optimizers are timed interleaved, round by round,
after a warm-up, and the median step time of each is printed with the ratio.

Target (issue 28): LazyAdam >= 3x faster than Adam per step.

Run: .venv/bin/python scripts/bench/lazy_adam.py [--rows 100000] [--dim 64] [--touched 0.01]
"""

import argparse
import os
import time


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the embedding table")
    parser.add_argument("--dim", type=int, default=64, help="embedding width")
    parser.add_argument("--touched", type=float, default=0.01, help="share of rows a batch touches")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved timing rounds")
    parser.add_argument("--steps", type=int, default=20, help="steps per round and optimizer")
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help exits here, before TensorFlow is imported

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_ext.optimizers import LazyAdam  # noqa: E402


def trainer(optimizer, rows, dim, batches):
    """A compiled step of `optimizer` on its own embedding table; returns (step, table)."""
    keras.utils.set_random_seed(0)
    embedding = keras.layers.Embedding(rows, dim)
    embedding.build((None,))
    optimizer.build(embedding.trainable_variables)

    @tf.function
    def step(ids):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(embedding(ids) - 1.0))
        gradients = tape.gradient(loss, embedding.trainable_variables)
        optimizer.apply_gradients(zip(gradients, embedding.trainable_variables))
        return loss

    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(embedding(batches[0]))
    kind = type(tape.gradient(loss, embedding.embeddings)).__name__
    assert kind == "IndexedSlices", f"the embedding gradient is a {kind}, not IndexedSlices"
    step(batches[0])  # trace
    return step, embedding


def timed(step, batches):
    start = time.perf_counter()
    for ids in batches:
        loss = step(ids)
    loss.numpy()  # wait for the last step
    return (time.perf_counter() - start) / len(batches)


def main(args):
    rng = np.random.default_rng(0)
    touched = max(1, int(args.rows * args.touched))
    batches = [
        tf.constant(rng.choice(args.rows, touched, replace=False), dtype="int32")
        for _ in range(args.steps)
    ]
    adam, adam_table = trainer(keras.optimizers.Adam(1e-3), args.rows, args.dim, batches)
    lazy, lazy_table = trainer(LazyAdam(1e-3), args.rows, args.dim, batches)
    initial = lazy_table.embeddings.numpy()
    times = {"Adam": [], "LazyAdam": []}
    for _ in range(3):  # warm-up rounds, not counted
        timed(adam, batches)
        timed(lazy, batches)
    for _ in range(args.rounds):
        times["Adam"].append(timed(adam, batches))
        times["LazyAdam"].append(timed(lazy, batches))
    adam_ms = 1000 * float(np.median(times["Adam"]))
    lazy_ms = 1000 * float(np.median(times["LazyAdam"]))
    print(
        f"table {args.rows} x {args.dim}, {touched} rows per batch "
        f"({100 * touched / args.rows:g}%), {args.rounds} rounds of {args.steps} steps"
    )
    print(f"{'optimizer':<12}{'ms/step (median)':>18}")
    print(f"{'Adam':<12}{adam_ms:>18.3f}")
    print(f"{'LazyAdam':<12}{lazy_ms:>18.3f}")
    print(f"LazyAdam speedup over Adam: {adam_ms / lazy_ms:.1f}x (target >= 3x)")
    # Sanity check: LazyAdam wrote no row that no batch looked up.
    untouched = np.setdiff1d(np.arange(args.rows), np.concatenate([b.numpy() for b in batches]))
    moved = np.abs(lazy_table.embeddings.numpy()[untouched] - initial[untouched]).max()
    print(f"largest change of a row no batch looked up (LazyAdam): {moved:g}")
    del adam_table


if __name__ == "__main__":
    main(ARGS)
