"""The main job, end to end, on the digits data that scikit-learn ships.

Run it with `scripts/demo` (or `tfx-ext demo`). In order:

1. a quick keras-tuner random search over MLPs (SELU/LeCun vs ReLU/He vs leaky ReLU),
2. the best SELU configuration as a self-normalizing MLP (conditions checked), its
   learning rate found with `LearningRateFinder`, trained with AlphaDropout and 1cycle,
3. MC Dropout: accuracy and ECE of one pass against 100 MC samples, the least sure digits,
4. pruning to 80% sparsity (native Keras 3 pruning), sparsity report,
5. TFLite of the dense and pruned models (float32, dynamic range, full int8 with and
   without Normalization folding), each with its parity report,
6. TF Serving: the dense model as version 1 (stable), the pruned one as 2 (canary), served
   by the local protocol server and queried over REST and gRPC,
7. the tfx_ext layers and metrics in a small CNN (WeightNormalization, SqueezeExcitation,
   StochasticDepth, Maxout; kappa, MCC, Hamming loss), saved and reloaded,

then a summary table. Writes `demo_output/report.md` and PNG plots (LR finder curve,
reliability diagram, sparsity per layer, size bars) and prints the report.
"""

import argparse
import math
import os
import shutil
import socket
import time
import warnings

STAGES = 8


def _progress(stage, text):
    print(f"[{stage}/{STAGES}] {text}", flush=True)


def load_digits_split(seed=42):
    """Digits as 8x8x1 images in [0, 1] and standardized flat vectors, train/test split."""
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        raise SystemExit("the demo needs scikit-learn: pip install 'tfx_ext[demo]'") from error
    data = load_digits()
    x = data.images.astype("float32")[..., None]
    y = data.target.astype("int32")
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=seed, stratify=y)
    mean, std = x_train.mean(), x_train.std()
    return (x_train - mean) / std, y_train, (x_test - mean) / std, y_test


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def _new_axes(size):
    from tfx_ext.plotting import new_axes

    return new_axes(size, "the demo plots")


