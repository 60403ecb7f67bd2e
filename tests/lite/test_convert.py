import importlib
import os
import pathlib
import tempfile
import warnings
from unittest import mock

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.lite import models
from tests.lite.models import accuracy, agreement, image_digits, ops_and_tensors, run_tflite
from tfx_ext.lite import ConversionResult, convert

convert_module = importlib.import_module("tfx_ext.lite.convert")

LINEAR_OPS = ("CONV_2D", "FULLY_CONNECTED")


def predictions(model, x):
    return np.asarray(model.predict(x, verbose=0), "float32")


def linear_ops(content):
    found = [
        (name, inputs, outputs)
        for name, inputs, outputs in ops_and_tensors(content)
        if name in LINEAR_OPS
    ]
    assert found, "no CONV_2D / FULLY_CONNECTED op in the model"
    return found


def one_op_model(fn):
    """Dense 6 -> Lambda(fn) -> Dense 3: a model with one unusual op in the middle."""
    inputs = keras.Input((6,))
    h = keras.layers.Dense(6)(inputs)
    h = keras.layers.Lambda(fn)(h)
    return keras.Model(inputs, keras.layers.Dense(3)(h))


class ModesTest(tf.test.TestCase):
    """Every mode with the converter engine on the digits CNN, against the Keras model."""

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.model = models.cnn()
        _, _, self.x_test, self.y_test = image_digits()
        self.expected = predictions(self.model, self.x_test)

    def outputs(self, mode, engine="converter", io_type="float32"):
        result = models.converted("cnn", mode, engine, io_type)
        self.assertIsInstance(result, ConversionResult)
        self.assertEqual((result.mode, result.engine, result.path), (mode, engine, None))
        self.assertEqual(result.size, len(result.content))
        return run_tflite(result.content, self.x_test)

    def assertClassifiesLikeKeras(self, got, min_agreement=0.97, max_drop=0.01):
        self.assertGreaterEqual(agreement(got, self.expected), min_agreement)
        self.assertLessEqual(
            accuracy(self.expected, self.y_test) - accuracy(got, self.y_test), max_drop
        )

    def test_keras_model_is_trained(self):
        self.assertGreater(accuracy(self.expected, self.y_test), 0.9)

    def test_float32_matches_keras(self):
        got = self.outputs("float32")
        self.assertLessEqual(np.abs(got - self.expected).max(), 1e-5)
        self.assertEqual(models.converted("cnn", "float32").float_ops, [])

    def test_float16_matches_keras_and_stores_half_weights(self):
        got = self.outputs("float16")
        self.assertLessEqual(np.abs(got - self.expected).max(), 1e-2)
        content = models.converted("cnn", "float16").content
        produced_by = {}
        for name, inputs, outputs in ops_and_tensors(content):
            for tensor in outputs:
                produced_by[tensor["index"]] = (name, inputs)
        for name, inputs, _ in linear_ops(content):
            # The float32 weights are DEQUANTIZE(float16 constant).
            producer, producer_inputs = produced_by[inputs[1]["index"]]
            self.assertEqual(producer, "DEQUANTIZE", name)
            self.assertEqual(producer_inputs[0]["dtype"], np.float16, name)
        self.assertLess(
            models.converted("cnn", "float16").size, models.converted("cnn", "float32").size
        )

    def test_dynamic_range_classifies_like_keras(self):
        self.assertClassifiesLikeKeras(self.outputs("dynamic_range"))

    def test_int8_classifies_like_keras_and_is_fully_integer(self):
        self.assertClassifiesLikeKeras(self.outputs("int8"))
        result = models.converted("cnn", "int8")
        self.assertEqual(result.float_ops, [])
        self.assertEqual(result.select_tf_ops, [])
        self.assertLess(result.size, models.converted("cnn", "float32").size)
        for name, inputs, outputs in linear_ops(result.content):
            activations, weights, bias = inputs
            self.assertEqual(weights["dtype"], np.int8, name)
            self.assertEqual(activations["dtype"], np.int8, name)
            self.assertEqual(outputs[0]["dtype"], np.int8, name)
            self.assertEqual(bias["dtype"], np.int32, name)
            if name == "CONV_2D":  # per output channel
                self.assertLen(weights["quantization_parameters"]["scales"], 8)
        names = [name for name, _, _ in ops_and_tensors(result.content)]
        self.assertEqual(
            (names[0], names[-1]), ("QUANTIZE", "DEQUANTIZE")
        )  # float32 I/O by default

    def test_int16x8_matches_keras_closely(self):
        got = self.outputs("int16x8")
        # 16-bit activations: closer to float than int8 (whose max difference is ~0.08 here).
        self.assertLessEqual(np.abs(got - self.expected).max(), 0.06)
        self.assertLessEqual(
            np.abs(got - self.expected).max(), np.abs(self.outputs("int8") - self.expected).max()
        )
        self.assertClassifiesLikeKeras(got, min_agreement=0.98, max_drop=0.01)
        result = models.converted("cnn", "int16x8")
        self.assertEqual(result.float_ops, [])
        for name, inputs, outputs in linear_ops(result.content):
            self.assertEqual(inputs[0]["dtype"], np.int16, name)
            self.assertEqual(inputs[1]["dtype"], np.int8, name)
            self.assertEqual(outputs[0]["dtype"], np.int16, name)

    def test_integer_input_and_output_types(self):
        float_io = self.outputs("int8")
        for io_type, dtype in (("int8", np.int8), ("uint8", np.uint8)):
            result = models.converted("cnn", "int8", io_type=io_type)
            interpreter = models.interpreter(result.content)
            self.assertEqual(interpreter.get_input_details()[0]["dtype"], dtype, io_type)
            self.assertEqual(interpreter.get_output_details()[0]["dtype"], dtype, io_type)
            self.assertEqual(result.float_ops, [], io_type)
            # Same integer model inside: dequantized outputs equal the float-I/O model's
            # up to one output step (1/256 for a softmax).
            got = self.outputs("int8", io_type=io_type)
            self.assertLessEqual(np.abs(got - float_io).max(), 1 / 256 + 1e-6, io_type)
            self.assertClassifiesLikeKeras(got)
            # compare() quantizes the float inputs itself.
            report = models.report("cnn", "int8", io_type=io_type)
            self.assertGreaterEqual(report.top1_agreement, 0.97, io_type)
            self.assertLessEqual(report.accuracy_drop, 0.01, io_type)


