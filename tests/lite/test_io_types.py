"""The `.tflite` input and output dtypes are the ones asked for, for every engine and mode.

litert-quantizer's static recipes used to quantize the graph's input and
output as well, so `convert(..., mode="int8", engine="litert_quantizer")`
returned an int8-input model although `inference_input_type` defaulted to
"float32".
"""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.lite import models
from tests.lite.models import agreement, image_digits, run_tflite
from tfx_ext.lite import convert

FLOAT_ONLY = [("float32", "float32")]
INT8_CONVERTER = list(itertools.product(("float32", "int8", "uint8"), repeat=2))
INT8_LITERT = list(itertools.product(("float32", "int8"), repeat=2))
SUPPORTED = (
    [
        ("converter", mode, io)
        for mode in ("float32", "float16", "dynamic_range", "int16x8")
        for io in FLOAT_ONLY
    ]
    + [("converter", "int8", io) for io in INT8_CONVERTER]
    + [
        ("litert_quantizer", mode, io)
        for mode in ("float32", "dynamic_range", "int16x8")
        for io in FLOAT_ONLY
    ]
    + [("litert_quantizer", "int8", io) for io in INT8_LITERT]
)


def io_dtypes(content):
    interpreter = models.interpreter(content)
    (inputs,) = interpreter.get_input_details()
    (outputs,) = interpreter.get_output_details()
    return np.dtype(inputs["dtype"]).name, np.dtype(outputs["dtype"]).name


class IOTypesTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    @pytest.mark.slow
    def test_every_supported_combination(self):
        x_train, _, x_test, _ = image_digits()
        model = models.cnn()
        expected = model.predict(x_test, verbose=0)
        for engine, mode, (input_type, output_type) in SUPPORTED:
            case = f"{engine}, {mode}, in={input_type}, out={output_type}"
            result = convert(
                model,
                mode,
                representative_data=x_train,
                num_calibration_samples=100,
                engine=engine,
                inference_input_type=input_type,
                inference_output_type=output_type,
            )
            self.assertEqual(io_dtypes(result.content), (input_type, output_type), case)
            got = run_tflite(
                result.content, x_test
            )  # (de)quantizes integer I/O with the model's scales
            self.assertTrue(np.isfinite(got).all(), case)
            self.assertGreaterEqual(agreement(got, expected), 0.96, case)
            if mode in ("float32", "float16"):
                self.assertLessEqual(np.abs(got - expected).max(), 1e-2, case)
            if output_type != "float32":
                # An integer softmax output is one of 256 levels of 1/256: no finer.
                scale = models.interpreter(result.content).get_output_details()[0]["quantization"][
                    0
                ]
                self.assertAllClose(scale, 1 / 256, msg=case)

    def test_unsupported_combinations_are_refused(self):
        x = image_digits()[0][:20]
        cases = [
            (
                {"engine": "litert_quantizer", "inference_input_type": "uint8"},
                "inference_input_type",
            ),
            (
                {"engine": "litert_quantizer", "inference_output_type": "uint8"},
                "inference_output_type",
            ),
            (
                {"engine": "litert_quantizer", "mode": "int16x8", "inference_input_type": "int8"},
                "inference_input_type",
            ),
            (
                {
                    "engine": "litert_quantizer",
                    "mode": "dynamic_range",
                    "inference_output_type": "int8",
                },
                "inference_output_type",
            ),
        ]
        for kwargs, argument in cases:
            kwargs = {"mode": "int8", **kwargs}
            with self.assertRaisesRegex(ValueError, f"argument `{argument}`", msg=str(kwargs)):
                convert(models.cnn(), representative_data=x, **kwargs)
