"""The demo's stages: each computes its part of the main job and returns a small result.

Nothing here writes Markdown or draws (see `report` and `plots`); each stage prints
one progress line.
"""

import dataclasses
import math
import os
import shutil
import socket
import warnings

import numpy as np


def _progress(stage, text):
    from tfx_ext.demo import STAGES

    print(f"[{stage}/{STAGES}] {text}", flush=True)


def load_digits_split(seed=42):
    """Digits as 8x8x1 images, standardized with the training split's overall mean and std."""
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


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclasses.dataclass
class DemoContext:
    """Settings and data shared by the stages."""

    output_dir: str
    epochs: int
    trials: int
    seed: int
    images_train: np.ndarray
    y_train: np.ndarray
    images_test: np.ndarray
    y_test: np.ndarray
    quick: bool = False  # every stage runs, each with fewer epochs/samples (a smoke run, tests)

    @classmethod
    def create(cls, output_dir, epochs, trials, seed, quick=False):
        import keras

        keras.utils.set_random_seed(seed)
        os.makedirs(output_dir, exist_ok=True)
        images_train, y_train, images_test, y_test = load_digits_split()
        return cls(
            output_dir, epochs, trials, seed, images_train, y_train, images_test, y_test, quick
        )

    def size(self, full, quick):
        """A stage's epochs or sample count: `full`, or `quick` in a quick run."""
        return quick if self.quick else full

    @property
    def x_train(self):
        return self.images_train.reshape(len(self.images_train), -1)

    @property
    def x_test(self):
        return self.images_test.reshape(len(self.images_test), -1)

    def path(self, name):
        return os.path.join(self.output_dir, name)


# 1 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class SearchStage:
    result: object  # tfx_ext.tuning.SearchResult
    selu_config: dict


def tune(context):
    from tfx_ext.tuning import MLPHyperModel, search

    _progress(1, f"keras-tuner random search, {context.trials} trials")
    directory = context.path("tuning")
    shutil.rmtree(directory, ignore_errors=True)
    x_train, y_train = context.x_train, context.y_train
    n = len(x_train) * 4 // 5
    data = (x_train[:n], y_train[:n], x_train[n:], y_train[n:])
    result = search(
        MLPHyperModel((64,), 10, max_layers=3),
        data,
        tuner="random",
        max_trials=context.trials,
        directory=directory,
        epochs=context.size(4, 1),
        seed=context.seed,
        overwrite=True,
    )
    selu = [row for row in result.table if row.get("activation") == "selu"]
    config = selu[0] if selu else {"layers": 2, "units_0": 128, "units_1": 128, "dropout": 0.1}
    return SearchStage(result, config)


# 2 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class TrainStage:
    model: object
    config: dict
    units: list
    dropout: float
    check: object  # SelfNormalizingReport
    activation_stds: list
    finder: object  # LearningRateFinder
    max_rate: float
    steps: int
    accuracy: float


def train(context, config):
    import keras

    from tfx_ext.callbacks import LearningRateFinder
    from tfx_ext.schedules import OneCycle
    from tfx_ext.selu import activation_statistics, check_self_normalizing, self_normalizing_mlp

    units = [config[f"units_{i}"] for i in range(config["layers"])]
    dropout = max(0.1, float(config.get("dropout", 0.1)))
    _progress(2, f"self-normalizing MLP {units}, AlphaDropout {dropout:.1f}: LR finder, 1cycle")
    x_train, y_train = context.x_train, context.y_train

    def build():
        return self_normalizing_mlp(
            (64,), units, 10, "softmax", dropout_rate=dropout, adapt_data=x_train, name="selu_mlp"
        )

    model = build()
    check = check_self_normalizing(model, sample=x_train)
    stats = activation_statistics(model, context.x_test)[:-1]
    model.compile(
        optimizer=keras.optimizers.SGD(1e-4, momentum=0.9), loss="sparse_categorical_crossentropy"
    )
    finder = LearningRateFinder(min_rate=1e-4, max_rate=3.0, num_steps=120)
    model.fit(x_train, y_train, epochs=3, batch_size=32, callbacks=[finder], verbose=0)
    max_rate = finder.suggested_rate

    steps = context.epochs * math.ceil(len(x_train) / 32)
    model = build()
    model.compile(
        optimizer=keras.optimizers.SGD(OneCycle(steps, max_rate=max_rate), momentum=0.9),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, y_train, epochs=context.epochs, batch_size=32, verbose=0)
    accuracy = float(model.evaluate(context.x_test, context.y_test, verbose=0)[1])
    model.save(context.path("selu_mlp.keras"))
    return TrainStage(
        model,
        config,
        units,
        dropout,
        check,
        [s.std for s in stats],
        finder,
        max_rate,
        steps,
        accuracy,
    )