class SizesTest(tf.test.TestCase):
    """File sizes on the 300k-weight MLP, where the weights dominate the flatbuffer.

    (The small CNN has ~800 weights: its flatbuffer overhead dominates, and the
    converter leaves tensors under 1024 elements in float in dynamic range mode.)
    """

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.float32 = models.converted("mlp", "float32").size
        n_weights = models.mlp().count_params()
        self.assertGreater(self.float32, 4 * n_weights)
        self.assertLess(self.float32, 4 * n_weights * 1.02)

    def test_float16_is_half(self):
        ratio = self.float32 / models.converted("mlp", "float16").size
        self.assertBetween(ratio, 1.9, 2.0)

    def test_dynamic_range_and_int8_are_over_3_5x_smaller(self):
        for mode in ("dynamic_range", "int8"):
            self.assertGreaterEqual(self.float32 / models.converted("mlp", mode).size, 3.5, mode)
        self.assertGreaterEqual(
            self.float32 / models.converted("mlp", "int8", "litert_quantizer").size, 3.5
        )

    def test_weights_are_int8_and_outputs_agree(self):
        x_test, y_test = digits()[2:]
        expected = predictions(models.mlp(), x_test)
        for mode, engine in (
            ("dynamic_range", "converter"),
            ("int8", "converter"),
            ("int8", "litert_quantizer"),
        ):
            content = models.converted("mlp", mode, engine).content
            for name, inputs, _ in linear_ops(content):
                self.assertEqual(inputs[1]["dtype"], np.int8, (mode, engine, name))
                # dynamic range: activations stay float
                self.assertEqual(
                    inputs[0]["dtype"], np.float32 if mode == "dynamic_range" else np.int8
                )
            got = run_tflite(content, x_test)
            self.assertGreaterEqual(agreement(got, expected), 0.98, (mode, engine))
            self.assertLessEqual(
                accuracy(expected, y_test) - accuracy(got, y_test), 0.01, (mode, engine)
            )


class LiteRTQuantizerEngineTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        _, _, self.x_test, self.y_test = image_digits()
        self.expected = predictions(models.cnn(), self.x_test)

    def test_float32_is_the_converter_float_model(self):
        result = models.converted("cnn", "float32", "litert_quantizer")
        self.assertEqual(result.engine, "litert_quantizer")
        self.assertLessEqual(
            np.abs(run_tflite(result.content, self.x_test) - self.expected).max(), 1e-5
        )

    def test_quantized_modes_classify_like_keras(self):
        # Looser than the converter: litert-quantizer's ranges are moving averages of
        # per-example min/max, so rare large inputs are clipped.
        bounds = (("dynamic_range", 0.98, 0.01), ("int8", 0.97, 0.015), ("int16x8", 0.97, 0.015))
        for mode, min_agreement, max_drop in bounds:
            result = models.converted("cnn", mode, "litert_quantizer")
            self.assertEqual(
                (result.mode, result.engine, result.float_ops), (mode, "litert_quantizer", [])
            )
            got = run_tflite(result.content, self.x_test)
            self.assertGreaterEqual(agreement(got, self.expected), min_agreement, mode)
            self.assertLessEqual(
                accuracy(self.expected, self.y_test) - accuracy(got, self.y_test), max_drop, mode
            )
            weight_type = np.int8
            for name, inputs, _ in linear_ops(result.content):
                self.assertEqual(inputs[1]["dtype"], weight_type, (mode, name))
            if mode == "dynamic_range":
                self.assertLessEqual(np.abs(got - self.expected).max(), 0.05)

    def test_library_warnings_are_kept_quiet(self):
        model = one_op_model(ops.relu)
        x = np.random.default_rng(0).standard_normal((32, 6)).astype("float32")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = convert(model, "int8", representative_data=x, engine="litert_quantizer")
        self.assertEqual(
            [str(w.message) for w in caught if "litert" in w.filename or "ai_edge" in w.filename],
            [],
        )
        self.assertEqual(result.float_ops, [])

    def test_float16_is_refused(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `engine`.*float16.*Received: engine='litert_quantizer'"
        ):
            convert(models.cnn(), "float16", engine="litert_quantizer")


class InputKindsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_saved_model_directory(self):
        model = models.cnn()
        x_train, _, x_test, y_test = image_digits()
        expected = predictions(model, x_test)
        with tempfile.TemporaryDirectory() as tmp:
            export_dir = os.path.join(tmp, "exported")
            model.export(export_dir, format="tf_saved_model", verbose=False)
            result = convert(pathlib.Path(export_dir), "float32")
            self.assertLessEqual(np.abs(run_tflite(result.content, x_test) - expected).max(), 1e-5)
            result = convert(export_dir, "int8", representative_data=x_train)
        self.assertEqual(result.float_ops, [])
        got = run_tflite(result.content, x_test)
        self.assertGreaterEqual(agreement(got, expected), 0.97)
        self.assertLessEqual(accuracy(expected, y_test) - accuracy(got, y_test), 0.01)

    def test_tf_keras_model(self):
        model = models.tf_keras_mlp()
        x_train, _, x_test, y_test = digits()
        expected = predictions(model, x_test)
        self.assertGreater(accuracy(expected, y_test), 0.9)
        result = convert(model, "float32")
        self.assertLessEqual(np.abs(run_tflite(result.content, x_test) - expected).max(), 1e-5)
        result = convert(model, "int8", representative_data=x_train)
        self.assertEqual(result.float_ops, [])
        got = run_tflite(result.content, x_test)
        self.assertGreaterEqual(agreement(got, expected), 0.97)
        self.assertLessEqual(accuracy(expected, y_test) - accuracy(got, y_test), 0.01)

    @rejects_bad_input(convert)
    def test_bad_models(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `model`.*SavedModel directory.*Received: model='/no/such/dir'"
        ):
            convert("/no/such/dir")
        with tempfile.NamedTemporaryFile(suffix=".keras") as f:
            with self.assertRaisesRegex(ValueError, r"argument `model`.*SavedModel directory"):
                convert(f.name)
        a, b = keras.Input((3,)), keras.Input((3,))
        with self.assertRaisesRegex(ValueError, r"argument `model`.*one input"):
            convert(keras.Model([a, b], keras.layers.Add()([a, b])))
        with self.assertRaisesRegex(ValueError, r"argument `model`"):
            convert(object())


class OpsAnalysisTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x = np.random.default_rng(0).standard_normal((64, 6)).astype("float32")

    def test_float_fallback_is_reported(self):
        # SIN has no int8 kernel: the converter keeps it in float between DEQUANTIZE/QUANTIZE.
        model = one_op_model(ops.sin)
        result = convert(model, "int8", representative_data=self.x)
        self.assertLen(result.float_ops, 1)
        self.assertStartsWith(result.float_ops[0], "SIN#")
        (sin,) = [
            (inputs, outputs)
            for name, inputs, outputs in ops_and_tensors(result.content)
            if name == "SIN"
        ]
        self.assertEqual(sin[0][0]["dtype"], np.float32)
        self.assertEqual(sin[1][0]["dtype"], np.float32)
        expected = predictions(model, self.x)
        got = run_tflite(result.content, self.x)
        self.assertLessEqual(np.abs(got - expected).max(), 0.1 * np.abs(expected).max())

    def test_float_modes_report_no_float_ops(self):
        result = convert(one_op_model(ops.sin), "dynamic_range")
        self.assertEqual(result.float_ops, [])

    def test_op_without_builtin_kernel_is_named(self):
        model = one_op_model(ops.arctan)
        with self.assertRaises(ValueError) as raised:
            convert(model, "float32")
        message = str(raised.exception)
        self.assertIn(
            "no builtin kernel for these ops: Atan. Pass allow_select_tf_ops=True", message
        )
        self.assertNotIn("entry_function", message)
        self.assertIsNotNone(raised.exception.__cause__)

    def test_select_tf_ops_are_listed(self):
        model = one_op_model(ops.arctan)
        result = convert(model, "float32", allow_select_tf_ops=True)
        self.assertEqual(result.select_tf_ops, ["FlexAtan"])
        self.assertEqual(result.float_ops, [])
        result = convert(model, "dynamic_range", allow_select_tf_ops=True)
        self.assertEqual(result.select_tf_ops, ["FlexAtan"])

    def test_unsupported_ops_message_parsing(self):
        message = (
            "<unknown>:0: error: 'tf.Erfinv' op is neither a custom op nor a flex op\n"
            "<unknown>:0: error: 'tf.MatrixInverse' op is neither a custom op nor a flex op\n"
            "Some ops are not supported by the native TFLite runtime\nTF Select ops: Erfinv, MatrixInverse\n"
            "Details:\n\ttf.Erfinv(tensor<?x6xf32>) -> (tensor<?x6xf32>)\n"
            '}) {tf.entry_function = {control_outputs = "", inputs = "x:0"}, tf_saved_model.exported_names = []}'
        )
        original = RuntimeError(message)
        with self.assertRaises(ValueError) as raised:
            convert_module._raise_unsupported_ops(original)
        self.assertIn(
            "for these ops: Erfinv, MatrixInverse. Pass allow_select_tf_ops=True",
            str(raised.exception),
        )
        self.assertIs(raised.exception.__cause__, original)
        other = RuntimeError("something else is not supported")
        with self.assertRaises(RuntimeError) as raised:
            convert_module._raise_unsupported_ops(other)
        self.assertIs(raised.exception, other)


