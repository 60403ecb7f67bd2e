import functools

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.lite import models
from tests.lite.models import agreement, image_digits
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.lite import QuantizeAware, compare, convert, quantize_aware

SELU_ALPHA, SELU_SCALE = 1.6732632423543772, 1.0507009873554805
# Largest slope of each activation: how far an output moves per unit of pre-activation.
LIPSCHITZ = {"relu": 1.0, "selu": SELU_SCALE * SELU_ALPHA, "softmax": 0.5, "linear": 1.0}


def fake_quant_kernel(kernel, per_channel):
    """Symmetric narrow-range int8 fake quantization of a kernel, in NumPy (TF's nudged grid)."""
    kernel = np.asarray(kernel, "float64")
    axes = tuple(range(kernel.ndim - 1)) if per_channel else None
    bound = np.maximum(np.abs(kernel).max(axis=axes), 1e-8)
    scale = 2 * bound / 254
    return np.floor((np.clip(kernel, -bound, bound) + bound) / scale + 0.5) * scale - bound


def fake_quant(x, low, high):
    """TF's FakeQuantWithMinMaxVars (8 bits, nudged so that 0 is on the grid), in NumPy."""
    scale = (high - low) / 255
    zero_point = np.round(np.clip(-low / scale, 0, 255))
    low, high = -zero_point * scale, (255 - zero_point) * scale
    return np.floor((np.clip(x, low, high) - low) / scale + 0.5) * scale + low


def dense_outputs(wrapper, x, activation=lambda z: z):
    """The wrapped Dense layer's training-time output on `x`, computed in NumPy."""
    kernel, bias = wrapper.layer.get_weights()
    return activation(
        np.asarray(x, "float64") @ fake_quant_kernel(kernel, per_channel=False) + bias
    )


def quantization_error_bound(layer, x):
    """Bound on |output(fake-quantized kernel) - output(kernel)| for each output unit.

    Each weight moves by at most half a step, bound / 254 (per tensor for Dense,
    per output channel for convolutions), so a pre-activation moves by at most
    sum(|inputs it reads|) * bound / 254, and the activation multiplies that by
    at most its Lipschitz constant.
    """
    kernel = keras.ops.convert_to_numpy(layer.kernel).astype("float64")
    x = np.abs(np.asarray(x, "float64"))
    if isinstance(layer, keras.layers.Dense):
        half_step = np.abs(kernel).max() / 254
        pre_activation = x.sum(axis=-1, keepdims=True) * half_step
    else:
        half_step = np.abs(kernel).max(axis=(0, 1, 2)) / 254
        kh, kw = kernel.shape[:2]
        windows = np.lib.stride_tricks.sliding_window_view(
            x, (kh, kw), axis=(1, 2)
        )  # (n, h', w', c_in, kh, kw)
        pre_activation = windows.sum(axis=(3, 4, 5))[..., None] * half_step
    slope = LIPSCHITZ[layer.activation.__name__]
    if (
        layer.activation.__name__ == "softmax"
    ):  # couples the units: use the largest pre-activation change
        pre_activation = pre_activation.max(axis=-1, keepdims=True)
    return slope * pre_activation + 1e-6


def fine_tune(qat_model, x, y, epochs=2):
    qat_model.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    qat_model.fit(x, y, epochs=epochs, batch_size=32, verbose=0)
    return qat_model


@functools.lru_cache(maxsize=None)
def qat_cnn():
    keras.utils.set_random_seed(0)
    x_train, y_train = image_digits()[:2]
    return fine_tune(quantize_aware(models.cnn()), x_train, y_train, epochs=3)


@functools.lru_cache(maxsize=None)
def qat_selu_mlp():
    keras.utils.set_random_seed(0)
    x_train, y_train = digits()[:2]
    return fine_tune(quantize_aware(models.selu_mlp()), x_train, y_train)


