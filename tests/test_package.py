"""Package-level behaviour: registration, fresh-process loading, the CLI, the demo."""

import contextlib
import io
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

import tfx_ext
from tfx_ext import (
    callbacks,
    generative,
    layers,
    lite,
    losses,
    metrics,
    optimizers,
    regularizers,
    schedules,
    sparsity,
)


def _public_classes():
    for module in (
        layers,
        losses,
        metrics,
        optimizers,
        schedules,
        callbacks,
        regularizers,
        generative,
    ):
        for name in module.__all__:
            obj = getattr(module, name)
            if isinstance(obj, type):
                yield obj
    # Keras objects that live beside plain helpers in their packages.
    yield from (
        sparsity.PruneLowMagnitude,
        sparsity.ConstantSparsity,
        sparsity.PolynomialDecay,
        sparsity.UpdatePruningStep,
        sparsity.PruningSummaries,
        lite.QuantizeAware,
    )


def _run_python(code):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, env=env
    )


class RegistrationTest(tf.test.TestCase):
    def test_every_public_class_is_registered_under_tfx_ext(self):
        classes = list(_public_classes())
        self.assertGreaterEqual(len(classes), 28)
        for cls in classes:
            self.assertEqual(keras.saving.get_registered_name(cls), f"tfx_ext>{cls.__name__}")

    def test_cli_lists_components_and_versions(self):
        from tfx_ext import cli

        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main(["components"])
        listed = set(out.getvalue().split())
        self.assertTrue({f"tfx_ext>{c.__name__}" for c in _public_classes()} <= listed)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            cli.main(["version"])
        self.assertIn(f"tfx_ext {tfx_ext.__version__}", out.getvalue())
        self.assertIn(f"keras {keras.__version__}", out.getvalue())
        with self.assertRaises(SystemExit):
            cli.main(["no-such-command"])

    def test_import_does_not_pull_heavy_optional_packages(self):
        result = _run_python(
            "import sys, keras\n"
            "before = set(sys.modules)\n"
            "import tfx_ext\n"
            "heavy = ['keras_tuner', 'tensorflow_model_optimization', 'grpc', "
            "'ai_edge_litert', 'litert_quantizer', 'sklearn', 'matplotlib', 'tf_keras', 'tqdm']\n"
            "print(sorted(m for m in heavy if m in set(sys.modules) - before))\n"
            # The lazy subpackages load on first access, after a bare `import tfx_ext`.
            "print(tfx_ext.diagnostics.estimate_memory.__name__, tfx_ext.export.export_for_serving.__name__,\n"
            "      tfx_ext.serving.RestClient.__name__, tfx_ext.tuning.search.__name__,\n"
            "      'diagnostics' in dir(tfx_ext), hasattr(tfx_ext, 'no_such_module'))\n"
        )
        self.assertEqual(result.returncode, 0, result.stderr[-2000:])
        heavy, lazy = result.stdout.strip().splitlines()[-2:]
        self.assertEqual(heavy, "[]")
        self.assertEqual(lazy, "estimate_memory export_for_serving RestClient search True False")