class NormalizationWarningTest(tf.test.TestCase):
    """Integer modes warn when a Normalization layer's 1/std factors span orders of magnitude."""

    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def model(self, feature_scales):
        x = self.rng.standard_normal((256, len(feature_scales))) * np.asarray(feature_scales)
        normalization = keras.layers.Normalization(name="norm")
        normalization.adapt(x.astype("float32"))
        inputs = keras.Input((len(feature_scales),))
        return keras.Model(inputs, keras.layers.Dense(2)(normalization(inputs)))

    def test_wide_factors_warn_in_integer_modes_when_not_folded(self):
        model = self.model([1.0, 2.0, 0.5, 1.0, 1e-4])  # one near-constant feature: factor 1e4
        bad = np.zeros((4, 3), "float32")  # fails after the check, before any conversion
        for mode in ("int8", "int16x8"):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                with self.assertRaisesRegex(ValueError, "argument `representative_data`"):
                    convert(model, mode, representative_data=bad, fold_normalization=False)
            (warning,) = [w for w in caught if "scales its features" in str(w.message)]
            self.assertIn("Layer 'norm' scales its features by factors from", str(warning.message))
            self.assertIn("folding was turned off", str(warning.message))
            self.assertIn(
                f"{mode} quantizes its output with one per-tensor scale", str(warning.message)
            )
            self.assertEqual(warning.filename, __file__)  # points at the caller

    def test_folded_normalization_does_not_warn(self):
        model = self.model([1.0, 2.0, 0.5, 1.0, 1e-4])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with self.assertRaisesRegex(ValueError, "argument `representative_data`"):
                convert(model, "int8", representative_data=np.zeros((4, 3), "float32"))
        self.assertEqual(
            [str(w.message) for w in caught if "scales its features" in str(w.message)], []
        )

    def test_unfoldable_normalization_warns_with_the_reason(self):
        x = self.rng.standard_normal((256, 3)) * np.asarray([1.0, 1e-4, 2.0])
        normalization = keras.layers.Normalization(name="norm")
        normalization.adapt(x.astype("float32"))
        inputs = keras.Input((3,))
        hidden = keras.layers.Activation("tanh", name="squash")(normalization(inputs))
        model = keras.Model(inputs, keras.layers.Dense(2)(hidden))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with self.assertRaisesRegex(ValueError, "argument `representative_data`"):
                convert(model, "int8", representative_data=np.zeros((4, 2), "float32"))
        (warning,) = [w for w in caught if "scales its features" in str(w.message)]
        self.assertIn(
            "it feeds 'squash' (Activation), not a Dense or Conv layer", str(warning.message)
        )

    def test_even_factors_do_not_warn(self):
        model = self.model([1.0, 3.0, 0.2, 1.0, 5.0])
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with self.assertRaisesRegex(ValueError, "argument `representative_data`"):
                convert(model, "int8", representative_data=np.zeros((4, 3), "float32"))
        self.assertEqual(
            [str(w.message) for w in caught if "scales its features" in str(w.message)], []
        )


class OutputPathTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        tmp = tempfile.TemporaryDirectory()
        self.addCleanup(tmp.cleanup)
        self.tmp = tmp.name

    def listing(self, directory=None):
        return sorted(os.listdir(directory or self.tmp))

    def test_written_atomically(self):
        path = os.path.join(self.tmp, "nested", "cnn.tflite")
        result = convert(models.cnn(), "float32", output_path=path)
        self.assertEqual(result.path, path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), result.content)
        self.assertEqual(self.listing(os.path.dirname(path)), ["cnn.tflite"])
        # Overwriting an existing file, from a pathlib.Path.
        result = convert(models.cnn(), "float16", output_path=pathlib.Path(path))
        self.assertEqual(result.path, path)
        with open(path, "rb") as f:
            self.assertEqual(f.read(), models.converted("cnn", "float16").content)
        self.assertEqual(self.listing(os.path.dirname(path)), ["cnn.tflite"])

    def test_nothing_written_when_arguments_are_bad(self):
        path = os.path.join(self.tmp, "cnn.tflite")
        with self.assertRaisesRegex(ValueError, "argument `representative_data`"):
            convert(models.cnn(), "int8", output_path=path)
        self.assertEqual(self.listing(), [])

    def test_nothing_written_when_the_converter_fails(self):
        path = os.path.join(self.tmp, "cnn.tflite")
        converter = mock.MagicMock()
        converter.convert.side_effect = RuntimeError("converter exploded")
        with mock.patch.object(tf.lite.TFLiteConverter, "from_saved_model", return_value=converter):
            with self.assertRaisesRegex(RuntimeError, "converter exploded"):
                convert(models.cnn(), "float32", output_path=path)
        self.assertEqual(self.listing(), [])

    def test_failed_rename_keeps_the_old_file_and_no_temporary(self):
        path = os.path.join(self.tmp, "cnn.tflite")
        with open(path, "wb") as f:
            f.write(b"old")
        real_replace = os.replace

        def failing_replace(src, dst, *args, **kwargs):
            if os.path.basename(src).startswith(".tmp-"):
                raise OSError("disk full")
            return real_replace(src, dst, *args, **kwargs)

        with mock.patch.object(convert_module.os, "replace", side_effect=failing_replace):
            with self.assertRaisesRegex(OSError, "disk full"):
                convert(models.cnn(), "float32", output_path=path)
        self.assertEqual(self.listing(), ["cnn.tflite"])
        with open(path, "rb") as f:
            self.assertEqual(f.read(), b"old")


class BadArgumentsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.model = models.cnn()
        self.x = image_digits()[0][:20]

    @rejects_bad_input(convert)
    def test_choices(self):
        cases = [
            ({"mode": "int4"}, "mode", r"'float32', 'float16'.*Received: mode='int4'"),
            ({"engine": "tflite"}, "engine", "Received: engine='tflite'"),
            (
                {"inference_input_type": "int16"},
                "inference_input_type",
                "Received: inference_input_type='int16'",
            ),
            (
                {"inference_output_type": "float16"},
                "inference_output_type",
                "inference_output_type='float16'",
            ),
            # Integer I/O outside int8 mode: the error names the argument that is not float32.
            (
                {"mode": "float16", "inference_input_type": "int8"},
                "inference_input_type",
                r"mode='int8'.*='int8'",
            ),
            (
                {"mode": "dynamic_range", "inference_output_type": "uint8"},
                "inference_output_type",
                "='uint8'",
            ),
            (
                {"mode": "int8", "engine": "litert_quantizer", "inference_output_type": "uint8"},
                "inference_output_type",
                "litert_quantizer.*no uint8.*='uint8'",
            ),
            (
                {"mode": "int16x8", "inference_input_type": "int8"},
                "inference_input_type",
                "int16x8.*='int8'",
            ),
            ({"mode": "int8", "num_calibration_samples": 0}, "num_calibration_samples", ">= 1"),
        ]
        for kwargs, argument, detail in cases:
            pattern = rf"Invalid value received for argument `{argument}`.*{detail}"
            with self.assertRaisesRegex(ValueError, pattern, msg=str(kwargs)):
                convert(self.model, representative_data=self.x, **kwargs)
        with self.assertRaisesRegex(TypeError, r"argument `num_calibration_samples`.*an integer"):
            convert(self.model, "int8", representative_data=self.x, num_calibration_samples=2.5)
