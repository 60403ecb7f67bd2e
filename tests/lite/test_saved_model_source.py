"""SavedModel directories given to `convert`: the book's `tf.saved_model.save` folder and `model.export`.

Hands-On ML ch. 19 saves a Keras model with `tf.saved_model.save(model,
"my_model/0001")` for TF Serving; TF 2.21's `TFLiteConverter.from_saved_model`
turns that folder into a model without its weights (NaN or garbage outputs,
no error). `convert` must give the Keras model's outputs for it, or refuse.
"""

import os
import tempfile
from unittest import mock

import keras
import numpy as np
import tensorflow as tf

from tests.datasets import digits
from tests.lite import models
from tests.lite.models import accuracy, agreement, run_tflite
from tfx_ext.lite import convert, saved_model_source


def small_mlp():
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    x_train, y_train, _, _ = digits()
    return models.fit(model, x_train, y_train, epochs=5)


class SavedModelDirectoryTest(tf.test.TestCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.model = small_mlp()
        cls.tmp = tempfile.TemporaryDirectory()
        cls.saved = os.path.join(cls.tmp.name, "my_model", "0001")
        tf.saved_model.save(cls.model, cls.saved)
        cls.exported = os.path.join(cls.tmp.name, "exported")
        cls.model.export(cls.exported, format="tf_saved_model", verbose=False)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()
        super().tearDownClass()

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x_train, _, self.x_test, self.y_test = digits()
        self.expected = self.model.predict(self.x_test, verbose=0)

    def test_tensorflow_converter_alone_loses_the_weights(self):
        # The bug this module works around; when TensorFlow fixes it, this fails
        # and the fallback route can go.
        content = tf.lite.TFLiteConverter.from_saved_model(self.saved).convert()
        got = run_tflite(content, self.x_test)
        self.assertFalse(np.all(np.isfinite(got)) and np.abs(got - self.expected).max() < 1e-3)
        # And TensorFlow itself serves the folder right.
        served = tf.saved_model.load(self.saved).signatures["serving_default"](
            tf.constant(self.x_test)
        )
        self.assertAllClose(next(iter(served.values())), self.expected, atol=1e-6)

    def test_both_folders_convert_to_the_keras_model(self):
        for folder in (self.saved, self.exported):
            result = convert(folder)
            got = run_tflite(result.content, self.x_test)
            self.assertAllClose(got, self.expected, atol=1e-5, msg=folder)
            # The weights are in the file: 64*16 + 16 + 16*10 + 10 float32 values.
            self.assertGreater(result.size, 4 * (64 * 16 + 16 + 16 * 10 + 10), folder)
            quantized = convert(folder, "int8", representative_data=self.x_train)
            got = run_tflite(quantized.content, self.x_test)
            self.assertGreaterEqual(agreement(got, self.expected), 0.95, folder)
            self.assertLessEqual(
                accuracy(self.expected, self.y_test) - accuracy(got, self.y_test), 0.02, folder
            )

    def test_the_export_folder_keeps_the_direct_route(self):
        # The converters' classes tell the routes apart (TF 2.21 names).
        route = saved_model_source.directory_converter(self.exported, lambda c: c.convert())
        self.assertEqual(type(route()).__name__, "TFLiteSavedModelConverterV2")  # from_saved_model
        route = saved_model_source.directory_converter(self.saved, lambda c: c.convert())
        self.assertEqual(type(route()).__name__, "TFLiteConverterV2")  # from_concrete_functions

    def test_a_folder_no_route_converts_is_refused_with_what_to_pass(self):
        nan = {"output_0": np.full((4, 10), np.nan, "float32")}
        with mock.patch.object(saved_model_source, "_tflite_outputs", return_value=nan):
            with self.assertRaisesRegex(
                ValueError,
                r"outputs are not the SavedModel's.*from_saved_model: output 'output_0' is NaN/inf in 40 other places;"
                r" from_concrete_functions: .*Convert the Keras model itself.*model\.export",
            ):
                convert(self.saved)

    def test_a_folder_without_serving_signature_is_refused(self):
        module = tf.Module()
        module.v = tf.Variable(1.0)
        folder = os.path.join(self.tmp.name, "no_signature")
        tf.saved_model.save(module, folder)
        with self.assertRaisesRegex(ValueError, r"argument `model`.*'serving_default' signature"):
            convert(folder)


class _Atan(tf.Module):
    """y = atan(x * w): ATAN is a TF Select op for the converter."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable([[2.0, -1.0, 0.5]])

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    def __call__(self, x):
        return {"y": tf.math.atan(x * self.w)}


class _Log(tf.Module):
    """y = log(x) * w: NaN for the negative half of a normal probe, finite elsewhere."""

    def __init__(self, w):
        super().__init__()
        self.w = tf.Variable(w)

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    def __call__(self, x):
        return {"y": tf.math.log(x) * self.w}


class SavedModelProbeTest(tf.test.TestCase):
    def save(self, module):
        folder = os.path.join(self.get_temp_dir(), type(module).__name__)
        tf.saved_model.save(module, folder, signatures={"serving_default": module.__call__})
        return folder

    def test_a_folder_with_select_ops_converts_through_its_signature(self):
        # LiteRT's interpreter cannot run Flex ops, so no probe: the signature route reads the variables.
        folder = self.save(_Atan())
        result = convert(folder, allow_select_tf_ops=True)
        self.assertTrue(any("Atan" in op for op in result.select_tf_ops), result.select_tf_ops)
        with self.assertRaises(Exception):
            convert(folder)  # without Select ops, ATAN does not convert: loudly

    def test_non_finite_places_must_match_and_finite_values_must_agree(self):
        w = np.array([1.0, 2.0, 3.0], "float32")
        folder = self.save(_Log(w))
        result = convert(folder)
        x = np.abs(np.random.default_rng(1).standard_normal((5, 3))).astype("float32") + 0.1
        self.assertAllClose(run_tflite(result.content, x), np.log(x) * w, atol=1e-5)

        signature = tf.saved_model.load(folder).signatures["serving_default"]
        probe = saved_model_source._probe(signature.structured_input_signature[1]["x"])
        reference = {"y": np.asarray(signature(tf.constant(probe))["y"], np.float64)}
        self.assertFalse(np.all(np.isfinite(reference["y"])), "the probe must reach the NaN half")
        self.assertEqual(saved_model_source._differences(reference, dict(reference)), [])
        shifted = {"y": np.where(np.isfinite(reference["y"]), reference["y"] + 1.0, np.nan)}
        self.assertRegex(
            saved_model_source._differences(reference, shifted)[0],
            r"output 'y' \(max difference 1\)",
        )
        moved = {"y": np.nan_to_num(reference["y"])}
        self.assertRegex(
            saved_model_source._differences(reference, moved)[0], r"NaN/inf in \d+ other places"
        )
        all_nan = {"y": np.full_like(reference["y"], np.nan)}
        self.assertRegex(saved_model_source._differences(all_nan, all_nan)[0], "itself is NaN/inf")