# Keras 3 QAT training is keras.ops: it runs on JAX too (conversion to TFLite does not).
@pytest.mark.backend_neutral
class WrappingTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_only_dense_and_convolutions_are_wrapped(self):
        for original in (models.cnn(), models.selu_mlp()):
            qat = quantize_aware(original)
            self.assertLen(qat.layers, len(original.layers))
            for before, after in zip(original.layers, qat.layers):
                if isinstance(before, (keras.layers.Dense, keras.layers.Conv2D)):
                    self.assertIsInstance(after, QuantizeAware, before.name)
                    self.assertIs(type(after.layer), type(before))
                    self.assertEqual(after.name, f"quantize_aware_{before.name}")
                    self.assertEqual(after.ema_decay, 0.99)
                    self.assertAllEqual(after.layer.get_weights()[0], before.get_weights()[0])
                    self.assertAllEqual(after.layer.get_weights()[1], before.get_weights()[1])
                    self.assertEqual(after.layer.activation, before.activation)
                else:
                    self.assertNotIsInstance(after, keras.layers.Wrapper, before.name)
                    self.assertIs(type(after), type(before))
                # The original is left alone.
                self.assertNotIsInstance(before, QuantizeAware)
        self.assertEqual(
            [type(layer).__name__ for layer in quantize_aware(models.cnn()).layers],
            ["QuantizeAware", "MaxPooling2D", "Flatten", "QuantizeAware"],
        )

    def test_outputs_before_training_are_within_the_weight_quantization_error(self):
        cases = [(models.cnn(), image_digits()[2][:100]), (models.selu_mlp(), digits()[2][:100])]
        for original, x in cases:
            qat = quantize_aware(original, ema_decay=0.9)
            wrapped = [
                (before, after)
                for before, after in zip(original.layers, qat.layers)
                if isinstance(after, QuantizeAware)
            ]
            self.assertNotEmpty(wrapped)
            for before, after in wrapped:
                inputs = keras.Model(original.inputs, before.input).predict(x, verbose=0)
                reference = keras.ops.convert_to_numpy(before(inputs))
                quantized = keras.ops.convert_to_numpy(after(inputs, training=False))
                error = np.abs(quantized - reference)
                bound = quantization_error_bound(before, inputs)
                self.assertAllEqual(error <= bound, np.ones_like(error, bool), msg=before.name)
                self.assertGreater(error.max(), 0.0, before.name)  # the kernel really is quantized
            # And the model as a whole still classifies the same way.
            self.assertGreaterEqual(
                agreement(qat.predict(x, verbose=0), original.predict(x, verbose=0)), 0.97
            )

    @pytest.mark.tf_only("tf_keras models go to tfmot")
    def test_tf_keras_models_go_to_tfmot(self):
        from tensorflow_model_optimization.python.core.quantization.keras.quantize_wrapper import (
            QuantizeWrapperV2,
        )

        from tfx_ext.sparsity import is_tf_keras

        qat = quantize_aware(models.tf_keras_mlp())
        self.assertTrue(is_tf_keras(qat))
        wrappers = [layer for layer in qat.layers if isinstance(layer, QuantizeWrapperV2)]
        self.assertLen(wrappers, 2)
        self.assertEqual([type(w.layer).__name__ for w in wrappers], ["Dense", "Dense"])

    @rejects_bad_input(QuantizeAware, quantize_aware)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            TypeError, r"argument `layer`.*Dense, Conv1D, Conv2D or Conv3D.*LSTM"
        ):
            QuantizeAware(keras.layers.LSTM(4))
        with self.assertRaisesRegex(TypeError, r"argument `layer`"):
            QuantizeAware(keras.layers.Conv2DTranspose(4, 3))
        with self.assertRaisesRegex(
            ValueError, r"argument `ema_decay`.*\[0\.0, 1\.0\).*Received: ema_decay=1\.0"
        ):
            QuantizeAware(keras.layers.Dense(4), ema_decay=1.0)
        with self.assertRaisesRegex(TypeError, r"argument `ema_decay`"):
            QuantizeAware(keras.layers.Dense(4), ema_decay="0.9")
        pooling_only = keras.Sequential(
            [keras.Input((8, 8, 1)), keras.layers.MaxPooling2D(), keras.layers.Flatten()],
            name="pooling_only",
        )
        with self.assertRaisesRegex(
            ValueError, r"Model 'pooling_only' has no Dense or convolution layer"
        ):
            quantize_aware(pooling_only)
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            quantize_aware(keras.layers.Dense(3))
        with self.assertRaisesRegex(ValueError, r"argument `ema_decay`.*Received: ema_decay=1\.5"):
            quantize_aware(pooling_only, ema_decay=1.5)


