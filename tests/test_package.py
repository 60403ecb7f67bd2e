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
from tfx_ext import callbacks, generative, layers, lite, losses, metrics, optimizers, regularizers, schedules, sparsity


def _public_classes():
    for module in (layers, losses, metrics, optimizers, schedules, callbacks, regularizers, generative):
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
        h = layers.WeightNormalization(keras.layers.Conv2D(8, 3, padding="same"), data_init=True)(inputs)
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
            pruned = sparsity.prune_low_magnitude(keras.Sequential([keras.Input((4,)), keras.layers.Dense(3)]))
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


@pytest.mark.slow
class DemoTest(tf.test.TestCase):
    def test_demo_runs_every_stage_and_writes_its_report(self):
        from tfx_ext import demo

        with tempfile.TemporaryDirectory() as tmp:
            # A short translation run: the stage's accuracy is the example's own test's business.
            report, summary = demo.run(output_dir=tmp, epochs=4, trials=2, translation_dates=1500, translation_epochs=1)
            written = sorted(os.listdir(tmp))
            with open(os.path.join(tmp, "report.md")) as f:
                self.assertEqual(f.read(), report)
        for stage in range(1, demo.STAGES + 1):
            self.assertIn(f"## {stage}. ", report)
        for plot in ("lr_finder.png", "reliability.png", "sparsity.png", "sizes.png"):
            self.assertIn(plot, written)
        self.assertIn("digits_cnn.keras", written)
        self.assertGreater(summary["dense SELU MLP"]["accuracy"], 0.85)
        self.assertAllClose(summary["pruned 80%"]["sparsity"], 0.8, atol=0.01)
        # The float32 TFLite model answers exactly like the Keras model it came from.
        self.assertAllClose(summary["TFLite dense float32"]["accuracy"], summary["dense SELU MLP"]["accuracy"])
        self.assertLess(summary["pruned 80%"]["weights gzip"], summary["dense SELU MLP"]["weights gzip"] / 2)
        # Full-integer int8 keeps the accuracy of the Normalization-first SELU MLP (it was 0.0956),
        # folded or not, and folding leaves no Normalization output to quantize.
        for name, keras_name in (("dense int8", "dense SELU MLP"), ("pruned int8", "pruned 80%")):
            for variant in ("folded", "not folded"):
                drop = summary[keras_name]["accuracy"] - summary[f"TFLite {name} {variant}"]["accuracy"]
                self.assertLess(drop, 0.03, f"{name} {variant}")
        self.assertNotIn("folded: the Normalization layer could not be folded", report)
        self.assertGreater(summary["wide & deep (Trainer)"]["accuracy"], 0.9)
        self.assertIn("max weight difference against an uninterrupted run 0.", report)
        self.assertIn("over REST the local server answers the same strings as the Keras model", report)