# 3 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class UncertaintyStage:
    samples: int
    labels: np.ndarray
    single: np.ndarray
    prediction: object  # MCPrediction
    one_pass_ece: float
    mc_ece: float
    one_pass_accuracy: float
    mc_accuracy: float
    least_sure: list  # rows: test index, true, predicted, mean confidence, mutual information


def uncertainty(context, model, samples=None):
    from tfx_ext.uncertainty import calibration_bins, enable_mc_dropout, mc_predict

    samples = samples or context.size(100, 20)
    _progress(3, f"MC Dropout, {samples} samples")
    y_test = context.y_test
    single = model.predict(context.x_test, verbose=0)
    prediction = mc_predict(
        enable_mc_dropout(model), context.x_test, samples=samples, seed=context.seed
    )
    before, after = calibration_bins(y_test, single), calibration_bins(y_test, prediction.mean)
    least_sure = [
        [
            index,
            y_test[index],
            prediction.predicted_class[index],
            float(prediction.mean[index].max()),
            float(prediction.mutual_information[index]),
        ]
        for index in np.argsort(prediction.mutual_information)[::-1][:5]
    ]
    return UncertaintyStage(
        samples,
        y_test,
        single,
        prediction,
        before.ece,
        after.ece,
        float((single.argmax(1) == y_test).mean()),
        float((prediction.predicted_class == y_test).mean()),
        least_sure,
    )


# 4 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class PruneStage:
    model: object  # stripped
    target: float
    report: object  # SparsityReport of the pruned model
    dense_report: object
    accuracy: float


