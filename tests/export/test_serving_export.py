import json
import os
import warnings

import keras
import numpy as np
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from tests.bad_input import rejects_bad_input
from tests.datasets import diabetes
from tests.export.models import (
    DIABETES_SPEC,
    PIXELS_SPEC,
    diabetes_regressor,
    digits_classifier,
    digits_test_split,
    float_example,
    leftovers,
    predict,
    temp_dir,
)
from tfx_ext.export import export_for_serving, format_signatures, inspect_saved_model


def _tree(path):
    """{relative path: (size, mtime_ns)} of every file under `path`."""
    result = {}
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            stat = os.stat(full)
            result[os.path.relpath(full, path)] = (stat.st_size, stat.st_mtime_ns)
    return result


def _signature_defs(path):
    """The SignatureDefs of saved_model.pb, parsed here with TF's own proto."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as f:
        proto.ParseFromString(f.read())
    return {k: v for k, v in proto.meta_graphs[0].signature_def.items() if not k.startswith("__")}


def _call(loaded, signature, **inputs):
    outputs = loaded.signatures[signature](**{k: tf.constant(v) for k, v in inputs.items()})
    return {k: v.numpy() for k, v in outputs.items()}


class ExportLayoutTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.base = temp_dir(self)
        self.model = digits_classifier(epochs=0)
        self.x = digits_test_split()[0][:8]

    def test_versions_are_numbered_and_published_whole(self):
        model_dir = os.path.join(self.base, "digits")
        first = export_for_serving(self.model, self.base, "digits")
        self.assertEqual(first, os.path.join(model_dir, "1"))
        self.assertEqual(
            export_for_serving(self.model, self.base, "digits"), os.path.join(model_dir, "2")
        )
        self.assertEqual(
            export_for_serving(self.model, self.base, "digits", version=7),
            os.path.join(model_dir, "7"),
        )
        self.assertEqual(
            export_for_serving(self.model, self.base, "digits"), os.path.join(model_dir, "8")
        )
        self.assertEqual(sorted(os.listdir(model_dir), key=int), ["1", "2", "7", "8"])
        self.assertEqual(leftovers(model_dir), [])
        for version in ("1", "8"):
            loaded = tf.saved_model.load(os.path.join(model_dir, version))
            outputs = _call(loaded, "serving_default", pixels=self.x)
            self.assertAllClose(outputs["digit"], predict(self.model, self.x), atol=1e-6)

    def test_existing_version_is_refused_and_left_intact(self):
        path = export_for_serving(self.model, self.base, "digits")
        before = _tree(path)
        other = digits_classifier(epochs=0, units=8)
        with self.assertRaisesRegex(FileExistsError, "Version 1 .* already exists"):
            export_for_serving(other, self.base, "digits", version=1)
        self.assertEqual(_tree(path), before)
        self.assertEqual(leftovers(os.path.join(self.base, "digits")), [])
        loaded = tf.saved_model.load(path)
        outputs = _call(loaded, "serving_default", pixels=self.x)
        self.assertAllClose(outputs["digit"], predict(self.model, self.x), atol=1e-6)

    def test_failing_warmup_publishes_nothing(self):
        export_for_serving(self.model, self.base, "digits")
        model_dir = os.path.join(self.base, "digits")
        bad_rows = np.zeros((4, 3), "float32")  # the model takes 64 features
        with self.assertRaisesRegex(ValueError, "[Ww]armup record 0"):
            export_for_serving(self.model, self.base, "digits", warmup_data=bad_rows)
        self.assertEqual(os.listdir(model_dir), ["1"])
        # The next good export still gets the next number.
        self.assertEqual(
            export_for_serving(self.model, self.base, "digits", warmup_data=self.x),
            os.path.join(model_dir, "2"),
        )
        self.assertEqual(leftovers(model_dir), [])

    def test_export_info_records_versions(self):
        path = export_for_serving(self.model, self.base, "digits")
        with open(os.path.join(path, "assets.extra", "tfx_ext_export.json")) as f:
            info = json.load(f)
        self.assertEqual(info["tensorflow"], tf.__version__)
        self.assertEqual(info["keras"], keras.__version__)

    def test_version_skew_warning(self):
        small = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        with self.assertWarnsRegex(UserWarning, r"tensorflow/serving:2\.14\.0.*older"):
            export_for_serving(small, self.base, "small", serving_image="tensorflow/serving:2.14.0")
        major, minor = (int(p) for p in tf.__version__.split(".")[:2])
        for image in (
            f"tensorflow/serving:{major}.{minor}.0",
            f"tensorflow/serving:{major}.{minor + 1}.0-gpu",
        ):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                export_for_serving(small, self.base, "small", serving_image=image)
            self.assertEqual(
                [str(w.message) for w in caught if "older" in str(w.message)], [], msg=image
            )

    @rejects_bad_input(export_for_serving)
    def test_subclassed_model_is_named(self):
        class Sub(keras.Model):
            def __init__(self):
                super().__init__(name="sub")
                self.dense = keras.layers.Dense(3)

            def call(self, x):
                return self.dense(x)

        model = Sub()
        model(np.zeros((1, 4), "float32"))
        # Used to be "'Sub' object has no attribute 'inputs'".
        with self.assertRaisesRegex(
            ValueError, r"argument `model`.*Sequential or functional.*subclassed model 'sub'"
        ):
            export_for_serving(model, self.base, "sub")
        self.assertFalse(os.path.exists(os.path.join(self.base, "sub", "1")))
        with self.assertRaisesRegex(TypeError, r"argument `base_dir`"):
            export_for_serving(self.model, None, "digits")
        a_file = os.path.join(self.base, "file")
        open(a_file, "w").close()
        with self.assertRaisesRegex(ValueError, r"argument `base_dir`.*a directory"):
            export_for_serving(self.model, a_file, "digits")

    @rejects_bad_input(inspect_saved_model, format_signatures)
    def test_inspect_bad_paths(self):
        with self.assertRaisesRegex(ValueError, r"argument `path`.*SavedModel directory"):
            inspect_saved_model(self.base)
        os.makedirs(os.path.join(self.base, "broken"))
        with open(os.path.join(self.base, "broken", "saved_model.pb"), "wb") as f:
            f.write(b"not a protobuf at all")
        with self.assertRaisesRegex(ValueError, r"argument `path`"):
            inspect_saved_model(os.path.join(self.base, "broken"))
        with self.assertRaisesRegex(TypeError, r"argument `signatures`.*inspect_saved_model"):
            format_signatures(self.base)

    @rejects_bad_input(export_for_serving)
    def test_bad_arguments_name_the_argument(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `model_name`.*Received: model_name='a/b'"
        ):
            export_for_serving(self.model, self.base, "a/b")
        with self.assertRaisesRegex(ValueError, r"argument `version`.*Received: version=0"):
            export_for_serving(self.model, self.base, "digits", version=0)
        with self.assertRaisesRegex(ValueError, r"argument `input_names`"):
            export_for_serving(self.model, self.base, "digits", input_names=["a", "b"])
        with self.assertRaisesRegex(ValueError, r"argument `output_names`"):
            export_for_serving(self.model, self.base, "digits", output_names=["a", "b"])
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            export_for_serving("model.keras", self.base, "digits")
        model_dir = os.path.join(self.base, "digits")
        self.assertFalse(os.path.isdir(model_dir) and os.listdir(model_dir))  # nothing published


class SignatureTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.base = temp_dir(self)
        self.x = digits_test_split()[0][:16]

    def assertNoKerasDefaults(self, names):
        for name in names:
            self.assertFalse(name.startswith("keras_tensor"), msg=name)
            self.assertNotRegex(name, r"^output_\d+$")

    def test_default_names_and_classifier_outputs(self):
        model = digits_classifier(epochs=1)
        path = export_for_serving(model, self.base, "digits")
        expected = predict(model, self.x)

        infos = inspect_saved_model(path)
        self.assertEqual(set(infos), {"serving_default"})
        sig = infos["serving_default"]
        self.assertEqual(sig.method_name, "tensorflow/serving/predict")
        self.assertEqual(
            [(t.name, t.dtype, t.shape) for t in sig.inputs], [("pixels", "float32", (None, 64))]
        )
        self.assertEqual(
            {t.name: (t.dtype, t.shape) for t in sig.outputs},
            {
                "digit": ("float32", (None, 10)),
                "probabilities": ("float32", (None, 10)),
                "class_ids": ("int64", (None,)),
            },
        )

        loaded = tf.saved_model.load(path)
        fn = loaded.signatures["serving_default"]
        self.assertEqual(set(fn.structured_input_signature[1]), {"pixels"})
        self.assertEqual(set(fn.structured_outputs), {"digit", "probabilities", "class_ids"})
        self.assertNoKerasDefaults(
            list(fn.structured_input_signature[1]) + list(fn.structured_outputs)
        )
        outputs = _call(loaded, "serving_default", pixels=self.x)
        self.assertEqual(outputs["class_ids"].dtype, np.int64)
        self.assertAllEqual(outputs["class_ids"], expected.argmax(axis=-1))
        self.assertAllClose(outputs["probabilities"], expected, atol=1e-6)
        self.assertAllClose(outputs["digit"], expected, atol=1e-6)

    def test_sequential_input_is_called_inputs(self):
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
        path = export_for_serving(model, self.base, "seq")
        sig = _signature_defs(path)["serving_default"]
        self.assertEqual(list(sig.inputs), ["inputs"])
        self.assertLen(sig.outputs, 1)
        self.assertNoKerasDefaults(list(sig.outputs))
        x = np.random.default_rng(0).standard_normal((4, 3)).astype("float32")
        outputs = _call(tf.saved_model.load(path), "serving_default", inputs=x)
        self.assertAllClose(next(iter(outputs.values())), predict(model, x), atol=1e-6)

    def test_custom_names(self):
        model = digits_classifier(epochs=0)
        path = export_for_serving(
            model, self.base, "digits", input_names=["image"], output_names=["scores"]
        )
        sig = _signature_defs(path)["serving_default"]
        self.assertEqual(list(sig.inputs), ["image"])
        self.assertEqual(set(sig.outputs), {"scores", "class_ids", "probabilities"})
        outputs = _call(tf.saved_model.load(path), "serving_default", image=self.x)
        self.assertAllClose(outputs["scores"], predict(model, self.x), atol=1e-6)

    def test_classify_signature_on_examples(self):
        model = digits_classifier(epochs=1)
        path = export_for_serving(model, self.base, "digits", example_spec=PIXELS_SPEC)
        sig = _signature_defs(path)["classify"]
        self.assertEqual(sig.method_name, "tensorflow/serving/classify")
        self.assertEqual(list(sig.inputs), ["inputs"])
        self.assertEqual(sig.inputs["inputs"].dtype, tf.string.as_datatype_enum)
        self.assertEqual([d.size for d in sig.inputs["inputs"].tensor_shape.dim], [-1])
        self.assertEqual(set(sig.outputs), {"classes", "scores"})
        self.assertEqual(
            _signature_defs(path)["serving_default"].method_name, "tensorflow/serving/predict"
        )

        examples = np.array([float_example(pixels=row) for row in self.x], dtype=object)
        outputs = _call(tf.saved_model.load(path), "classify", inputs=examples)
        self.assertAllClose(outputs["scores"], predict(model, self.x), atol=1e-6)
        self.assertAllEqual(
            outputs["classes"], np.tile([str(i).encode() for i in range(10)], (len(self.x), 1))
        )

    def test_regress_signature_on_examples(self):
        model = diabetes_regressor(epochs=1)
        x = diabetes()[0][:12]
        path = export_for_serving(model, self.base, "diabetes", example_spec=DIABETES_SPEC)
        infos = inspect_saved_model(path)
        self.assertEqual(set(infos), {"serving_default", "regress"})  # not a classifier
        sig = _signature_defs(path)["regress"]
        self.assertEqual(sig.method_name, "tensorflow/serving/regress")
        self.assertEqual(list(sig.outputs), ["outputs"])
        self.assertEqual([d.size for d in sig.outputs["outputs"].tensor_shape.dim], [-1])
        self.assertEqual(set(_signature_defs(path)["serving_default"].outputs), {"value"})

        examples = np.array([float_example(features=row) for row in x], dtype=object)
        outputs = _call(tf.saved_model.load(path), "regress", inputs=examples)
        self.assertAllClose(outputs["outputs"], predict(model, x)[:, 0], atol=1e-5)

    def test_several_example_features_are_concatenated_in_order(self):
        inputs = keras.Input((3,), name="x")
        model = keras.Model(inputs, keras.layers.Dense(1, name="y")(inputs))
        spec = {
            "f1": tf.io.FixedLenFeature([1], tf.float32),
            "f2": tf.io.FixedLenFeature([2], tf.int64),
        }
        path = export_for_serving(model, self.base, "feat", example_spec=spec)
        rows = [(0.5, (2, -3)), (-1.5, (0, 7))]
        examples = np.array(
            [
                tf.train.Example(
                    features=tf.train.Features(
                        feature={
                            "f1": tf.train.Feature(float_list=tf.train.FloatList(value=[f1])),
                            "f2": tf.train.Feature(int64_list=tf.train.Int64List(value=list(f2))),
                        }
                    )
                ).SerializeToString()
                for f1, f2 in rows
            ],
            dtype=object,
        )
        outputs = _call(tf.saved_model.load(path), "regress", inputs=examples)
        x = np.array([[f1, *f2] for f1, f2 in rows], "float32")
        self.assertAllClose(outputs["outputs"], predict(model, x)[:, 0], atol=1e-5)

    def test_multi_input_model(self):
        a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
        model = keras.Model(
            [a, b], keras.layers.Dense(1, name="y")(keras.layers.Concatenate()([a, b]))
        )
        rng = np.random.default_rng(0)
        xa, xb = (
            rng.standard_normal((5, 3)).astype("float32"),
            rng.standard_normal((5, 2)).astype("float32"),
        )
        path = export_for_serving(model, self.base, "two", warmup_data={"a": xa, "b": xb})
        sig = _signature_defs(path)["serving_default"]
        self.assertEqual(set(sig.inputs), {"a", "b"})
        outputs = _call(tf.saved_model.load(path), "serving_default", a=xa, b=xb)
        self.assertAllClose(outputs["y"], predict(model, [xa, xb]), atol=1e-6)
        with self.assertRaisesRegex(ValueError, r"argument `example_spec`"):
            export_for_serving(
                model, self.base, "two", example_spec={"a": tf.io.FixedLenFeature([3], tf.float32)}
            )
        with self.assertRaisesRegex(ValueError, r"argument `warmup_data`"):
            export_for_serving(
                model, self.base, "two", warmup_data=xa
            )  # needs a dict for two inputs
        self.assertEqual(leftovers(os.path.join(self.base, "two")), [])

    def test_preprocessing_is_baked_in(self):
        model = digits_classifier(epochs=0)
        raw_in = keras.Input((64,), name="raw")
        preprocessing = keras.Model(raw_in, keras.layers.Rescaling(1 / 8.0, offset=-1.0)(raw_in))
        raw = np.random.default_rng(0).integers(0, 17, (10, 64)).astype("float32")
        expected = predict(model, raw / 8.0 - 1.0)
        path = export_for_serving(
            model, self.base, "digits", preprocessing=preprocessing, example_spec=PIXELS_SPEC
        )
        loaded = tf.saved_model.load(path)
        self.assertAllClose(
            _call(loaded, "serving_default", pixels=raw)["digit"], expected, atol=1e-6
        )
        examples = np.array([float_example(pixels=row) for row in raw], dtype=object)
        self.assertAllClose(
            _call(loaded, "classify", inputs=examples)["scores"], expected, atol=1e-6
        )
        self.assertNotAllClose(predict(model, raw), expected)

    def test_mc_uncertainty_matches_monte_carlo(self):
        model = digits_classifier(epochs=1, dropout=0.5)
        samples = 200
        path = export_for_serving(model, self.base, "digits", mc_samples=samples)
        sig = _signature_defs(path)["mc_uncertainty"]
        self.assertEqual(list(sig.inputs), ["pixels"])
        self.assertEqual(set(sig.outputs), {"mean", "std"})

        x = self.x[:4]
        outputs = _call(tf.saved_model.load(path), "mc_uncertainty", pixels=x)
        # Independent Monte Carlo reference: 4000 dropout-on passes of the Keras model.
        reference = np.stack(
            [
                np.asarray(model(np.tile(x, (500, 1)), training=True)).reshape(500, len(x), 10)
                for _ in range(8)
            ]
        ).reshape(4000, len(x), 10)
        ref_mean, ref_std = reference.mean(axis=0), reference.std(axis=0)
        bound = 5 * ref_std * np.sqrt(1 / samples + 1 / len(reference)) + 1e-4
        error = np.abs(outputs["mean"] - ref_mean)
        self.assertTrue(np.all(error <= bound), msg=error / bound)
        self.assertTrue(np.all(outputs["std"] > 0))
        self.assertAllClose(outputs["std"], ref_std, rtol=0.35, atol=2e-3)
        # Not the deterministic prediction: the dropout was really on.
        self.assertGreater(float(outputs["std"].max()), 1e-2)

    @rejects_bad_input(export_for_serving)
    def test_mc_samples_needs_dropout(self):
        model = digits_classifier(epochs=0, dropout=0)
        with self.assertRaisesRegex(ValueError, r"argument `mc_samples`"):
            export_for_serving(model, self.base, "digits", mc_samples=10)
        model_dir = os.path.join(self.base, "digits")
        self.assertFalse(os.path.isdir(model_dir) and os.listdir(model_dir))
        with self.assertRaisesRegex(ValueError, r"argument `mc_samples`"):
            export_for_serving(digits_classifier(epochs=0), self.base, "digits", mc_samples=1)
