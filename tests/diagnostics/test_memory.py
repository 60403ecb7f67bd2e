import math

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.diagnostics import MemoryEstimate, estimate_memory


def same_padding_size(size, stride):
    """Output length of a "same" convolution: ceil(size / stride)."""
    return math.ceil(size / stride)


class EstimateMemoryTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def book_cnn(self):
        """ "Hands-On ML" ch. 14: 200x300 RGB, three 3x3 stride-2 convolutions, 100/200/400 maps."""
        return keras.Sequential(
            [keras.Input((200, 300, 3))]
            + [keras.layers.Conv2D(maps, 3, strides=2, padding="same") for maps in (100, 200, 400)]
        )

    def test_book_cnn(self):
        # The expectations, from the book's arithmetic.
        channels = [3, 100, 200, 400]
        parameters = sum((3 * 3 * c_in + 1) * c_out for c_in, c_out in zip(channels, channels[1:]))
        height, width, outputs = 200, 300, []
        for maps in channels[1:]:
            height, width = same_padding_size(height, 2), same_padding_size(width, 2)
            outputs.append(height * width * maps * 4)
        input_bytes = 200 * 300 * 3 * 4
        parameter_bytes = parameters * 4
        # The book's numbers, to be sure the arithmetic above is the book's.
        self.assertEqual(parameters, 903_400)
        self.assertEqual(parameter_bytes, 3_613_600)
        self.assertEqual(outputs, [100 * 150 * 100 * 4, 50 * 75 * 200 * 4, 25 * 38 * 400 * 4])
        self.assertEqual(outputs, [6_000_000, 3_000_000, 1_520_000])
        self.assertEqual(input_bytes, 720_000)
        inference = outputs[0] + outputs[1] + parameter_bytes  # the two largest consecutive outputs
        training = 50 * (input_bytes + sum(outputs)) + parameter_bytes
        self.assertEqual(inference, 12_613_600)
        self.assertEqual(training, 565_613_600)

        model = self.book_cnn()
        estimate = estimate_memory(model, batch_size=50)
        self.assertIsInstance(estimate, MemoryEstimate)
        self.assertEqual(estimate.parameters, parameters)
        self.assertEqual(estimate.parameter_bytes, parameter_bytes)
        self.assertEqual(estimate.input_bytes, input_bytes)
        self.assertEqual(
            estimate.per_layer, [(layer.name, size) for layer, size in zip(model.layers, outputs)]
        )
        self.assertEqual(estimate.batch_size, 50)
        self.assertEqual(estimate.inference_bytes, inference)
        self.assertEqual(estimate.training_bytes, training)
        text = str(estimate)
        for number in (
            "903,400",
            "3,613,600",
            "6,000,000",
            "1,520,000",
            "12,613,600",
            "565,613,600",
        ):
            self.assertIn(number, text)

    def test_training_bytes_scale_with_batch_size(self):
        model = self.book_cnn()
        one, hundred = estimate_memory(model, 1), estimate_memory(model, 100)
        per_instance = 720_000 + 6_000_000 + 3_000_000 + 1_520_000
        self.assertEqual(one.training_bytes, per_instance + 3_613_600)
        self.assertEqual(hundred.training_bytes, 100 * per_instance + 3_613_600)
        self.assertEqual(one.inference_bytes, hundred.inference_bytes)

    def test_mlp_with_two_byte_values(self):
        model = keras.Sequential(
            [
                keras.Input((28, 28)),
                keras.layers.Flatten(),
                keras.layers.Dense(300, activation="relu"),
                keras.layers.Dense(100, activation="relu"),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        parameters = (784 * 300 + 300) + (300 * 100 + 100) + (100 * 10 + 10)
        self.assertEqual(parameters, 266_610)
        # Input, then Flatten, Dense, Dense, Dense outputs; 2 bytes a value (float16).
        chain = [784 * 2, 784 * 2, 300 * 2, 100 * 2, 10 * 2]
        estimate = estimate_memory(model, batch_size=32, dtype_bytes=2)
        self.assertEqual(estimate.parameters, parameters)
        self.assertEqual(estimate.parameter_bytes, 533_220)
        self.assertEqual(estimate.input_bytes, 1_568)
        self.assertEqual([size for _, size in estimate.per_layer], chain[1:])
        # The largest consecutive pair is the input and the Flatten output.
        self.assertEqual(estimate.inference_bytes, 1_568 + 1_568 + 533_220)
        self.assertEqual(estimate.training_bytes, 32 * sum(chain) + 533_220)
        self.assertEqual(estimate.training_bytes, 32 * 3_956 + 533_220)
        # float32 doubles every byte count.
        self.assertEqual(estimate_memory(model, 32).training_bytes, 2 * estimate.training_bytes)

    def test_functional_model_and_peak_in_the_middle(self):
        inputs = keras.Input((10,))
        x = keras.layers.Dense(50)(inputs)
        x = keras.layers.Dense(70)(x)
        outputs = keras.layers.Dense(5)(x)
        model = keras.Model(inputs, outputs)
        estimate = estimate_memory(model, batch_size=4)
        self.assertEqual(estimate.parameters, 11 * 50 + 51 * 70 + 71 * 5)
        self.assertEqual([size for _, size in estimate.per_layer], [200, 280, 20])
        self.assertEqual(estimate.inference_bytes, 200 + 280 + estimate.parameter_bytes)
        self.assertEqual(
            estimate.training_bytes, 4 * (40 + 200 + 280 + 20) + estimate.parameter_bytes
        )

    def test_parameters_match_the_trained_variables(self):
        model = self.book_cnn()
        total = sum(int(np.prod(v.shape)) for v in model.weights)
        self.assertEqual(estimate_memory(model, 1).parameters, total)

    @rejects_bad_input(estimate_memory)
    def test_bad_arguments(self):
        model = self.book_cnn()
        with self.assertRaisesRegex(ValueError, r"argument `batch_size`.*Received: batch_size=0"):
            estimate_memory(model, 0)
        with self.assertRaisesRegex(TypeError, r"argument `batch_size`.*an integer"):
            estimate_memory(model, 2.5)
        with self.assertRaisesRegex(ValueError, r"argument `dtype_bytes`.*Received: dtype_bytes=0"):
            estimate_memory(model, 1, dtype_bytes=0)
        unknown = keras.Sequential([keras.Input((None, None, 3)), keras.layers.Conv2D(4, 3)])
        with self.assertRaisesRegex(
            ValueError, r"argument `model`.*fully known input shape.*None, None, None, 3"
        ):
            estimate_memory(unknown, 1)
        with self.assertRaisesRegex(TypeError, r"argument `model`.*keras.Model"):
            estimate_memory(keras.layers.Dense(3), 1)
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            estimate_memory("model", 1)
        with self.assertRaisesRegex(ValueError, r"argument `model`.*known input"):
            estimate_memory(keras.Sequential([keras.layers.Dense(3)]), 1)  # never built

    def test_subclassed_model_is_rejected_by_name(self):
        class Subclassed(keras.Model):
            def __init__(self):
                super().__init__()
                self.dense = keras.layers.Dense(3)

            def call(self, x):
                return self.dense(x)

        model = Subclassed()
        model(np.zeros((1, 4), "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `model`.*Sequential or functional"):
            estimate_memory(model, 1)

    def test_two_inputs_are_rejected(self):
        a, b = keras.Input((3,)), keras.Input((3,))
        model = keras.Model([a, b], keras.layers.Add()([a, b]))
        with self.assertRaisesRegex(ValueError, r"argument `model`.*one input.*2 inputs"):
            estimate_memory(model, 1)