def prune(context, model, target=0.8, epochs=None):
    import keras

    from tfx_ext import sparsity

    epochs = epochs or context.size(8, 2)
    _progress(4, f"pruning to {target:.0%}")
    steps = epochs * math.ceil(len(context.x_train) / 32)
    pruned = sparsity.prune_low_magnitude(
        model,
        sparsity.PolynomialDecay(0.0, target, begin_step=0, end_step=steps // 2, frequency=10),
    )
    pruned.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    pruned.fit(
        context.x_train,
        context.y_train,
        epochs=epochs,
        batch_size=32,
        verbose=0,
        callbacks=[sparsity.UpdatePruningStep()],
    )
    stripped = sparsity.strip_pruning(pruned)
    stripped.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    accuracy = float(stripped.evaluate(context.x_test, context.y_test, verbose=0)[1])
    stripped.save(context.path("selu_mlp_pruned.keras"))
    return PruneStage(
        stripped,
        target,
        sparsity.sparsity_report(stripped),
        sparsity.sparsity_report(model),
        accuracy,
    )


# 5 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class TFLiteStage:
    reports: dict  # variant name -> ParityReport
    notes: list


def tflite(context, model, pruned):
    from tfx_ext.lite import compare, convert

    _progress(
        5, "TFLite: float32 (dense), dynamic range and full int8 (dense, pruned), parity checked"
    )
    # Full-integer rows with the Normalization folded into the first Dense, and the
    # same conversions without folding, to show what folding changes.
    variants = (
        ("dense float32", model, "float32", "auto"),
        ("pruned dynamic_range", pruned, "dynamic_range", "auto"),
        ("dense int8 folded", model, "int8", True),
        ("dense int8 not folded", model, "int8", False),
        ("pruned int8 folded", pruned, "int8", True),
        ("pruned int8 not folded", pruned, "int8", False),
    )
    if context.quick:  # each mode, folded and not, dense and pruned: once each
        variants = variants[:3] + variants[5:]
    reports, notes = {}, []
    for name, candidate, mode, fold in variants:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = convert(
                candidate,
                mode=mode,
                representative_data=context.x_train,
                fold_normalization=fold,
                output_path=context.path(f"selu_mlp_{name.replace(' ', '_')}.tflite"),
            )
        notes += [f"{name}: {w.message}" for w in caught if "per-tensor scale" in str(w.message)]
        if fold is True and not result.folded_normalization:
            notes.append(f"{name}: the Normalization layer could not be folded.")
        reports[name] = compare(candidate, result, context.x_test, context.y_test)
    return TFLiteStage(reports, notes)


# 6 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class ServeStage:
    base: str
    rows: list  # label, protocol, version, accuracy, max diff vs Keras


def serve(context, model, pruned):
    from tfx_ext.export import ModelEntry, export_for_serving, write_model_config
    from tfx_ext.serving import GrpcClient, LocalModelServer, RestClient

    _progress(6, "TF Serving: export stable (dense) and canary (pruned), serve, query")
    x_test, y_test = context.x_test, context.y_test
    base = context.path("models")
    shutil.rmtree(base, ignore_errors=True)
    for candidate in (model, pruned):
        export_for_serving(
            candidate,
            base,
            "digits",
            warmup_data=x_test[:20],
            mc_samples=20,
            serving_image="tensorflow/serving:2.21.0",
        )
    config = write_model_config(
        os.path.join(base, "models.config"),
        [ModelEntry("digits", "digits", versions=[1, 2], labels={"stable": 1, "canary": 2})],
    )
    rest_port, grpc_port = _free_port(), _free_port()
    rows = []
    with LocalModelServer(model_config_file=config, rest_port=rest_port, grpc_port=grpc_port):
        for label, candidate in (("stable", model), ("canary", pruned)):
            expected = candidate.predict(x_test, verbose=0)
            rest = RestClient("127.0.0.1", rest_port, "digits", label=label)
            version = rest.status()[0][0]
            with GrpcClient("127.0.0.1", grpc_port, "digits", label=label) as client:
                answers = {"REST": rest.predict(x_test), "gRPC": client.predict(x_test)}
            for protocol, outputs in answers.items():
                gap = float(np.abs(outputs["probabilities"] - expected).max())
                accuracy = float((outputs["class_ids"] == y_test).mean())
                rows.append([label, protocol, version, accuracy, gap])
    return ServeStage(base, rows)


# 7 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class ComponentsStage:
    path: str
    gap: float
    results: dict


def components(context):
    import keras

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
    model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=[
            "accuracy",
            CohenKappa(10, weightage="quadratic"),
            MatthewsCorrelationCoefficient(10),
            HammingLoss("multiclass"),
        ],
    )
    model.fit(
        context.images_train, context.y_train, epochs=context.size(5, 1), batch_size=32, verbose=0
    )
    results = model.evaluate(context.images_test, context.y_test, verbose=0, return_dict=True)
    path = context.path("digits_cnn.keras")
    model.save(path)
    reloaded = keras.models.load_model(path)
    gap = float(
        np.max(
            np.abs(
                reloaded.predict(context.images_test, verbose=0)
                - model.predict(context.images_test, verbose=0)
            )
        )
    )
    return ComponentsStage(path, gap, results)


# 8 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class CustomLoopStage:
    epochs: int
    stop_at_step: int
    resumed_from: str
    updates: str
    accuracy: float
    gap: float


