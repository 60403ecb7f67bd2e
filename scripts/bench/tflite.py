"""Benchmark: TFLite conversion modes, both quantization engines, QAT, pruning + int8.

On scikit-learn's digits (fixed seeds), for a small CNN and an MLP, every model is
checked against the Keras model it came from (tfx_ext.lite.compare): size raw and gzip,
max abs output difference, accuracy drop, interpreter latency per example.

Targets (issue 6): dynamic range and int8 files >= 3.5x smaller than float32; int8 PTQ
accuracy drop <= 1.0 point, QAT int8 <= 0.5; float16 max abs diff <= 1e-2; float32 <= 1e-5;
int8 / float32 interpreter latency on the CNN <= 0.7; pruned 80% + int8 gzip >= 10x
smaller than dense float32 gzip.

Run: .venv/bin/python scripts/bench/tflite.py
"""

import argparse
import math
import os

if __name__ == "__main__":
    # `--help` answers here, before TensorFlow loads and the benchmark starts.
    argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    ).parse_args()

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from tfx_ext import sparsity  # noqa: E402
from tfx_ext.lite import compare, convert, quantize_aware  # noqa: E402


def load_digits():
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = (data.images / 16.0).astype("float32")[..., None]
    return train_test_split(
        x, data.target.astype("int32"), test_size=0.25, random_state=42, stratify=data.target
    )


def build(kind):
    layers = keras.layers
    if kind == "mlp":
        body = [
            layers.Flatten(),
            layers.Dense(256, activation="relu"),
            layers.Dense(128, activation="relu"),
        ]
    else:
        body = [
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.Conv2D(64, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(128, activation="relu"),
        ]
    return keras.Sequential(
        [keras.Input((8, 8, 1))] + body + [layers.Dense(10, activation="softmax")]
    )


def fit(model, x, y, epochs, rate, callbacks=()):
    model.compile(
        optimizer=keras.optimizers.Adam(rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x, y, epochs=epochs, batch_size=32, verbose=0, callbacks=list(callbacks))
    return model


def row(name, report, base):
    return (
        f"{name:<28} {report.raw_bytes:>9,} {report.gzip_bytes:>9,} {base.raw_bytes / report.raw_bytes:>6.2f}x "
        f"{base.gzip_bytes / report.gzip_bytes:>6.2f}x {report.max_abs_diff:>9.2g} "
        f"{100 * report.accuracy_drop:>6.2f} {report.latency_mean_ms:>8.4f} "
        f"{report.latency_mean_ms / base.latency_mean_ms:>6.2f}"
    )


def main():
    x_train, x_test, y_train, y_test = load_digits()
    calibration = x_train[:200]
    print(
        f"{'model / mode':<28} {'raw B':>9} {'gzip B':>9} {'raw/':>7} {'gzip/':>7} {'max diff':>9} "
        f"{'drop':>6} {'ms/ex':>8} {'lat/':>6}"
    )
    print(f"{'':<28} {'':>9} {'':>9} {'f32':>7} {'f32':>7} {'':>9} {'pts':>6} {'':>8} {'f32':>6}")
    for kind in ("cnn", "mlp"):
        keras.utils.set_random_seed(0)
        model = fit(build(kind), x_train, y_train, 15, 1e-3)
        base = compare(model, convert(model, "float32"), x_test, y_test)
        print(row(f"{kind} float32", base, base))
        for engine in ("converter", "litert_quantizer"):
            for mode in ("float16", "dynamic_range", "int8", "int16x8"):
                if engine == "litert_quantizer" and mode == "float16":
                    continue
                result = convert(model, mode, representative_data=calibration, engine=engine)
                report = compare(model, result, x_test, y_test)
                fallback = f"  float ops: {len(result.float_ops)}" if result.float_ops else ""
                print(row(f"{kind} {mode} [{engine[:9]}]", report, base) + fallback)

        keras.utils.set_random_seed(0)
        qat = fit(quantize_aware(model), x_train, y_train, 3, 1e-4)
        result = convert(qat, "int8", representative_data=calibration)
        report = compare(qat, result, x_test, y_test)
        print(
            row(f"{kind} QAT int8 (vs QAT keras)", report, base)
            + f"  QAT keras acc {report.keras_accuracy:.4f}, float ops: {len(result.float_ops)}"
        )

        steps = 20 * math.ceil(len(x_train) / 32)
        keras.utils.set_random_seed(1)
        pruned = sparsity.prune_low_magnitude(
            model, sparsity.PolynomialDecay(0.0, 0.8, 0, steps // 2, frequency=10)
        )
        fit(pruned, x_train, y_train, 20, 1e-3, [sparsity.UpdatePruningStep()])
        stripped = sparsity.strip_pruning(pruned)
        result = convert(stripped, "int8", representative_data=calibration)
        report = compare(stripped, result, x_test, y_test)
        print(
            row(f"{kind} pruned 80% + int8", report, base)
            + f"  vs dense keras: drop {100 * (base.keras_accuracy - report.tflite_accuracy):.2f} pts"
        )
    print("latency: mean per example, LiteRT interpreter (XNNPACK), 1 thread")


if __name__ == "__main__":
    main()
