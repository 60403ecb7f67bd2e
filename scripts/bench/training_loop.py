"""Benchmark: steps/second of `tfx_ext.training.Trainer.fit` against `model.fit`.

Same model, same data, same optimizer, all warmed up (tracing excluded), measured
in the same run and interleaved (tf_keras fit, Keras fit, Trainer, then the next
repeat in another order) so that machine noise hits all of them; the median over
repeats is reported. Cases: an MLP (64-300-100-10) and a small CNN on
scikit-learn's digits in batches of 32, with and without `jit_compile`, with
`steps_per_execution` 1 and 16 (the same setting for every column), and Wide &
Deep with two optimizers (a `MultiOptimizer` in `compile` vs the Trainer's
mapping; tf_keras has no MultiOptimizer, so its column is empty there).

Columns: tf_keras `fit` (the Keras 2 users' baseline), Keras 3 `fit`, Trainer,
Trainer / Keras fit, and Trainer / Keras `fit` with default settings (the
speed-up a user gets from switching to the Trainer with this setting).

Isolation: each case runs in a fresh Python process (models, compiled
functions, data threads and oneDNN caches of earlier cases otherwise slow
later ones unevenly: the same CNN case measured 0.90x after the MLP cases and
1.45x alone), and before each timed run the previous run's garbage is
collected and its data threads are given a moment to stop, so that one
loop's clean-up is not billed to the next.

Targets (issue 17): Trainer >= Keras fit (same settings) on every case; on the
MLP, Trainer with steps_per_execution=16 >= 2x default Keras fit.

Run: .venv/bin/python scripts/bench/training_loop.py [--repeats 7] [--epochs 3] [--quick]
"""

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

BATCH = 32


def load_digits():
    from sklearn.datasets import load_digits

    data = load_digits()
    return (data.images / 16.0).astype("float32")[..., None], data.target.astype("int32")


def build(k, kind):
    """The model of `kind` built with the Keras module `k` (keras or tf_keras)."""
    k.utils.set_random_seed(0)
    if kind == "wide_and_deep":
        x = k.Input((8, 8, 1))
        flat = k.layers.Flatten()(x)
        wide = k.layers.Dense(10, name="wide")(flat)
        h = k.layers.Dense(128, activation="relu", name="deep_1")(flat)
        h = k.layers.Dense(64, activation="relu", name="deep_2")(h)
        deep = k.layers.Dense(10, name="deep_out")(h)
        out = k.layers.Activation("softmax")(k.layers.Add()([wide, deep]))
        return k.Model(x, out)
    if kind == "mlp":
        layers = [
            k.layers.Flatten(),
            k.layers.Dense(300, activation="relu"),
            k.layers.Dense(100, activation="relu"),
            k.layers.Dense(10, activation="softmax"),
        ]
    else:
        layers = [
            k.layers.Conv2D(32, 3, padding="same", activation="relu"),
            k.layers.Conv2D(64, 3, padding="same", activation="relu"),
            k.layers.MaxPooling2D(),
            k.layers.Flatten(),
            k.layers.Dense(128, activation="relu"),
            k.layers.Dense(10, activation="softmax"),
        ]
    return k.Sequential([k.Input((8, 8, 1))] + layers)


def trainer_optimizer(keras, kind):
    if kind == "wide_and_deep":
        return {"wide/.*": keras.optimizers.SGD(0.01), "deep_.*/.*": keras.optimizers.Nadam(1e-3)}
    return keras.optimizers.Adam(1e-3)


def fit_optimizer(keras, kind):
    opt = trainer_optimizer(keras, kind)
    if isinstance(opt, dict):
        return keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(
                default_optimizer=opt["deep_.*/.*"], optimizer_map={"wide/.*": opt["wide/.*"]}
            )
        )
    return opt


def steps_per_second(run, steps):
    start = time.perf_counter()
    run()
    return steps / (time.perf_counter() - start)