@pytest.mark.slow
class FreshProcessLoadTest(tf.test.TestCase):
    def test_model_with_every_component_loads_in_a_new_process_without_custom_objects(self):
        keras.utils.set_random_seed(0)
        x = np.random.default_rng(0).standard_normal((16, 6, 6, 2)).astype("float32")
        y = (np.arange(16) % 3).astype("int32")
        inputs = keras.Input((6, 6, 2))
        h = layers.WeightNormalization(keras.layers.Conv2D(8, 3, padding="same"), data_init=True)(
            inputs
        )
        h = layers.SqueezeExcitation(ratio=4)(h)
        h = layers.StochasticDepth(0.9)([h, keras.layers.Conv2D(8, 1)(h)])
        h = keras.layers.Flatten()(h)
        encoder = keras.layers.Dense(12, name="encoder")
        code = encoder(h)
        h = layers.Maxout(6)(layers.DenseTranspose(encoder, name="decoder")(code))
        outputs = keras.layers.Dense(3, activation="softmax")(h)
        model = keras.Model(inputs, outputs)
        model.compile(
            optimizer=keras.optimizers.SGD(schedules.OneCycle(20, max_rate=0.01)),
            loss="sparse_categorical_crossentropy",
            metrics=[
                metrics.CohenKappa(3, weightage="linear"),
                metrics.MatthewsCorrelationCoefficient(3),
                metrics.HammingLoss("multiclass"),
            ],
        )
        model.fit(x, y, epochs=1, batch_size=8, verbose=0)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "model.keras")
            model.save(path)
            np.save(os.path.join(tmp, "x.npy"), x)
            expected = model.predict(x, verbose=0)
            result = _run_python(
                "import numpy as np, keras, tfx_ext\n"
                f"m = keras.models.load_model({path!r})\n"
                f"np.save({os.path.join(tmp, 'out.npy')!r}, m.predict(np.load({os.path.join(tmp, 'x.npy')!r}), verbose=0))\n"
                "print(type(m.optimizer.learning_rate), m.get_layer('decoder').dense is m.get_layer('encoder'))\n"
            )
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
            self.assertTrue(result.stdout.strip().endswith("True"))
            self.assertAllClose(np.load(os.path.join(tmp, "out.npy")), expected, atol=1e-6)
            # Pruning and QAT wrappers are registered by `import tfx_ext` too.
            pruned = sparsity.prune_low_magnitude(
                keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)])
            )
            qat = lite.quantize_aware(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
            for name, wrapped in (("pruned", pruned), ("qat", qat)):
                wrapped.save(os.path.join(tmp, f"{name}.keras"))
            result = _run_python(
                "import keras, tfx_ext\n"
                f"print(type(keras.models.load_model({os.path.join(tmp, 'pruned.keras')!r}).layers[0]).__name__)\n"
                f"print(type(keras.models.load_model({os.path.join(tmp, 'qat.keras')!r}).layers[0]).__name__)\n"
            )
            self.assertEqual(result.returncode, 0, result.stderr[-3000:])
            self.assertEqual(result.stdout.split()[-2:], ["PruneLowMagnitude", "QuantizeAware"])
            # And without importing tfx_ext, Keras cannot know the components:
            result = _run_python(f"import keras\nkeras.models.load_model({path!r})\n")
            self.assertNotEqual(result.returncode, 0)
            self.assertIn("tfx_ext>", result.stderr)


def _tflite_outputs(path, x):
    """Runs a `.tflite` file on `x` one row at a time with the LiteRT interpreter, (de)quantizing I/O."""
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_path=path, num_threads=1)
    interpreter.allocate_tensors()
    (given,), wanted = interpreter.get_input_details(), interpreter.get_output_details()[0]
    rows = []
    for row in x:
        row = row[None]
        if np.issubdtype(given["dtype"], np.integer):
            scale, zero = given["quantization"]
            bounds = np.iinfo(given["dtype"])
            row = np.clip(np.round(row / scale + zero), bounds.min, bounds.max)
        interpreter.set_tensor(given["index"], row.astype(given["dtype"]))
        interpreter.invoke()
        out = interpreter.get_tensor(wanted["index"]).astype("float32")
        if np.issubdtype(wanted["dtype"], np.integer):
            scale, zero = wanted["quantization"]
            out = (out - zero) * scale
        rows.append(out[0])
    return np.stack(rows)


def _h5_arrays(path):
    """Every dataset of an HDF5 file: {name: array}."""
    import h5py

    arrays = {}
    with h5py.File(path, "r") as f:
        f.visititems(
            lambda name, obj: (
                arrays.__setitem__(name, obj[()]) if isinstance(obj, h5py.Dataset) else None
            )
        )
    return arrays


