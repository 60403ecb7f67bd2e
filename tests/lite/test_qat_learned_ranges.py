"""A trained QAT model converts to int8 from its learned ranges, without representative data.

tfmot's QAT example converts with only `optimizations = [DEFAULT]`: the
FakeQuant ranges learned in training are the calibration. `convert(qat,
mode="int8")` used to demand `representative_data`.
"""

import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.lite import models
from tests.lite.models import image_digits, run_tflite
from tfx_ext.lite import QuantizeAware, compare, convert, has_learned_ranges, quantize_aware

LOGITS = keras.losses.SparseCategoricalCrossentropy(from_logits=True)


def tfmot_example_model():
    """tfmot's training_example model on 8x8 digits (for 28x28 MNIST): Reshape, Conv2D 12 relu,
    MaxPool, Flatten, Dense 10 logits."""
    return keras.Sequential(
        [
            keras.Input((8, 8)),
            keras.layers.Reshape((8, 8, 1)),
            keras.layers.Conv2D(12, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10),
        ]
    )


def square(x):
    return np.asarray(x).reshape((-1, 8, 8))


@functools.lru_cache(maxsize=None)
def trained_qat():
    keras.utils.set_random_seed(0)
    x_train, y_train, _, _ = digits()
    model = tfmot_example_model()
    model.compile("adam", LOGITS, metrics=["accuracy"])
    model.fit(square(x_train), y_train, epochs=5, batch_size=32, verbose=0)
    qat = quantize_aware(model)
    qat.compile("adam", LOGITS, metrics=["accuracy"])
    qat.fit(square(x_train), y_train, epochs=2, batch_size=32, verbose=0)
    return qat


class LearnedRangesTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_the_input_range_is_learned_by_the_layer_fed_by_the_input(self):
        qat = trained_qat()
        wrappers = [layer for layer in qat.layers if isinstance(layer, QuantizeAware)]
        self.assertEqual(
            [w.quantize_inputs for w in wrappers], [True, False]
        )  # through the Reshape
        low, high = (float(np.asarray(v)) for v in wrappers[0].input_range)
        x_train = square(digits()[0])
        # A moving average of batch min/max (with 0): inside the data's extremes, around them.
        self.assertLess(low, 0.0)
        self.assertGreaterEqual(low, x_train.min() - 1e-5)
        self.assertLessEqual(high, x_train.max() + 1e-5)
        self.assertGreater(high, 0.0)

    def test_int8_without_representative_data_agrees_with_the_qat_model(self):
        qat = trained_qat()
        _, _, x_test, y_test = digits()
        last = qat.layers[-1]
        # The logits are quantized on the last layer's learned grid: the integer model
        # and the fake-quant model may round a value near a half step to neighbouring
        # levels, so they differ by at most one step.
        step = (float(np.asarray(last.output_max)) - float(np.asarray(last.output_min))) / 255
        for io_type in ("float32", "int8"):
            result = convert(
                qat, "int8", inference_input_type=io_type, inference_output_type=io_type
            )
            self.assertEqual(result.float_ops, [], io_type)
            report = compare(qat, result, square(x_test), y_test)
            self.assertTrue(report.finite)
            self.assertEqual(report.top1_agreement, 1.0, io_type)
            self.assertLessEqual(report.max_abs_diff, 1.01 * step, io_type)
            self.assertLessEqual(report.mean_abs_diff, 0.1 * step, io_type)
            self.assertGreater(report.keras_accuracy, 0.85)
            # Independent of compare: the raw interpreter on the test split.
            got = run_tflite(result.content, square(x_test))
            self.assertLessEqual(
                np.abs(got - qat.predict(square(x_test), verbose=0)).max(), 1.01 * step
            )

    @rejects_bad_input(has_learned_ranges)
    def test_detection(self):
        # A predicate: anything that is not a trained QAT model is simply "no".
        for not_a_model in (None, object(), 3, keras.layers.Dense(3)):
            self.assertFalse(has_learned_ranges(not_a_model))
        self.assertFalse(has_learned_ranges(tfmot_example_model()))
        untrained = quantize_aware(tfmot_example_model())
        self.assertFalse(has_learned_ranges(untrained))  # ranges start at [0, 0]
        self.assertTrue(has_learned_ranges(trained_qat()))
        self.assertFalse(has_learned_ranges("/some/saved_model"))

    def test_untrained_qat_model_still_needs_representative_data(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `representative_data`.*Received: representative_data=None"
        ):
            convert(quantize_aware(tfmot_example_model()), "int8")
        # int16x8 calibrates its 16-bit ranges on data, QAT or not; a trained
        # model must not be told its ranges "were never learned".
        with self.assertRaisesRegex(ValueError, r"argument `representative_data`") as raised:
            convert(trained_qat(), "int16x8")
        self.assertNotIn("never learned", str(raised.exception))

    def test_litert_quantizer_does_not_read_learned_ranges(self):
        with self.assertRaisesRegex(
            ValueError, r"argument `representative_data`.*litert_quantizer.*engine='converter'"
        ):
            convert(trained_qat(), "int8", engine="litert_quantizer")

    @pytest.mark.slow
    def test_ranges_that_miss_tensors_are_named_and_data_fills_them(self):
        # SELU runs as several int8 ops (integer_friendly_selu) whose inner tensors
        # have no learned range: refuse, naming them, instead of leaving them float.
        keras.utils.set_random_seed(0)
        x_train, y_train, x_test, y_test = digits()
        selu = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(16, activation="selu", kernel_initializer="lecun_normal"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        qat = models.fit(quantize_aware(selu), x_train, y_train, epochs=3)
        self.assertTrue(has_learned_ranges(qat))
        with self.assertRaisesRegex(
            ValueError, r"do not cover every tensor.*#\d+.*Pass representative_data"
        ):
            convert(qat, "int8")
        result = convert(qat, "int8", representative_data=x_train)
        self.assertEqual(result.float_ops, [])
        self.assertGreaterEqual(compare(qat, result, x_test, y_test).top1_agreement, 0.97)

    def test_cnn_with_softmax_output(self):
        keras.utils.set_random_seed(0)
        x_train, y_train, x_test, y_test = image_digits()
        qat = models.fit(quantize_aware(models.build_cnn()), x_train, y_train, epochs=4)
        wrapper = qat.layers[-1]
        self.assertTrue(
            wrapper.quantizes_pre_activation
        )  # softmax is not fused: its input has a range
        result = convert(qat, "int8")
        self.assertEqual(result.float_ops, [])
        report = compare(qat, result, x_test, y_test)
        self.assertGreaterEqual(report.top1_agreement, 0.99)
        self.assertLessEqual(report.accuracy_drop, 0.01)
