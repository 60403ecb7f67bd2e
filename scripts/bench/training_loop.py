"""Benchmark: steps/second of `tfx_ext.training.Trainer.fit` against `model.fit`.

Same model, same data, same optimizer, both warmed up (tracing excluded), measured in
the same run and interleaved (fit, Trainer, fit, Trainer, ...) so that machine noise
hits both; the median over repeats is reported. Cases: an MLP and a small CNN on
scikit-learn's digits, each with and without `jit_compile`, and Wide & Deep with two
optimizers (a `keras.optimizers.MultiOptimizer` in `compile` vs the Trainer's mapping).

Target (issue 4): ratio Trainer / fit >= 1.0 (never slower than fit).

Run: .venv/bin/python scripts/bench/training_loop.py [--repeats 7] [--epochs 3]
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_ext.training import Trainer  # noqa: E402

BATCH = 32


def load_digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype("float32")[..., None], data.target.astype("int32")


def build(kind):
    keras.utils.set_random_seed(0)
    if kind == "wide_and_deep":
        x = keras.Input((8, 8, 1))
        flat = keras.layers.Flatten()(x)
        wide = keras.layers.Dense(10, name="wide")(flat)
        h = keras.layers.Dense(128, activation="relu", name="deep_1")(flat)
        h = keras.layers.Dense(64, activation="relu", name="deep_2")(h)
        deep = keras.layers.Dense(10, name="deep_out")(h)
        out = keras.layers.Activation("softmax")(keras.layers.Add()([wide, deep]))
        return keras.Model(x, out)
    if kind == "mlp":
        layers = [keras.layers.Flatten(), keras.layers.Dense(256, activation="relu"),
                  keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    else:
        layers = [keras.layers.Conv2D(32, 3, padding="same", activation="relu"),
                  keras.layers.Conv2D(64, 3, padding="same", activation="relu"),
                  keras.layers.MaxPooling2D(), keras.layers.Flatten(),
                  keras.layers.Dense(128, activation="relu"), keras.layers.Dense(10, activation="softmax")]
    return keras.Sequential([keras.Input((8, 8, 1))] + layers)


def optimizer(kind):
    if kind == "wide_and_deep":
        return {"wide/.*": keras.optimizers.SGD(0.01), "deep_.*/.*": keras.optimizers.Nadam(1e-3)}
    return keras.optimizers.Adam(1e-3)


def keras_optimizer(kind):
    opt = optimizer(kind)
    if isinstance(opt, dict):
        return keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(default_optimizer=opt["deep_.*/.*"], optimizer_map={"wide/.*": opt["wide/.*"]})
        )
    return opt


def steps_per_second(run, steps):
    start = time.perf_counter()
    run()
    return steps / (time.perf_counter() - start)


def bench(kind, jit, dataset, steps, epochs, repeats):
    fit_model = build(kind)
    fit_model.compile(keras_optimizer(kind), "sparse_categorical_crossentropy", jit_compile=jit)
    trainer_model = build(kind)
    trainer = Trainer(trainer_model, "sparse_categorical_crossentropy", optimizer(kind), jit_compile=jit)
    fit_model.fit(dataset, epochs=1, verbose=0)  # trace and compile
    trainer.fit(dataset, epochs=1, verbose=0)
    fit_rates, trainer_rates = [], []
    runs = [(fit_rates, lambda: fit_model.fit(dataset, epochs=epochs, verbose=0)),
            (trainer_rates, lambda: trainer.fit(dataset, epochs=epochs, verbose=0))]
    for repeat in range(repeats):
        # Alternate which one goes first, so a slow spell does not always hit the same one.
        for rates, run in runs if repeat % 2 == 0 else runs[::-1]:
            rates.append(steps_per_second(run, steps * epochs))
    return statistics.median(fit_rates), statistics.median(trainer_rates)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    x, y = load_digits()
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).cache().prefetch(tf.data.AUTOTUNE)
    steps = int(dataset.cardinality())
    print(f"digits: {len(x)} examples, batch {BATCH}, {steps} steps/epoch, "
          f"{args.epochs} epochs x {args.repeats} repeats (median), TF {tf.__version__}, Keras {keras.__version__}")
    print(f"{'model':<15}{'jit':<7}{'fit steps/s':>13}{'Trainer steps/s':>17}{'ratio':>8}")
    ratios = []
    for kind in ("mlp", "cnn", "wide_and_deep"):
        for jit in (False, True):
            fit_rate, trainer_rate = bench(kind, jit, dataset, steps, args.epochs, args.repeats)
            ratio = trainer_rate / fit_rate
            ratios.append(ratio)
            print(f"{kind:<15}{str(jit):<7}{fit_rate:>13.0f}{trainer_rate:>17.0f}{ratio:>7.2f}x")
    print(f"lowest ratio {min(ratios):.2f}x (target >= 1.00x)")


if __name__ == "__main__":
    main()