def custom_loop(context, epochs=None, stop_at_step=None):
    """Also writes the final weights of the interrupted, resumed and uninterrupted runs
    (`wide_and_deep_{interrupted,resumed,uninterrupted}.weights.h5`)."""
    import keras

    from tfx_ext.training import Trainer

    epochs = epochs or context.size(6, 2)
    stop_at_step = stop_at_step or context.size(100, 50)

    _progress(8, "custom training loop: Wide & Deep, SGD (wide) + Nadam (deep), stop and resume")

    def build():
        keras.utils.set_random_seed(context.seed)
        x = keras.Input((64,), name="pixels")
        wide = keras.layers.Dense(10, name="wide")(x)
        h = keras.layers.Dense(64, activation="relu", name="deep_1")(x)
        h = keras.layers.Dropout(0.2, name="deep_dropout")(h)
        h = keras.layers.Dense(64, activation="relu", name="deep_2")(h)
        deep = keras.layers.Dense(10, name="deep_out")(h)
        outputs = keras.layers.Activation("softmax", name="digit")(keras.layers.Add()([wide, deep]))
        return keras.Model(x, outputs, name="wide_and_deep")

    directory = context.path("wide_and_deep_checkpoints")
    shutil.rmtree(directory, ignore_errors=True)

    def trainer(model, checkpoints=True):
        return Trainer(
            model,
            "sparse_categorical_crossentropy",
            {
                "wide/.*": keras.optimizers.SGD(0.05, momentum=0.9),
                "deep_.*/.*": keras.optimizers.Nadam(1e-3),
            },
            metrics=["accuracy"],
            clip_global_norm=5.0,
            seed=context.seed,
            **({"checkpoint_dir": directory, "checkpoint_every": 25} if checkpoints else {}),
        )

    class StopMidEpoch(keras.callbacks.Callback):
        """Stops the first run mid-epoch (the SIGKILL case is in tests/training)."""

        def __init__(self):
            super().__init__()
            self.steps = 0

        def on_train_batch_end(self, batch, logs=None):
            self.steps += 1
            if self.steps == stop_at_step:
                self.model.stop_training = True

    data = (context.x_train, context.y_train)
    first = trainer(build())
    first.fit(data, epochs=epochs, verbose=0, callbacks=[StopMidEpoch()])
    first.model.save_weights(context.path("wide_and_deep_interrupted.weights.h5"))
    resumed_from = os.path.basename(first.latest_checkpoint)
    model = build()
    resumed = trainer(model)
    resumed.fit(data, epochs=epochs, verbose=0)
    accuracy = resumed.evaluate((context.x_test, context.y_test))["accuracy"]

    reference_model = build()
    trainer(reference_model, checkpoints=False).fit(data, epochs=epochs, verbose=0)
    model.save_weights(context.path("wide_and_deep_resumed.weights.h5"))
    reference_model.save_weights(context.path("wide_and_deep_uninterrupted.weights.h5"))
    gap = max(
        float(abs(a - b).max()) for a, b in zip(model.get_weights(), reference_model.get_weights())
    )
    updates = ", ".join(
        f"{o.__class__.__name__} {int(o.iterations)}" for o in resumed.optimizer.optimizers
    )
    return CustomLoopStage(epochs, stop_at_step, resumed_from, updates, accuracy, gap)


# 9 -------------------------------------------------------------------------------------
@dataclasses.dataclass
class TranslationStage:
    example: str  # path of examples/date_translation.py, or None when it is not there
    n_train: int
    epochs: int
    results: dict  # run()'s dict: greedy/beam accuracy, served_equals_keras, examples, ...


def _date_translation_example():
    """The repository's `examples/date_translation.py` as a module, or None (installed package)."""
    import importlib.util

    import tfx_ext

    path = os.path.abspath(
        os.path.join(os.path.dirname(tfx_ext.__file__), "..", "examples", "date_translation.py")
    )
    if not os.path.isfile(path):
        return None, None
    spec = importlib.util.spec_from_file_location("date_translation", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module, path


def date_translation(context, n_train=10000, epochs=3):
    _progress(
        9,
        f"encoder-decoder with attention: dates, {n_train} examples, greedy and beam search, served",
    )
    module, path = _date_translation_example()
    if module is None:
        return TranslationStage(None, n_train, epochs, {})
    small = {"units": 32, "n_test": 100, "beam_width": 2} if context.quick else {}
    results = module.run(
        context.path("date_translation"), epochs=epochs, n_train=n_train, seed=context.seed, **small
    )
    return TranslationStage(path, n_train, epochs, results)