# Keras 3 QAT training is keras.ops: it runs on JAX too (conversion to TFLite does not).
@pytest.mark.backend_neutral
class OutputRangeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def model(self, layer, ema_decay):
        model = keras.Sequential([keras.Input((6,)), QuantizeAware(layer, ema_decay=ema_decay)])
        model.compile(optimizer=keras.optimizers.SGD(0.5), loss="mse")
        return model, model.layers[0]

    def ranges(self, wrapper):
        return float(np.asarray(wrapper.output_min)), float(np.asarray(wrapper.output_max))

    def test_first_batch_sets_the_range_and_later_batches_average_it(self):
        # ReLU (fused into the kernel: only the output has a range) of positive
        # pre-activations: the range must be stretched to 0.
        positive = keras.layers.Dense(
            4, activation="relu", bias_initializer=keras.initializers.Constant(8.0)
        )
        model, wrapper = self.model(positive, ema_decay=0.9)
        relu = lambda z: np.maximum(z, 0.0)  # noqa: E731
        self.assertEqual(self.ranges(wrapper), (0.0, 0.0))
        self.assertEqual(float(wrapper.range_initialized.numpy()), 0.0)
        x1, x2 = self.rng.standard_normal((2, 16, 6)).astype("float32")
        y = np.zeros((16, 4), "float32")
        outputs = dense_outputs(wrapper, x1, relu)  # with the weights before the step
        self.assertGreater(outputs.min(), 0.0)
        model.train_on_batch(x1, y)
        self.assertEqual(float(wrapper.range_initialized.numpy()), 1.0)
        self.assertAllClose(self.ranges(wrapper), (0.0, outputs.max()), atol=1e-6)
        first = self.ranges(wrapper)
        outputs = dense_outputs(wrapper, 3 * x2, relu)
        model.train_on_batch(3 * x2, y)
        expected = (0.9 * first[0] + 0.1 * 0.0, 0.9 * first[1] + 0.1 * outputs.max())
        self.assertAllClose(self.ranges(wrapper), expected, atol=1e-6)
        # Inference reads the range, never moves it.
        model.predict(10 * x1, verbose=0)
        wrapper(10 * x1, training=False)
        self.assertAllClose(self.ranges(wrapper), expected, atol=1e-6)

    def test_all_negative_outputs_keep_zero_as_the_maximum(self):
        layer = keras.layers.Dense(3, bias_initializer=keras.initializers.Constant(-20.0))
        model, wrapper = self.model(layer, ema_decay=0.99)
        x = self.rng.standard_normal((32, 6)).astype("float32")
        outputs = dense_outputs(wrapper, x)
        self.assertLess(outputs.max(), 0.0)
        model.train_on_batch(x, np.zeros((32, 3), "float32"))
        self.assertAllClose(self.ranges(wrapper), (outputs.min(), 0.0), atol=1e-5)

    def test_inference_outputs_are_quantized_to_the_range(self):
        model, wrapper = self.model(keras.layers.Dense(4, activation="selu"), ema_decay=0.5)
        x = self.rng.standard_normal((64, 6)).astype("float32")
        raw_before = dense_outputs(
            wrapper, x, lambda z: SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(z))
        )
        # Before any training batch: no output quantization, SELU computed exactly.
        self.assertAllClose(model.predict(x, verbose=0), raw_before, atol=1e-5)
        model.train_on_batch(x, np.zeros((64, 4), "float32"))
        low, high = self.ranges(wrapper)
        self.assertLess(low, 0.0)
        self.assertGreater(high, 0.0)
        got = model.predict(x, verbose=0)
        step = (high - low) / 255
        self.assertLessEqual(len(np.unique(got)), 256)
        self.assertAllGreaterEqual(got, low - step)
        self.assertAllLessEqual(got, high + step)
        # SELU is not fused: its input is fake-quantized to its own learned range first.
        pre_low, pre_high = (float(np.asarray(v)) for v in wrapper.pre_activation_range)
        self.assertLess(pre_low, 0.0)
        self.assertGreater(pre_high, 0.0)
        raw = dense_outputs(
            wrapper,
            x,
            lambda z: (lambda q: SELU_SCALE * np.where(q > 0, q, SELU_ALPHA * np.expm1(q)))(
                fake_quant(z, pre_low, pre_high)
            ),
        )
        inside = (raw > low) & (raw < high)
        self.assertLessEqual(np.abs(got - raw)[inside].max(), step / 2 + 1e-5)


class FineTuneAndConvertTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def check(self, qat, x_train, x_test, y_test):
        result = convert(qat, "int8", representative_data=x_train)
        self.assertEqual(result.float_ops, [])
        report = compare(qat, result, x_test, y_test)
        self.assertGreater(report.keras_accuracy, 0.9)
        self.assertLessEqual(report.accuracy_drop, 0.005)
        self.assertGreaterEqual(report.top1_agreement, 0.98)
        return result

    def test_cnn(self):
        x_train, _, x_test, y_test = image_digits()
        self.check(qat_cnn(), x_train, x_test, y_test)

    def test_selu_mlp(self):
        x_train, _, x_test, y_test = digits()
        result = self.check(qat_selu_mlp(), x_train, x_test, y_test)
        names = [name for name, _, _ in models.ops_and_tensors(result.content)]
        # SELU runs in int8 without an EXP over the whole (positive) range.
        self.assertIn("EXP", names)
        self.assertNotIn("SELECT_V2", names)


# Keras 3 QAT training is keras.ops: it runs on JAX too (conversion to TFLite does not).
@pytest.mark.backend_neutral
class SerializationTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_config_round_trip(self):
        layer = QuantizeAware(
            keras.layers.Conv2D(4, 3, activation="selu"), ema_decay=0.9, name="qa"
        )
        clone = assert_config_round_trip(self, layer)
        self.assertEqual(clone.ema_decay, 0.9)
        self.assertEqual(clone.name, "qa")
        self.assertIsInstance(clone.layer, keras.layers.Conv2D)
        self.assertEqual(clone.layer.filters, 4)

    def test_model_round_trip(self):
        qat = qat_cnn()
        _, _, x_test, y_test = image_digits()
        loaded = assert_model_round_trip(self, qat, x_test[:32], y_test[:32], saved_model=True)
        wrappers = [layer for layer in loaded.layers if isinstance(layer, QuantizeAware)]
        self.assertLen(wrappers, 2)
        for layer in wrappers:
            self.assertEqual(float(layer.range_initialized.numpy()), 1.0)
            self.assertLess(float(layer.output_min.numpy()), float(layer.output_max.numpy()))


class TfKerasSeluQatTest(tf.test.TestCase):
    """tfmot refuses SELU ("Only some Keras activations ... are supported"): we annotate it."""

    def test_selu_tf_keras_model_trains_quantized_and_converts_to_full_int8(self):
        import tensorflow_model_optimization as tfmot
        import tf_keras

        from tests.datasets import digits
        from tfx_ext.lite import compare, convert, quantize_aware

        tf_keras.utils.set_random_seed(0)
        x_train, y_train, x_test, y_test = digits()
        model = tf_keras.Sequential(
            [
                tf_keras.layers.Dense(
                    64, activation="selu", kernel_initializer="lecun_normal", input_shape=(64,)
                ),
                tf_keras.layers.Dense(10, activation="softmax"),
            ]
        )
        with self.assertRaisesRegex(ValueError, "Only some Keras activations"):
            tfmot.quantization.keras.quantize_model(model)  # what users hit without us
        model.compile(
            optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]
        )
        model.fit(x_train, y_train, epochs=3, verbose=0)
        qat = quantize_aware(model)
        self.assertEqual(
            [type(l).__name__ for l in qat.layers],
            ["QuantizeLayer", "QuantizeWrapperV2", "QuantizeWrapperV2"],
        )
        float_accuracy = model.evaluate(x_test, y_test, verbose=0)[1]
        qat.compile(
            optimizer=tf_keras.optimizers.Adam(1e-4),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        qat.fit(x_train, y_train, epochs=2, verbose=0)
        result = convert(qat, "int8", representative_data=x_train[:200])
        self.assertEqual(result.float_ops, [])
        report = compare(qat, result, x_test, y_test)
        self.assertLessEqual(report.accuracy_drop, 0.01)
        # The SELU layer still computes SELU (rewritten for int8): QAT keeps the float accuracy.
        self.assertGreater(report.keras_accuracy, float_accuracy - 0.03)
