"""Benchmark: vectorized mc_predict against the usual MC Dropout recipes.

A 2-hidden-layer MLP (300/100 units, MC dropout) on 64 features, batches of
1, 32 and 256 examples, 100 samples. Each way is timed in the same run (the
median of several repeats, after a warm-up) and reported as a ratio to ours:

- book:  np.stack([model.predict(x) for _ in range(100)])
- loop:  np.stack([model(x, training=True) for _ in range(100)])   (eager calls)
- floor: one compiled forward pass over the already-tiled batch (100 * rows):
  a tf.function on TensorFlow, a jax.jit of the model's stateless call on JAX

Run: .venv/bin/python scripts/bench/mc_dropout.py [--repeats 9] [--backend jax]
"""

import argparse
import os
import statistics
import time

SAMPLES = 100


def build_model():
    return keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(300, activation="relu"),
            MCDropout(0.2),
            keras.layers.Dense(100, activation="relu"),
            MCDropout(0.2),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def timed(ways, repeats):
    """Median seconds of each way, measured round-robin so drift hits all alike."""
    for fn, _ in ways.values():
        fn()  # warm-up (tracing, first allocations)
    times = {name: [] for name in ways}
    for round_ in range(repeats):
        for name, (fn, every) in ways.items():
            if round_ % every:
                continue
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}


def compiled_forward(model):
    """One compiled forward pass of `model`, returning a NumPy array."""
    if keras.backend.backend() == "jax":
        import jax

        @jax.jit
        def stateless(trainable, non_trainable, t):
            return model.stateless_call(trainable, non_trainable, t, training=False)

        def forward(t):
            out, non_trainable = stateless(
                [v.value for v in model.trainable_variables],
                [v.value for v in model.non_trainable_variables],
                t,
            )
            # Advance the dropout seeds as a real MC pass must.
            for variable, value in zip(model.non_trainable_variables, non_trainable):
                variable.assign(value)
            return np.asarray(out)

        return forward
    import tensorflow as tf

    function = tf.function(lambda t: model(t, training=False))
    return lambda t: np.asarray(function(t))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument(
        "--backend",
        choices=("tensorflow", "jax"),
        default="tensorflow",
        help="Keras backend to measure on",
    )
    args = parser.parse_args()
    # Keras reads its backend when first imported: choose it, then import.
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    global keras, np, MCDropout, mc_predict
    import keras
    import numpy as np

    from tfx_ext.layers import MCDropout
    from tfx_ext.uncertainty import mc_predict

    keras.utils.set_random_seed(0)
    model = build_model()
    forward = compiled_forward(model)
    rng = np.random.default_rng(0)

    print(
        f"MC Dropout, {SAMPLES} samples, MLP 64-300-100-10, {keras.backend.backend()} backend;"
        f" median of {args.repeats} runs"
    )
    print(
        f"{'batch':>5} {'ours ms':>9} {'book ms':>9} {'loop ms':>9} {'floor ms':>9}"
        f" {'book/ours':>10} {'loop/ours':>10} {'ours/floor':>11}"
    )
    for rows in (1, 32, 256):
        x = rng.standard_normal((rows, 64)).astype("float32")
        tiled = keras.ops.convert_to_tensor(np.tile(x, (SAMPLES, 1)))
        # (function, run it every n-th round): the book recipe takes seconds.
        t = timed(
            {
                "ours": (lambda: mc_predict(model, x, samples=SAMPLES), 1),
                "book": (
                    lambda: np.stack([model.predict(x, verbose=0) for _ in range(SAMPLES)]),
                    4,
                ),
                "loop": (
                    lambda: np.stack([np.asarray(model(x, training=True)) for _ in range(SAMPLES)]),
                    1,
                ),
                "floor": (lambda: forward(tiled), 1),
            },
            args.repeats,
        )
        ours, book, loop, floor = t["ours"], t["book"], t["loop"], t["floor"]
        print(
            f"{rows:>5} {ours * 1e3:>9.2f} {book * 1e3:>9.1f} {loop * 1e3:>9.1f} {floor * 1e3:>9.2f}"
            f" {book / ours:>9.1f}x {loop / ours:>9.1f}x {ours / floor:>10.2f}x"
        )
    print("targets: book/ours >= 20x; loop/ours >= 5x at batch 1 and 32; ours/floor <= 1.5x")


if __name__ == "__main__":
    main()
