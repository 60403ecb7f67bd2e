"""Benchmark: native Keras 3 pruning vs dense, vs tfmot on tf_keras, vs zeroing tiny weights.

On scikit-learn's digits (fixed seeds), for an MLP and a small CNN:

- dense baseline: accuracy, TFLite size raw and gzip;
- ours (tfx_ext.sparsity, Keras 3), PolynomialDecay to 80% and 90% during fine-tuning
  (accuracy: mean over 3 seeds): accuracy drop and gzip-compressed TFLite size ratio against dense;
- tfmot on the same architecture in tf_keras, starting from the same dense weights, same
  schedule and epochs;
- the book's baseline: zero the smallest weights of the dense model, no retraining;
- the per-step training cost of pruning: ours (Keras 3) against the same Keras 3 model
  unpruned, and tfmot (tf_keras) against the same tf_keras model unpruned, each pair
  measured interleaved, round by round, in the same run (ConstantSparsity(0.8), masks
  recomputed every 10 steps, as a long fine-tuning does).

Targets (issue 5): drop <= 1.0 point at 80% and <= 2.0 at 90%; gzip TFLite at 80% >= 3x
smaller than dense; ours matches or beats tfmot. Issue 14: pruning's training step
<= 1.3x the unpruned step (tfmot measured 1.6x of its own).

Run: .venv/bin/python scripts/bench/pruning.py [--only accuracy|step-cost]
"""

import argparse
import gzip
import math
import os
import tempfile
import time


def parse_args():
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--only", choices=("accuracy", "step-cost"), help="run one part of the benchmark"
    )
    return parser.parse_args()


if __name__ == "__main__":
    ARGS = parse_args()  # --help exits here, before TensorFlow is imported

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from tfx_ext import sparsity  # noqa: E402

EPOCHS, FINE_TUNE_EPOCHS, BATCH = 20, 20, 32
SEEDS = (1, 2, 3)  # pruned runs are repeated: one seed's accuracy is noise at 90%


def load_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    x_train, x_test, y_train, y_test = train_test_split(
        x, data.target.astype("int32"), test_size=0.25, random_state=42, stratify=data.target
    )
    return x_train, y_train, x_test, y_test


def architecture(lib, kind):
    layers = lib.layers
    if kind == "mlp":
        return [
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ]
    return [
        layers.Conv2D(32, 3, padding="same", activation="relu"),
        layers.Conv2D(64, 3, padding="same", activation="relu"),
        layers.MaxPooling2D(),
        layers.Flatten(),
        layers.Dense(128, activation="relu"),
        layers.Dense(10, activation="softmax"),
    ]


def build(lib, kind):
    model = lib.Sequential([lib.Input((8, 8, 1))] + architecture(lib, kind))
    return model


def compile_(model, lib, rate):
    model.compile(
        optimizer=lib.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )


def accuracy(model, x, y):
    return float((np.argmax(model.predict(x, verbose=0), axis=-1) == y).mean())


def tflite_sizes(model, is_tf_keras=False):
    with tempfile.TemporaryDirectory() as tmp:
        if is_tf_keras:
            tf.saved_model.save(model, tmp)
        else:
            model.export(tmp, format="tf_saved_model", verbose=False)
        content = tf.lite.TFLiteConverter.from_saved_model(tmp).convert()
    return len(content), len(gzip.compress(content, compresslevel=9))


def schedule(final, steps):
    return sparsity.PolynomialDecay(
        0.0, final, begin_step=0, end_step=int(steps * 0.5), frequency=10
    )


def spread(values):
    return f"mean of {len(values)} seeds, range {min(values):.4f}-{max(values):.4f}"


def run(kind, data):
    x_train, y_train, x_test, y_test = data
    steps = FINE_TUNE_EPOCHS * math.ceil(len(x_train) / BATCH)
    keras.utils.set_random_seed(0)
    dense = build(keras, kind)
    compile_(dense, keras, 1e-3)
    start = time.perf_counter()
    dense.fit(x_train, y_train, epochs=EPOCHS, batch_size=BATCH, verbose=0)
    dense_seconds = (time.perf_counter() - start) / EPOCHS
    dense_weights = dense.get_weights()
    base_acc = accuracy(dense, x_test, y_test)
    base_raw, base_gz = tflite_sizes(dense)
    rows = [(kind, "dense", 0.0, base_acc, base_raw, base_gz, "")]

    import tensorflow_model_optimization as tfmot
    import tf_keras

    overhead = None
    for final in (0.8, 0.9):
        ours, theirs = [], []
        for seed in SEEDS:
            # ours
            keras.utils.set_random_seed(seed)
            pruned = sparsity.prune_low_magnitude(dense, schedule(final, steps))
            compile_(pruned, keras, 1e-3)
            start = time.perf_counter()
            pruned.fit(
                x_train,
                y_train,
                epochs=FINE_TUNE_EPOCHS,
                batch_size=BATCH,
                verbose=0,
                callbacks=[sparsity.UpdatePruningStep()],
            )
            pruned_seconds = (time.perf_counter() - start) / FINE_TUNE_EPOCHS
            overhead = overhead or pruned_seconds / dense_seconds
            stripped = sparsity.strip_pruning(pruned)
            ours.append(accuracy(stripped, x_test, y_test))

            # tfmot on tf_keras, from the same dense weights, same schedule and optimizer
            tf_keras.utils.set_random_seed(seed)
            twin = build(tf_keras, kind)
            twin.set_weights(dense_weights)
            twin_pruned = tfmot.sparsity.keras.prune_low_magnitude(
                twin,
                pruning_schedule=tfmot.sparsity.keras.PolynomialDecay(
                    0.0, final, 0, int(steps * 0.5), frequency=10
                ),
            )
            compile_(twin_pruned, tf_keras, 1e-3)
            twin_pruned.fit(
                x_train,
                y_train,
                epochs=FINE_TUNE_EPOCHS,
                batch_size=BATCH,
                verbose=0,
                callbacks=[tfmot.sparsity.keras.UpdatePruningStep()],
            )
            twin_stripped = tfmot.sparsity.keras.strip_pruning(twin_pruned)
            theirs.append(accuracy(twin_stripped, x_test, y_test))

        raw, gz = tflite_sizes(stripped)
        rows.append(
            (
                kind,
                f"ours {final:.0%}",
                sparsity.sparsity_report(stripped).sparsity,
                float(np.mean(ours)),
                raw,
                gz,
                f"{base_gz / gz:.2f}x smaller gzip; {spread(ours)}",
            )
        )
        raw, gz = tflite_sizes(twin_stripped, is_tf_keras=True)
        rows.append(
            (
                kind,
                f"tfmot {final:.0%}",
                sparsity.sparsity_report(twin_stripped).sparsity,
                float(np.mean(theirs)),
                raw,
                gz,
                f"tf_keras + tfmot; {spread(theirs)}",
            )
        )

        # the book's baseline: zero the smallest weights, no retraining
        zeroed = sparsity.zero_small_weights(dense, target_sparsity=final)
        raw, gz = tflite_sizes(zeroed)
        rows.append(
            (
                kind,
                f"zero tiny {final:.0%}",
                sparsity.sparsity_report(zeroed).sparsity,
                accuracy(zeroed, x_test, y_test),
                raw,
                gz,
                "no retraining",
            )
        )
    return rows, base_acc, base_gz, overhead