class Demo:
    def __init__(self, output_dir, epochs, trials, seed=0):
        import keras

        self.output_dir = output_dir
        self.epochs = epochs
        self.trials = trials
        self.seed = seed
        keras.utils.set_random_seed(seed)
        os.makedirs(output_dir, exist_ok=True)
        x_train, self.y_train, x_test, self.y_test = load_digits_split()
        self.images_train, self.images_test = x_train, x_test
        self.x_train, self.x_test = x_train.reshape(len(x_train), -1), x_test.reshape(len(x_test), -1)
        self.lines = []
        self.summary = {}
        self.plots = []
        self.notes = []

    def path(self, name):
        return os.path.join(self.output_dir, name)

    def plot(self, draw, name):
        try:
            draw(name)
            self.plots.append(name)
        except ImportError:
            pass

    # 1 ---------------------------------------------------------------------------------
    def tune(self):
        from tfx_ext.tuning import MLPHyperModel, search

        _progress(1, f"keras-tuner random search, {self.trials} trials")
        directory = self.path("tuning")
        shutil.rmtree(directory, ignore_errors=True)
        n = len(self.x_train) * 4 // 5
        data = (self.x_train[:n], self.y_train[:n], self.x_train[n:], self.y_train[n:])
        result = search(MLPHyperModel((64,), 10, max_layers=3), data, tuner="random", max_trials=self.trials,
                        directory=directory, epochs=4, seed=self.seed, overwrite=True)
        self.search = result
        selu = [row for row in result.table if row.get("activation") == "selu"]
        self.selu_config = selu[0] if selu else {"layers": 2, "units_0": 128, "units_1": 128, "dropout": 0.1}
        self.lines += ["## 1. Hyperparameter search (keras-tuner, random)", "",
                       f"{len(result.table)} trials, validation accuracy, best first:", "", "```",
                       result.format_table(limit=self.trials), "```"]

    # 2 ---------------------------------------------------------------------------------
    def train(self):
        import keras

        from tfx_ext.callbacks import LearningRateFinder
        from tfx_ext.schedules import OneCycle
        from tfx_ext.selu import activation_statistics, check_self_normalizing, self_normalizing_mlp

        config = self.selu_config
        units = [config[f"units_{i}"] for i in range(config["layers"])]
        self.dropout = max(0.1, float(config.get("dropout", 0.1)))
        _progress(2, f"self-normalizing MLP {units}, AlphaDropout {self.dropout:.1f}: LR finder, 1cycle")

        def build():
            return self_normalizing_mlp((64,), units, 10, "softmax", dropout_rate=self.dropout,
                                        adapt_data=self.x_train, name="selu_mlp")

        model = build()
        report = check_self_normalizing(model, sample=self.x_train)
        stats = activation_statistics(model, self.x_test)[:-1]
        model.compile(optimizer=keras.optimizers.SGD(1e-4, momentum=0.9), loss="sparse_categorical_crossentropy")
        finder = LearningRateFinder(min_rate=1e-4, max_rate=3.0, num_steps=120)
        model.fit(self.x_train, self.y_train, epochs=3, batch_size=32, callbacks=[finder], verbose=0)
        max_rate = finder.suggested_rate
        self.plot(lambda name: finder.plot(self.path(name)), "lr_finder.png")

        steps = self.epochs * math.ceil(len(self.x_train) / 32)
        model = build()
        model.compile(optimizer=keras.optimizers.SGD(OneCycle(steps, max_rate=max_rate), momentum=0.9),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(self.x_train, self.y_train, epochs=self.epochs, batch_size=32, verbose=0)
        self.model = model
        accuracy = float(model.evaluate(self.x_test, self.y_test, verbose=0)[1])
        self.summary["dense SELU MLP"] = {"accuracy": accuracy}
        self.lines += ["", "## 2. Self-normalizing MLP, LR finder and 1cycle", "",
                       f"Best SELU trial: hidden layers {units}, dropout {config.get('dropout')}. "
                       f"Condition check: {'passed' if report.ok else report}. Activation std across "
                       f"hidden layers at initialization: {min(s.std for s in stats):.2f}–{max(s.std for s in stats):.2f}.",
                       f"LR finder: lowest smoothed loss at {10 * max_rate:.3g}; 1cycle peak {max_rate:.3g} "
                       f"over {steps} steps ({self.epochs} epochs). Test accuracy {accuracy:.4f}."]

    # 3 ---------------------------------------------------------------------------------
    def uncertainty(self, samples=100):
        import numpy as np

        from tfx_ext.uncertainty import calibration_bins, enable_mc_dropout, mc_predict, reliability_diagram

        _progress(3, f"MC Dropout, {samples} samples")
        single = self.model.predict(self.x_test, verbose=0)
        prediction = mc_predict(enable_mc_dropout(self.model), self.x_test, samples=samples, seed=self.seed)
        before, after = calibration_bins(self.y_test, single), calibration_bins(self.y_test, prediction.mean)
        mc_accuracy = float((prediction.predicted_class == self.y_test).mean())
        self.summary["dense SELU MLP"]["ECE"] = before.ece
        self.summary["MC Dropout x100"] = {"accuracy": mc_accuracy, "ECE": after.ece}
        self.lines += ["", "## 3. MC Dropout uncertainty", ""]
        self.lines += _table(["", "accuracy", "ECE (10 bins)"], [
            ["one pass", f"{(single.argmax(1) == self.y_test).mean():.4f}", f"{before.ece:.4f}"],
            [f"MC Dropout, {samples} samples", f"{mc_accuracy:.4f}", f"{after.ece:.4f}"],
        ])
        self.lines += ["", "Least sure test digits (mutual information: the model's own uncertainty):", ""]
        rows = []
        for index in np.argsort(prediction.mutual_information)[::-1][:5]:
            rows.append([index, self.y_test[index], prediction.predicted_class[index],
                         f"{prediction.mean[index].max():.3f}", f"{prediction.mutual_information[index]:.3f}"])
        self.lines += _table(["test index", "true", "predicted", "mean confidence", "mutual information"], rows)

        def draw(name):
            ax = reliability_diagram(self.y_test, single, label="one pass")
            reliability_diagram(self.y_test, prediction.mean, ax=ax, label=f"MC x{samples}", path=self.path(name))

        self.plot(draw, "reliability.png")

    # 4 ---------------------------------------------------------------------------------
    def prune(self, target=0.8, epochs=8):
        import keras

        from tfx_ext import sparsity

        _progress(4, f"pruning to {target:.0%}")
        steps = epochs * math.ceil(len(self.x_train) / 32)
        pruned = sparsity.prune_low_magnitude(
            self.model, sparsity.PolynomialDecay(0.0, target, begin_step=0, end_step=steps // 2, frequency=10))
        pruned.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                       metrics=["accuracy"])
        pruned.fit(self.x_train, self.y_train, epochs=epochs, batch_size=32, verbose=0,
                   callbacks=[sparsity.UpdatePruningStep()])
        self.pruned = sparsity.strip_pruning(pruned)
        self.pruned.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        report = sparsity.sparsity_report(self.pruned)
        dense_report = sparsity.sparsity_report(self.model)
        accuracy = float(self.pruned.evaluate(self.x_test, self.y_test, verbose=0)[1])
        self.summary["pruned 80%"] = {"accuracy": accuracy, "sparsity": report.sparsity}
        self.summary["dense SELU MLP"]["sparsity"] = dense_report.sparsity
        self.summary["dense SELU MLP"]["weights gzip"] = dense_report.gzip_bytes
        self.summary["pruned 80%"]["weights gzip"] = report.gzip_bytes
        self.lines += ["", f"## 4. Pruning to {target:.0%} (Keras 3, native)", "", "```", str(report), "```",
                       f"Test accuracy {accuracy:.4f} (dense {self.summary['dense SELU MLP']['accuracy']:.4f})."]

        def draw(name):
            ax = _new_axes((6, 3))
            ax.bar([l.name for l in report.layers], [l.sparsity for l in report.layers])
            ax.set_ylabel("sparsity")
            ax.set_ylim(0, 1)
            ax.set_title("sparsity per layer")
            ax.figure.savefig(self.path(name), bbox_inches="tight")

        self.plot(draw, "sparsity.png")

    # 5 ---------------------------------------------------------------------------------
    def tflite(self):
        from tfx_ext.lite import compare, convert

        _progress(5, "TFLite: float32 (dense), dynamic range and full int8 (dense, pruned), parity checked")
        reports = {}
        variants = (("dense float32", self.model, "float32", "auto"),
                    ("pruned dynamic_range", self.pruned, "dynamic_range", "auto"),
                    ("dense int8", self.model, "int8", "auto"),
                    ("pruned int8", self.pruned, "int8", "auto"),
                    ("pruned int8 folded", self.pruned, "int8", True),
                    ("pruned int8 not folded", self.pruned, "int8", False))
        for name, model, mode, fold in variants:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = convert(model, mode=mode, representative_data=self.x_train, fold_normalization=fold,
                                 output_path=self.path(f"selu_mlp_{name.replace(' ', '_')}.tflite"))
            for warning in caught:
                if "per-tensor scale" in str(warning.message):
                    self.notes.append(f"{name}: {warning.message}")
            if mode == "int8" and fold == "auto":
                chosen = "folded" if result.folded_normalization else "not folded"
                self.notes.append(f"{name}: `fold_normalization='auto'` kept the {chosen} conversion "
                                  "(closer to the Keras model on the calibration data).")
            reports[name] = compare(model, result, self.x_test, self.y_test)
        self.tflite_reports = reports
        names = [n for n, _ in reports["dense float32"].rows()]
        self.lines += ["", "## 5. TFLite (LiteRT interpreter)", ""]
        self.lines += _table([""] + list(reports),
                             [[n] + [r.rows()[i][1] for r in reports.values()] for i, n in enumerate(names)])
        if self.notes:
            self.lines += ["", "How the integer conversions were made (the parity rows above check each one):", ""]
            self.lines += [f"- {note}" for note in self.notes]
        for name, report in reports.items():
            self.summary[f"TFLite {name}"] = {
                "accuracy": report.tflite_accuracy, "file raw": report.raw_bytes, "file gzip": report.gzip_bytes,
                "latency ms": report.latency_mean_ms,
            }

        def draw(name):
            import numpy as np

            labels = list(reports)
            ax = _new_axes((7, 0.6 * len(labels) + 1))
            rows = np.arange(len(labels))
            ax.barh(rows - 0.2, [reports[l].raw_bytes / 1024 for l in labels], height=0.4, label="raw")
            ax.barh(rows + 0.2, [reports[l].gzip_bytes / 1024 for l in labels], height=0.4, label="gzip")
            ax.set_yticks(rows, labels)
            ax.invert_yaxis()
            ax.set_xlabel("KiB")
            ax.set_title("TFLite file size")
            ax.legend(loc="lower right")
            ax.figure.savefig(self.path(name), bbox_inches="tight")

        self.plot(draw, "sizes.png")

    # 6 ---------------------------------------------------------------------------------
    def serve(self):
        import numpy as np

        from tfx_ext.export import ModelEntry, export_for_serving, write_model_config
        from tfx_ext.serving import GrpcClient, LocalModelServer, RestClient

        _progress(6, "TF Serving: export stable (dense) and canary (pruned), serve, query")
        base = self.path("models")
        shutil.rmtree(base, ignore_errors=True)
        for model in (self.model, self.pruned):
            export_for_serving(model, base, "digits", warmup_data=self.x_test[:20], mc_samples=20,
                               serving_image="tensorflow/serving:2.21.0")
        config = write_model_config(os.path.join(base, "models.config"), [
            ModelEntry("digits", "digits", versions=[1, 2], labels={"stable": 1, "canary": 2})])
        rest_port, grpc_port = _free_port(), _free_port()
        rows = []
        with LocalModelServer(model_config_file=config, rest_port=rest_port, grpc_port=grpc_port):
            for label, model in (("stable", self.model), ("canary", self.pruned)):
                expected = model.predict(self.x_test, verbose=0)
                rest = RestClient("127.0.0.1", rest_port, "digits", label=label)
                version = rest.status()[0][0]
                with GrpcClient("127.0.0.1", grpc_port, "digits", label=label) as client:
                    answers = {"REST": rest.predict(self.x_test), "gRPC": client.predict(self.x_test)}
                for protocol, outputs in answers.items():
                    gap = float(np.abs(outputs["probabilities"] - expected).max())
                    accuracy = float((outputs["class_ids"] == self.y_test).mean())
                    rows.append([label, protocol, version, f"{accuracy:.4f}", f"{gap:.2g}"])
        self.lines += ["", "## 6. TF Serving", "",
                       f"Versions 1 (dense, stable) and 2 (pruned, canary) exported to `{base}/digits/` "
                       "(atomic renames, warmup requests replayed, an `mc_uncertainty` signature), "
                       "served by the local protocol server — a test double for the `tensorflow/serving` "
                       "image that `serving/` runs.", ""]
        self.lines += _table(["label", "protocol", "version", "test accuracy", "max diff vs Keras"], rows)

    # 7 ---------------------------------------------------------------------------------
    def components(self):
        import keras
        import numpy as np

        from tfx_ext.layers import Maxout, SqueezeExcitation, StochasticDepth, WeightNormalization
        from tfx_ext.metrics import CohenKappa, HammingLoss, MatthewsCorrelationCoefficient

        _progress(7, "tfx_ext layers and metrics in a small CNN")
        inputs = keras.Input((8, 8, 1), name="image")
        x = WeightNormalization(keras.layers.Conv2D(32, 3, padding="same", activation="relu"))(inputs)
        residual = keras.layers.Conv2D(32, 3, padding="same", activation="relu")(x)
        residual = SqueezeExcitation(ratio=8)(residual)
        x = StochasticDepth(survival_probability=0.8)([x, residual])
        x = keras.layers.Flatten()(x)
        x = Maxout(64)(WeightNormalization(keras.layers.Dense(128))(x))
        outputs = keras.layers.Dense(10, activation="softmax", name="digit")(x)
        model = keras.Model(inputs, outputs, name="digits_cnn")
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                      metrics=["accuracy", CohenKappa(10, weightage="quadratic"),
                               MatthewsCorrelationCoefficient(10), HammingLoss("multiclass")])
        model.fit(self.images_train, self.y_train, epochs=5, batch_size=32, verbose=0)
        results = model.evaluate(self.images_test, self.y_test, verbose=0, return_dict=True)
        path = self.path("digits_cnn.keras")
        model.save(path)
        reloaded = keras.models.load_model(path)
        gap = float(np.max(np.abs(reloaded.predict(self.images_test, verbose=0) - model.predict(self.images_test, verbose=0))))
        self.lines += ["", "## 7. tfx_ext layers and metrics (CNN)", "",
                       "WeightNormalization, SqueezeExcitation, StochasticDepth and Maxout; "
                       f"`{path}` reloads with no custom_objects (max output difference {gap:.2g}).", ""]
        self.lines += _table(["metric", "value"], [[k, f"{v:.4f}"] for k, v in results.items()])

    # 8 ---------------------------------------------------------------------------------
    def custom_loop(self, epochs=6, stop_at_step=100):
        import keras

        from tfx_ext.training import Trainer

        _progress(8, "custom training loop: Wide & Deep, SGD (wide) + Nadam (deep), stop and resume")

        def build():
            keras.utils.set_random_seed(self.seed)
            x = keras.Input((64,), name="pixels")
            wide = keras.layers.Dense(10, name="wide")(x)
            h = keras.layers.Dense(64, activation="relu", name="deep_1")(x)
            h = keras.layers.Dropout(0.2, name="deep_dropout")(h)
            h = keras.layers.Dense(64, activation="relu", name="deep_2")(h)
            deep = keras.layers.Dense(10, name="deep_out")(h)
            outputs = keras.layers.Activation("softmax", name="digit")(keras.layers.Add()([wide, deep]))
            return keras.Model(x, outputs, name="wide_and_deep")

        directory = self.path("wide_and_deep_checkpoints")
        shutil.rmtree(directory, ignore_errors=True)

        def trainer(model):
            return Trainer(model, "sparse_categorical_crossentropy",
                           {"wide/.*": keras.optimizers.SGD(0.05, momentum=0.9),
                            "deep_.*/.*": keras.optimizers.Nadam(1e-3)},
                           metrics=["accuracy"], clip_global_norm=5.0, checkpoint_dir=directory,
                           checkpoint_every=25, seed=self.seed)

        class StopMidEpoch(keras.callbacks.Callback):
            """Stops the first run mid-epoch (the SIGKILL case is in tests/training)."""

            def __init__(self):
                super().__init__()
                self.steps = 0

            def on_train_batch_end(self, batch, logs=None):
                self.steps += 1
                if self.steps == stop_at_step:
                    self.model.stop_training = True

        data = (self.x_train, self.y_train)
        first = trainer(build())
        first.fit(data, epochs=epochs, verbose=0, callbacks=[StopMidEpoch()])
        resumed_from = os.path.basename(first.latest_checkpoint)
        model = build()
        resumed = trainer(model)
        resumed.fit(data, epochs=epochs, verbose=0)
        accuracy = resumed.evaluate((self.x_test, self.y_test))["accuracy"]

        reference_model = build()
        reference = Trainer(reference_model, "sparse_categorical_crossentropy",
                            {"wide/.*": keras.optimizers.SGD(0.05, momentum=0.9),
                             "deep_.*/.*": keras.optimizers.Nadam(1e-3)},
                            metrics=["accuracy"], clip_global_norm=5.0, seed=self.seed)
        reference.fit(data, epochs=epochs, verbose=0)
        gap = max(float(abs(a - b).max()) for a, b in zip(model.get_weights(), reference_model.get_weights()))
        updates = ", ".join(f"{o.__class__.__name__} {int(o.iterations)}" for o in resumed.optimizer.optimizers)
        self.summary["wide & deep (Trainer)"] = {"accuracy": accuracy}
        self.lines += ["", "## 8. Custom training loop: Wide & Deep, two optimizers, stop and resume", "",
                       f"`tfx_ext.training.Trainer`, {epochs} epochs: wide part SGD(momentum 0.9), deep part "
                       f"Nadam, global-norm clipping 5, checkpoints every 25 steps. A callback stops the first run at step "
                       f"{stop_at_step}; a new Trainer resumes from `{resumed_from}` and finishes "
                       f"(updates: {updates}). Test accuracy {accuracy:.4f}; max weight difference against an "
                       f"uninterrupted run {gap:.2g}."]

    def report(self, started):
        import keras

        import tfx_ext

        columns = ["accuracy", "ECE", "sparsity", "weights gzip", "file raw", "file gzip", "latency ms"]

        def cell(value):
            if value is None:
                return ""
            return f"{value:,}" if isinstance(value, int) else f"{value:.4f}"

        summary = _table(["model"] + columns,
                         [[name] + [cell(values.get(c)) for c in columns] for name, values in self.summary.items()])
        head = [
            "# tfx_ext demo report",
            "",
            f"tfx_ext {tfx_ext.__version__}, Keras {keras.__version__}, backend {keras.backend.backend()}. "
            f"Data: scikit-learn digits, {len(self.x_train)} training and {len(self.x_test)} test images (8x8).",
            "",
            "## Summary",
            "",
        ] + summary + ["", "Plots: " + ", ".join(f"`{p}`" for p in self.plots) + ".", ""]
        text = "\n".join(head + self.lines + ["", f"Total time {time.monotonic() - started:.0f} s.", ""])
        with open(self.path("report.md"), "w") as f:
            f.write(text)
        return text


def run(output_dir="demo_output", epochs=12, trials=6, seed=0):
    """Runs every stage; returns (report text, summary dict)."""
    started = time.monotonic()
    demo = Demo(output_dir, epochs, trials, seed)
    demo.tune()
    demo.train()
    demo.uncertainty()
    demo.prune()
    demo.tflite()
    demo.serve()
    demo.components()
    demo.custom_loop()
    return demo.report(started), demo.summary


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output-dir", default="demo_output")
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--trials", type=int, default=6)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    report, _ = run(output_dir=args.output_dir, epochs=args.epochs, trials=args.trials)
    print(report)


if __name__ == "__main__":
    main()