def runners(kind, jit, spe, dataset, epochs):
    """name -> a function running `epochs` epochs (each warmed up once here)."""
    import keras
    import tf_keras

    from tfx_ext.training import Trainer

    loss = "sparse_categorical_crossentropy"
    runs = {}
    if kind != "wide_and_deep":
        legacy = build(tf_keras, kind)
        legacy.compile(
            tf_keras.optimizers.Adam(1e-3), loss, jit_compile=jit, steps_per_execution=spe
        )
        runs["tf_keras"] = lambda: legacy.fit(dataset, epochs=epochs, verbose=0)
    fit_model = build(keras, kind)
    fit_model.compile(fit_optimizer(keras, kind), loss, jit_compile=jit, steps_per_execution=spe)
    runs["fit"] = lambda: fit_model.fit(dataset, epochs=epochs, verbose=0)
    trainer = Trainer(
        build(keras, kind),
        loss,
        trainer_optimizer(keras, kind),
        jit_compile=jit,
        steps_per_execution=spe,
    )
    runs["trainer"] = lambda: trainer.fit(dataset, epochs=epochs, verbose=0)
    for run in runs.values():
        run()  # trace and compile
    return runs


def bench(runs, steps, repeats):
    rates = {name: [] for name in runs}
    order = list(runs)
    for repeat in range(repeats):
        # Rotate which one goes first, so a slow spell does not always hit the same one.
        shift = repeat % len(order)
        for name in order[shift:] + order[:shift]:
            gc.collect()
            time.sleep(0.05)
            rates[name].append(steps_per_second(runs[name], steps))
    return {name: statistics.median(values) for name, values in rates.items()}


def measure_case(kind, jit, spe, epochs, repeats):
    """Median steps/s per runner for one case (run in its own process)."""
    import tensorflow as tf

    x, y = load_digits()
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y)).batch(BATCH).cache().prefetch(tf.data.AUTOTUNE)
    )
    steps = int(dataset.cardinality())
    return bench(runners(kind, jit, spe, dataset, epochs), steps * epochs, repeats)


def run_case(kind, jit, spe, args):
    """`measure_case` in a fresh interpreter; returns its rates."""
    command = [
        sys.executable,
        os.path.abspath(__file__),
        "--case",
        f"{kind},{int(jit)},{spe}",
        "--epochs",
        str(args.epochs),
        "--repeats",
        str(args.repeats),
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"case {kind} jit={jit} spe={spe} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="only the MLP cases without XLA")
    parser.add_argument("--case", help=argparse.SUPPRESS)  # kind,jit,spe: one case, JSON out
    args = parser.parse_args()

    if args.case:
        kind, jit, spe = args.case.split(",")
        print(json.dumps(measure_case(kind, jit == "1", int(spe), args.epochs, args.repeats)))
        return

    import keras
    import tensorflow as tf

    x, _ = load_digits()
    steps = -(-len(x) // BATCH)
    print(
        f"digits: {len(x)} examples, batch {BATCH}, {steps} steps/epoch, "
        f"{args.epochs} epochs x {args.repeats} repeats (median), each case in its own process, "
        f"TF {tf.__version__}, Keras {keras.__version__}"
    )
    print(
        f"{'model':<15}{'jit':<7}{'spe':>4}{'tf_keras':>10}{'fit':>8}{'Trainer':>9}"
        f"{'Trainer/fit':>13}{'/default fit':>14}   (steps/s)"
    )
    cases = [
        (kind, jit, spe)
        for kind in ("mlp", "cnn", "wide_and_deep")
        for jit in (False, True)
        for spe in (1, 16)
    ]
    if args.quick:
        cases = [c for c in cases if c[0] == "mlp" and not c[1]]
    ratios, default_fit = [], {}
    for kind, jit, spe in cases:
        rates = run_case(kind, jit, spe, args)
        if spe == 1:
            default_fit[(kind, jit)] = rates["fit"]
        ratio = rates["trainer"] / rates["fit"]
        ratios.append(ratio)
        legacy = f"{rates['tf_keras']:>10.0f}" if "tf_keras" in rates else f"{'-':>10}"
        versus_default = rates["trainer"] / default_fit[(kind, False)]
        print(
            f"{kind:<15}{str(jit):<7}{spe:>4}{legacy}{rates['fit']:>8.0f}{rates['trainer']:>9.0f}"
            f"{ratio:>12.2f}x{versus_default:>13.2f}x",
            flush=True,
        )
    print(f"lowest Trainer/fit ratio {min(ratios):.2f}x (target >= 1.00x)")


if __name__ == "__main__":
    main()