def epoch_seconds(model, x, y):
    start = time.perf_counter()
    model.fit(x, y, epochs=1, batch_size=BATCH, verbose=0, shuffle=False)
    return time.perf_counter() - start


def step_cost(data, rounds=7):
    """Seconds per training step, unpruned vs pruned, for ours and for tfmot, interleaved."""
    import tensorflow_model_optimization as tfmot
    import tf_keras

    x_train, y_train = data[0], data[1]
    steps = math.ceil(len(x_train) / BATCH)
    print(f"per-step training cost, {steps} steps per epoch, median of {rounds} interleaved rounds")
    print(f"{'model':<5} {'stack':<22} {'unpruned ms':>12} {'pruned ms':>10} {'ratio':>6}")
    for kind in ("mlp", "cnn"):
        keras.utils.set_random_seed(0)
        dense = build(keras, kind)
        pruned = sparsity.prune_low_magnitude(
            build(keras, kind), sparsity.ConstantSparsity(0.8, 0, frequency=10)
        )
        tf_keras.utils.set_random_seed(0)
        twin = build(tf_keras, kind)
        twin_pruned = tfmot.sparsity.keras.prune_low_magnitude(
            build(tf_keras, kind),
            pruning_schedule=tfmot.sparsity.keras.ConstantSparsity(0.8, 0, frequency=10),
        )
        for model, lib in (
            (dense, keras),
            (pruned, keras),
            (twin, tf_keras),
            (twin_pruned, tf_keras),
        ):
            compile_(model, lib, 1e-3)
        twin_fit = twin_pruned.fit

        def twin_pruned_fit(*args, **kwargs):
            return twin_fit(*args, callbacks=[tfmot.sparsity.keras.UpdatePruningStep()], **kwargs)

        twin_pruned.fit = twin_pruned_fit
        timings = {name: [] for name in ("dense", "ours", "tf_keras", "tfmot")}
        for round_ in range(rounds + 1):  # round 0 traces and warms up
            for name, model in (
                ("dense", dense),
                ("ours", pruned),
                ("tf_keras", twin),
                ("tfmot", twin_pruned),
            ):
                seconds = epoch_seconds(model, x_train, y_train)
                if round_:
                    timings[name].append(seconds / steps)
        ours = np.median(np.array(timings["ours"]) / np.array(timings["dense"]))
        theirs = np.median(np.array(timings["tfmot"]) / np.array(timings["tf_keras"]))
        print(
            f"{kind:<5} {'ours (Keras 3)':<22} {1e3 * np.median(timings['dense']):>12.2f} "
            f"{1e3 * np.median(timings['ours']):>10.2f} {ours:>5.2f}x"
        )
        print(
            f"{kind:<5} {'tfmot (tf_keras)':<22} {1e3 * np.median(timings['tf_keras']):>12.2f} "
            f"{1e3 * np.median(timings['tfmot']):>10.2f} {theirs:>5.2f}x"
        )


def main(args):
    data = load_digits()
    if args.only != "accuracy":
        step_cost(data)
    if args.only == "step-cost":
        return
    print(
        f"digits: {len(data[0])} train / {len(data[2])} test; dense {EPOCHS} epochs, "
        f"pruning fine-tune {FINE_TUNE_EPOCHS} epochs (Adam 1e-3), PolynomialDecay over the first half"
    )
    print(
        f"{'model':<5} {'variant':<14} {'sparsity':>8} {'accuracy':>9} {'drop pts':>9} "
        f"{'tflite B':>9} {'gzip B':>8}  note"
    )
    for kind in ("mlp", "cnn"):
        rows, base_acc, base_gz, overhead = run(kind, data)
        for model, variant, sp, acc, raw, gz, note in rows:
            print(
                f"{model:<5} {variant:<14} {sp:>8.1%} {acc:>9.4f} {100 * (base_acc - acc):>9.2f} "
                f"{raw:>9,} {gz:>8,}  {note}"
            )
        print(
            f"{kind}: training time per epoch, pruning (wrappers + callback) / dense = {overhead:.2f}x"
        )


if __name__ == "__main__":
    main(ARGS)
