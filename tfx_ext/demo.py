"""The main job, end to end, on the digits data that scikit-learn ships.

Run it with `scripts/demo` (or `python -m tfx_ext.demo`). Stages so far:

1. find a learning rate with `LearningRateFinder`,
2. train a small CNN built from tfx_ext layers with the 1cycle schedule,
3. evaluate it with agreement metrics (kappa, MCC, Hamming loss),
4. save it as `.keras`, reload it with no `custom_objects`, check parity,
5. convert the CNN to TFLite, float16 and int8, and print their parity reports,
6. export two versions for TF Serving (stable and canary), serve them with the
   local protocol server, and query both over REST and gRPC,
7. train a self-normalizing MLP (SELU, LeCun init, AlphaDropout, checked by
   `check_self_normalizing`), turn on MC dropout, and report accuracy, ECE
   before and after MC averaging, and the most uncertain test digits.

Writes `demo_output/report.md` (and `lr_finder.png` when matplotlib is
installed) and prints the report.
"""

import argparse
import math
import os
import time


def load_digits_split(seed=42):
    """Digits as 8x8x1 images, standardized with training statistics."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise SystemExit("the demo needs scikit-learn: pip install 'tfx_ext[demo]'") from error
    data = load_digits()
    x = data.images.astype("float32")[..., None]
    y = data.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def build_model():
    import keras

    from tfx_ext.layers import Maxout, SqueezeExcitation, StochasticDepth, WeightNormalization

    inputs = keras.Input((8, 8, 1), name="image")
    x = WeightNormalization(keras.layers.Conv2D(32, 3, padding="same", activation="relu"))(inputs)
    residual = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
    residual = SqueezeExcitation(ratio=8)(residual)
    x = StochasticDepth(survival_probability=0.8)([x, residual])
    x = keras.layers.Flatten()(x)
    x = WeightNormalization(keras.layers.Dense(128))(x)
    x = Maxout(64)(x)
    outputs = keras.layers.Dense(10, activation="softmax", name="digit")(x)
    return keras.Model(inputs, outputs, name="digits_cnn")


def compile_model(model, optimizer):
    from tfx_ext.metrics import CohenKappa, HammingLoss, MatthewsCorrelationCoefficient

    model.compile(
        optimizer=optimizer,
        loss="sparse_categorical_crossentropy",
        metrics=[
            "accuracy",
            CohenKappa(num_classes=10, weightage="quadratic"),
            MatthewsCorrelationCoefficient(num_classes=10),
            HammingLoss(mode="multiclass"),
        ],
    )


def run(output_dir="demo_output", epochs=12, batch_size=32, seed=0):
    import keras
    import numpy as np

    import tfx_ext
    from tfx_ext.callbacks import LearningRateFinder, TimeStopping
    from tfx_ext.schedules import OneCycle

    started = time.monotonic()
    os.makedirs(output_dir, exist_ok=True)
    keras.utils.set_random_seed(seed)
    x_train, y_train, x_test, y_test = load_digits_split()
    lines = [
        "# tfx_ext demo report",
        "",
        f"tfx_ext {tfx_ext.__version__}, Keras {keras.__version__}, backend {keras.backend.backend()}",
        f"Data: scikit-learn digits, {len(x_train)} training and {len(x_test)} test images (8x8).",
        "",
    ]

    # 1. Learning-rate range test on a fresh model (weights restored afterwards).
    model = build_model()
    compile_model(model, keras.optimizers.SGD(1e-5, momentum=0.9))
    finder = LearningRateFinder(min_rate=1e-4, max_rate=3.0, num_steps=150)
    sweep_epochs = math.ceil(150 / math.ceil(len(x_train) / batch_size))
    model.fit(x_train, y_train, epochs=sweep_epochs, batch_size=batch_size, callbacks=[finder], verbose=0)
    max_rate = finder.suggested_rate
    lines += [
        "## 1. Learning-rate finder",
        f"Swept {len(finder.rates)} batches from {finder.rates[0]:.2g} to {finder.rates[-1]:.2g}; "
        f"lowest smoothed loss at {max_rate * 10:.3g}, suggested rate {max_rate:.3g}.",
    ]
    try:
        finder.plot(os.path.join(output_dir, "lr_finder.png"))
        lines.append("Plot: `lr_finder.png`.")
    except ImportError:
        pass

    # 2. Train with the 1cycle policy, bounded by a time budget.
    steps = epochs * math.ceil(len(x_train) / batch_size)
    model = build_model()
    compile_model(model, keras.optimizers.SGD(OneCycle(steps, max_rate=max_rate), momentum=0.9))
    history = model.fit(
        x_train,
        y_train,
        epochs=epochs,
        batch_size=batch_size,
        validation_split=0.1,
        callbacks=[TimeStopping(seconds=300)],
        verbose=0,
    )
    lines += [
        "",
        "## 2. Training (1cycle)",
        f"{len(history.history['loss'])} epochs, {model.count_params():,} parameters, "
        f"OneCycle over {steps} steps peaking at {max_rate:.3g}; "
        f"final training loss {history.history['loss'][-1]:.4f}, "
        f"validation accuracy {history.history['val_accuracy'][-1]:.4f}.",
    ]

    # 3. Evaluation.
    results = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
    lines += ["", "## 3. Test set", "", "| metric | value |", "| --- | --- |"]
    lines += [f"| {name} | {value:.4f} |" for name, value in results.items()]

    # 4. Save and reload with no custom_objects.
    path = os.path.join(output_dir, "digits_cnn.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    gap = float(np.max(np.abs(reloaded.predict(x_test, verbose=0) - model.predict(x_test, verbose=0))))
    lines += [
        "",
        "## 4. Saved model",
        f"`{path}` ({os.path.getsize(path) / 1024:.0f} KiB) reloads with no custom_objects; "
        f"max output difference {gap:.2g}.",
    ]

    lines += tflite_stage(output_dir, model, x_train, x_test, y_test)
    lines += serving_stage(output_dir, model, x_train, y_train, x_test, y_test)
    lines += self_normalizing_stage(output_dir, x_train, y_train, x_test, y_test, epochs)
    lines += ["", f"Total time {time.monotonic() - started:.0f} s."]
    report = "\n".join(lines) + "\n"
    with open(os.path.join(output_dir, "report.md"), "w") as f:
        f.write(report)
    return report, results


def tflite_stage(output_dir, model, x_train, x_test, y_test):
    """Stage 5: float16 and int8 TFLite models, each checked against the Keras model."""
    from tfx_ext.lite import compare, convert

    lines = ["", "## 5. TFLite", ""]
    reports = {}
    for mode in ("float16", "int8"):
        result = convert(
            model,
            mode=mode,
            representative_data=x_train if mode == "int8" else None,
            output_path=os.path.join(output_dir, f"digits_cnn_{mode}.tflite"),
        )
        reports[mode] = compare(model, result, x_test, y_test)
        if result.float_ops:
            lines.append(f"{mode}: ops left in float: {', '.join(result.float_ops)}")
    names = [name for name, _ in reports["float16"].rows()]
    lines += ["| | " + " | ".join(reports) + " |", "| --- | " + " | ".join("---" for _ in reports) + " |"]
    for i, name in enumerate(names):
        lines.append(f"| {name} | " + " | ".join(r.rows()[i][1] for r in reports.values()) + " |")
    return lines


def _free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serving_stage(output_dir, model, x_train, y_train, x_test, y_test):
    """Stage 6: versions 1 (stable) and 2 (canary) served locally, queried over REST and gRPC."""
    import shutil

    import keras
    import numpy as np

    from tfx_ext.export import ModelEntry, export_for_serving, write_model_config
    from tfx_ext.serving import GrpcClient, LocalModelServer, RestClient

    base = os.path.join(output_dir, "models")
    shutil.rmtree(base, ignore_errors=True)
    export_for_serving(model, base, "digits", warmup_data=x_test[:20], serving_image="tensorflow/serving:2.21.0")
    canary = keras.models.clone_model(model)
    canary.set_weights(model.get_weights())
    canary.compile(optimizer=keras.optimizers.SGD(1e-3, momentum=0.9), loss="sparse_categorical_crossentropy")
    canary.fit(x_train, y_train, epochs=1, batch_size=32, verbose=0)
    export_for_serving(canary, base, "digits", warmup_data=x_test[:20])
    config = write_model_config(
        os.path.join(base, "models.config"),
        [ModelEntry("digits", "digits", versions=[1, 2], labels={"stable": 1, "canary": 2})],
    )
    rest_port, grpc_port = _free_port(), _free_port()
    lines = [
        "",
        "## 6. TF Serving",
        f"Exported versions 1 and 2 to `{base}/digits/` (atomic renames, warmup requests replayed); "
        f"`{os.path.basename(config)}` labels 1 stable and 2 canary. Served by the local protocol "
        "server (a test double for the `tensorflow/serving` image in `serving/`).",
        "",
        "| label | protocol | version | test accuracy | max diff vs Keras |",
        "| --- | --- | --- | --- | --- |",
    ]
    with LocalModelServer(model_config_file=config, rest_port=rest_port, grpc_port=grpc_port):
        for label, keras_model in (("stable", model), ("canary", canary)):
            expected = keras_model.predict(x_test, verbose=0)
            rest = RestClient("127.0.0.1", rest_port, "digits", label=label)
            version = rest.status()[0][0]
            answers = {"REST": rest.predict(x_test)}
            with GrpcClient("127.0.0.1", grpc_port, "digits", label=label) as grpc_client:
                answers["gRPC"] = grpc_client.predict(x_test)
            for protocol, outputs in answers.items():
                probabilities = outputs["probabilities"]
                accuracy = float((outputs["class_ids"] == y_test).mean())
                gap = float(np.abs(probabilities - expected).max())
                lines.append(f"| {label} | {protocol} | {version} | {accuracy:.4f} | {gap:.2g} |")
    return lines


def self_normalizing_stage(output_dir, x_train, y_train, x_test, y_test, epochs, samples=100):
    """Stage 7: SELU MLP, MC AlphaDropout, calibration and uncertainty."""
    import keras
    import numpy as np

    from tfx_ext.schedules import OneCycle
    from tfx_ext.selu import activation_statistics, check_self_normalizing, self_normalizing_mlp
    from tfx_ext.uncertainty import calibration_bins, enable_mc_dropout, mc_predict, reliability_diagram

    flat_train, flat_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
    model = self_normalizing_mlp(
        (64,), [128] * 8, 10, "softmax", dropout_rate=0.1, adapt_data=flat_train, name="selu_mlp"
    )
    report = check_self_normalizing(model, sample=flat_train)
    stats = activation_statistics(model, flat_test)[:-1]
    batch_size = 32
    steps = epochs * math.ceil(len(flat_train) / batch_size)
    model.compile(
        optimizer=keras.optimizers.SGD(OneCycle(steps, max_rate=0.02), momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(flat_train, y_train, epochs=epochs, batch_size=batch_size, verbose=0)

    single = model.predict(flat_test, verbose=0)
    mc_model = enable_mc_dropout(model)
    prediction = mc_predict(mc_model, flat_test, samples=samples, seed=0)
    before, after = calibration_bins(y_test, single), calibration_bins(y_test, prediction.mean)
    lines = [
        "",
        "## 7. Self-normalizing MLP with MC AlphaDropout",
        f"8 x 128 SELU layers, LeCun normal, AlphaDropout 0.1. Condition check: "
        f"{'passed' if report.ok else str(report)}. Activation std across hidden layers at "
        f"initialization: {min(s.std for s in stats):.2f} to {max(s.std for s in stats):.2f}.",
        "",
        "| | accuracy | ECE (10 bins) |",
        "| --- | --- | --- |",
        f"| one deterministic pass | {(single.argmax(1) == y_test).mean():.4f} | {before.ece:.4f} |",
        f"| MC Dropout, {samples} samples | {(prediction.predicted_class == y_test).mean():.4f} | {after.ece:.4f} |",
        "",
        "Most uncertain test digits (mutual information, the model's own uncertainty):",
        "",
        "| test index | true | predicted | mean confidence | mutual information |",
        "| --- | --- | --- | --- | --- |",
    ]
    for index in np.argsort(prediction.mutual_information)[::-1][:5]:
        lines.append(
            f"| {index} | {y_test[index]} | {prediction.predicted_class[index]} | "
            f"{prediction.mean[index].max():.3f} | {prediction.mutual_information[index]:.3f} |"
        )
    try:
        ax = reliability_diagram(y_test, single, label="one pass")
        reliability_diagram(y_test, prediction.mean, ax=ax, label=f"MC x{samples}",
                            path=os.path.join(output_dir, "reliability.png"))
        lines += ["", "Reliability diagram: `reliability.png`."]
    except ImportError:
        pass
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="demo_output")
    parser.add_argument("--epochs", type=int, default=12)
    args = parser.parse_args(argv)
    report, _ = run(output_dir=args.output_dir, epochs=args.epochs)
    print(report)


if __name__ == "__main__":
    main()