@pytest.mark.slow
class DemoTest(tf.test.TestCase):
    """The quick demo run, judged by its artifacts: each is loaded and checked against the Keras models."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        from tfx_ext import demo
        from tfx_ext.demo import stages

        cls.tmp = tempfile.mkdtemp(prefix="tfx_ext_demo_")
        cls.report, cls.summary = demo.run(output_dir=cls.tmp, epochs=4, trials=2, quick=True)
        _, cls.y_train, cls.images_test, cls.y_test = stages.load_digits_split()
        cls.x_test = cls.images_test.reshape(len(cls.images_test), -1)
        cls.dense = keras.models.load_model(os.path.join(cls.tmp, "selu_mlp.keras"))
        cls.pruned = keras.models.load_model(os.path.join(cls.tmp, "selu_mlp_pruned.keras"))
        cls.expected = {m: m.predict(cls.x_test, verbose=0) for m in (cls.dense, cls.pruned)}

    @classmethod
    def tearDownClass(cls):
        import shutil

        shutil.rmtree(cls.tmp, ignore_errors=True)
        super().tearDownClass()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def accuracy(self, probabilities):
        return float((probabilities.argmax(-1) == self.y_test).mean())

    def test_report_and_plots_are_written_and_parse(self):
        import matplotlib.image

        with open(self.path("report.md")) as f:
            self.assertEqual(f.read(), self.report)
        from tfx_ext import demo

        headings = [line for line in self.report.splitlines() if line.startswith("## ")]
        self.assertEqual(
            [h.split(".")[0] for h in headings[1:]], [f"## {i}" for i in range(1, demo.STAGES + 1)]
        )
        for plot in ("lr_finder.png", "reliability.png", "sparsity.png", "sizes.png"):
            image = matplotlib.image.imread(self.path(plot))
            self.assertGreater(image.shape[0] * image.shape[1], 10_000, plot)
            self.assertGreater(float(image.std()), 0.0, plot)  # not a blank canvas

    def test_saved_keras_models_classify_digits_and_pruning_reached_its_target(self):
        # Ten classes: a model that learned nothing is right about one time in ten.
        self.assertGreater(self.accuracy(self.expected[self.dense]), 0.8)
        self.assertGreater(self.accuracy(self.expected[self.pruned]), 0.8)
        self.assertAllClose(
            self.summary["dense SELU MLP"]["accuracy"], self.accuracy(self.expected[self.dense])
        )
        kernels = [
            w
            for layer in self.pruned.layers
            if isinstance(layer, keras.layers.Dense)
            for w in [layer.kernel]
        ]
        zeros = sum(int(np.sum(k.numpy() == 0)) for k in kernels)
        self.assertAllClose(zeros / sum(int(np.prod(k.shape)) for k in kernels), 0.8, atol=0.01)

    def test_served_versions_answer_as_the_saved_keras_models(self):
        with open(self.path("models", "models.config")) as f:
            config = f.read()
        for label, version in (("stable", 1), ("canary", 2)):
            self.assertRegex(config, rf'key: "{label}"\s*value: {version}')
        for version, model in ((1, self.dense), (2, self.pruned)):
            loaded = tf.saved_model.load(self.path("models", "digits", str(version)))
            signature = loaded.signatures["serving_default"]
            (name,) = signature.structured_input_signature[1]
            outputs = signature(**{name: tf.constant(self.x_test)})
            self.assertAllClose(outputs["probabilities"], self.expected[model], atol=1e-5)
            self.assertAllEqual(outputs["class_ids"], self.expected[model].argmax(-1))
            self.assertTrue(
                os.path.isfile(
                    self.path(
                        "models",
                        "digits",
                        str(version),
                        "assets.extra",
                        "tf_serving_warmup_requests",
                    )
                )
            )

    def test_tflite_files_answer_as_the_keras_models_within_tolerance(self):
        # float32 is the same arithmetic (fused); int8 keeps the accuracy within 3 points.
        # (A quick run converts 4 of the 6 variants: each mode, folded and not, dense and pruned.)
        for name, model, max_diff, max_drop in (
            ("dense_float32", self.dense, 1e-5, 0.0),
            ("pruned_dynamic_range", self.pruned, None, 0.03),
            ("dense_int8_folded", self.dense, None, 0.03),
            ("pruned_int8_not_folded", self.pruned, None, 0.03),
        ):
            with self.subTest(name):
                outputs = _tflite_outputs(self.path(f"selu_mlp_{name}.tflite"), self.x_test)
                if max_diff is not None:
                    self.assertAllClose(outputs, self.expected[model], atol=max_diff, rtol=0)
                drop = self.accuracy(self.expected[model]) - self.accuracy(outputs)
                self.assertLessEqual(drop, max_drop + 1e-9)
        self.assertNotIn("folded: the Normalization layer could not be folded", self.report)

    def test_components_cnn_reloads_without_custom_objects(self):
        cnn = keras.models.load_model(self.path("digits_cnn.keras"))
        probabilities = cnn.predict(self.images_test, verbose=0)
        self.assertAllClose(probabilities.sum(-1), np.ones(len(self.images_test)), atol=1e-5)
        self.assertGreater(self.accuracy(probabilities), 0.5)

    def test_resumed_wide_and_deep_equals_the_uninterrupted_run_exactly(self):
        resumed = _h5_arrays(self.path("wide_and_deep_resumed.weights.h5"))
        uninterrupted = _h5_arrays(self.path("wide_and_deep_uninterrupted.weights.h5"))
        interrupted = _h5_arrays(self.path("wide_and_deep_interrupted.weights.h5"))
        self.assertEqual(sorted(resumed), sorted(uninterrupted))
        self.assertGreaterEqual(len(resumed), 8)  # 4 Dense layers, kernel and bias each
        for name in resumed:
            self.assertAllEqual(resumed[name], uninterrupted[name], msg=name)
        # The first run really stopped early: the resumed run changed its weights.
        self.assertTrue(any(not np.array_equal(interrupted[n], resumed[n]) for n in resumed))
        # The last checkpoint is at the end of 2 epochs of ceil(1347 / 32) steps.
        latest = tf.train.latest_checkpoint(self.path("wide_and_deep_checkpoints"))
        step = tf.train.load_checkpoint(latest).get_tensor("global_step/.ATTRIBUTES/VARIABLE_VALUE")
        self.assertEqual(int(step), 2 * -(-len(self.y_train) // 32))

    def test_exported_translator_answers_as_the_keras_model(self):
        loaded = tf.saved_model.load(self.path("date_translation", "models", "dates", "1"))
        signature = loaded.signatures["serving_default"]
        # The report's examples table: (input, the Keras model's beam-search answer).
        rows = [
            line.split(" | ")
            for line in self.report.split("beam search answer |")[1].splitlines()[2:]
            if line.startswith("| '")
        ]
        self.assertLen(rows, 5)
        inputs = [row[0][2:].strip()[1:-1] for row in rows]
        keras_answers = [row[1].strip(" |") for row in rows]
        served = [s.decode() for s in signature(dates=tf.constant(inputs))["iso_dates"].numpy()]
        self.assertEqual(served, keras_answers)
