import functools

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tfx_ext.diagnostics import dense_head_to_convolutions

# The CNN's body: a "valid" 3x3 convolution (stride 1) then 2x2 max pooling
# (stride 2). An 8x8 digit gives a 3x3x16 feature map; the body's total
# stride is 2, so on a larger image the FCN's output cell (i, j) sees exactly
# the 8x8 window whose top-left corner is (2 i, 2 j).
STRIDE = 2
FEATURE_SIZE = 3
FILTERS = 16


def digit_images():
    x_train, y_train, x_test, y_test = digits()
    return x_train.reshape(-1, 8, 8, 1), y_train, x_test.reshape(-1, 8, 8, 1), y_test


@functools.lru_cache(maxsize=None)
def trained_cnn():
    keras.utils.set_random_seed(0)
    x_train, y_train, _, _ = digit_images()
    cnn = keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Conv2D(FILTERS, 3, activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )
    cnn.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    cnn.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)
    return cnn


def tile(images):
    """Four 8x8 images as one 16x16 image: [[0, 1], [2, 3]]."""
    return np.block(
        [[images[0, ..., 0], images[1, ..., 0]], [images[2, ..., 0], images[3, ..., 0]]]
    )[..., None]


class DenseHeadToConvolutionsTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_cnn_learned_the_digits(self):
        _, _, x_test, y_test = digit_images()
        accuracy = trained_cnn().evaluate(x_test, y_test, verbose=0)[1]
        self.assertGreater(accuracy, 0.8)  # so the comparisons below are about a real classifier

    def test_same_outputs_on_images_of_the_training_size(self):
        cnn = trained_cnn()
        _, _, x_test, _ = digit_images()
        fcn = dense_head_to_convolutions(cnn)
        expected = cnn.predict(x_test, verbose=0)
        outputs = fcn.predict(x_test, verbose=0)
        self.assertEqual(outputs.shape, (len(x_test), 1, 1, 10))
        self.assertAllClose(outputs.reshape(len(x_test), 10), expected, atol=1e-5, rtol=0)

    def test_larger_image_gives_the_cnn_prediction_of_every_window(self):
        cnn = trained_cnn()
        _, _, x_test, y_test = digit_images()
        four = x_test[:4]
        image = tile(four)
        self.assertEqual(image.shape, (16, 16, 1))
        grid = dense_head_to_convolutions(cnn).predict(image[None], verbose=0)[0]
        size = (16 - 8) // STRIDE + 1
        self.assertEqual(grid.shape, (size, size, 10))

        # The corner cells see the four digits exactly.
        corner = 8 // STRIDE
        expected = cnn.predict(four, verbose=0)
        corners = [grid[0, 0], grid[0, corner], grid[corner, 0], grid[corner, corner]]
        self.assertAllClose(np.stack(corners), expected, atol=1e-5, rtol=0)
        self.assertAllEqual(np.argmax(np.stack(corners), -1), np.argmax(expected, -1))

        # Every other cell is the CNN on the 8x8 window at (2 i, 2 j).
        windows = np.stack(
            [
                image[STRIDE * i : STRIDE * i + 8, STRIDE * j : STRIDE * j + 8]
                for i in range(size)
                for j in range(size)
            ]
        )
        self.assertAllClose(
            grid.reshape(-1, 10), cnn.predict(windows, verbose=0), atol=1e-5, rtol=0
        )

    def test_converted_layers_and_weights(self):
        cnn = trained_cnn()
        fcn = dense_head_to_convolutions(cnn)
        self.assertEqual(tuple(fcn.inputs[0].shape), (None, None, None, 1))
        kinds = [type(layer) for layer in fcn.layers]
        self.assertEqual(
            kinds,
            [
                keras.layers.Conv2D,
                keras.layers.MaxPooling2D,
                keras.layers.Conv2D,
                keras.layers.Dropout,
                keras.layers.Conv2D,
            ],
        )
        conv, pool, first, dropout, second = fcn.layers
        dense_1, dense_2 = cnn.layers[3], cnn.layers[5]

        # The body is copied with its weights.
        self.assertLen(conv.get_weights(), 2)
        for a, b in zip(cnn.layers[0].get_weights(), conv.get_weights()):
            self.assertAllEqual(a, b)
        self.assertEqual(conv.padding, "valid")
        self.assertEqual(pool.pool_size, (2, 2))

        # The first Dense becomes a "valid" convolution covering the 3x3 feature map.
        self.assertEqual(first.kernel_size, (FEATURE_SIZE, FEATURE_SIZE))
        self.assertEqual(first.padding, "valid")
        self.assertEqual(first.strides, (1, 1))
        self.assertEqual(first.filters, 32)
        self.assertIs(first.activation, dense_1.activation)
        kernel, bias = first.get_weights()
        dense_kernel, dense_bias = dense_1.get_weights()
        self.assertEqual(kernel.shape, (FEATURE_SIZE, FEATURE_SIZE, FILTERS, 32))
        # Flatten orders a channels-last map row by row, then column, then channel.
        i, j, c = np.meshgrid(
            np.arange(FEATURE_SIZE), np.arange(FEATURE_SIZE), np.arange(FILTERS), indexing="ij"
        )
        rows = (i * FEATURE_SIZE + j) * FILTERS + c
        self.assertAllEqual(kernel, dense_kernel[rows])
        self.assertAllEqual(bias, dense_bias)

        self.assertEqual(dropout.rate, 0.3)

        # Later Dense layers become 1x1 convolutions.
        self.assertEqual(second.kernel_size, (1, 1))
        self.assertEqual(second.padding, "valid")
        self.assertIs(second.activation, dense_2.activation)
        kernel, bias = second.get_weights()
        dense_kernel, dense_bias = dense_2.get_weights()
        self.assertAllEqual(kernel[0, 0], dense_kernel)
        self.assertAllEqual(bias, dense_bias)

    def test_original_model_is_left_unchanged(self):
        cnn = trained_cnn()
        before = [w.copy() for w in cnn.get_weights()]
        fcn = dense_head_to_convolutions(cnn)
        for a, b in zip(before, cnn.get_weights()):
            self.assertAllEqual(a, b)
        self.assertNotEqual(fcn.name, cnn.name)
        self.assertFalse({id(layer) for layer in fcn.layers} & {id(layer) for layer in cnn.layers})

    def test_functional_chain_without_bias_and_with_activation_layers(self):
        inputs = keras.Input((6, 6, 2))
        x = keras.layers.Conv2D(4, 3, padding="same", activation="tanh")(inputs)
        x = keras.layers.Flatten()(x)
        x = keras.layers.Dense(5, use_bias=False)(x)
        x = keras.layers.Activation("relu")(x)
        x = keras.layers.Dense(3)(x)
        model = keras.Model(inputs, x)
        fcn = dense_head_to_convolutions(model)
        self.assertEqual(fcn.layers[1].kernel_size, (6, 6))
        self.assertFalse(fcn.layers[1].use_bias)
        self.assertIsInstance(fcn.layers[2], keras.layers.Activation)
        x = self.rng.standard_normal((4, 6, 6, 2)).astype("float32")
        self.assertAllClose(
            np.asarray(fcn(x)).reshape(4, 3), np.asarray(model(x)), atol=1e-5, rtol=0
        )
        # A 6x9 image: a "same" body keeps 6x9, a 6x6 kernel slides over 4 columns.
        self.assertEqual(fcn(np.zeros((1, 6, 9, 2), "float32")).shape, (1, 1, 4, 3))

    def test_adapted_normalization_keeps_its_statistics(self):
        # Normalization keeps mean/variance as constants that set_weights does
        # not refresh: a copy that only set its weights normalized with 0 and 1.
        images = self.rng.uniform(50, 150, (16, 6, 6, 2)).astype("float32")
        norm = keras.layers.Normalization()
        norm.adapt(images)
        model = keras.Sequential(
            [
                keras.Input((6, 6, 2)),
                norm,
                keras.layers.Conv2D(4, 3, activation="tanh"),
                keras.layers.Flatten(),
                keras.layers.Dense(3),
            ]
        )
        fcn = dense_head_to_convolutions(model)
        self.assertAllClose(
            np.asarray(fcn(images)).reshape(16, 3), np.asarray(model(images)), atol=1e-4, rtol=0
        )

    @rejects_bad_input(dense_head_to_convolutions)
    def test_bad_models(self):
        no_flatten = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(2, 3),
                keras.layers.GlobalAveragePooling2D(),
                keras.layers.Dense(3),
            ]
        )
        with self.assertRaisesRegex(ValueError, r"argument `model`.*Flatten"):
            dense_head_to_convolutions(no_flatten)
        reshape_after_flatten = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(2, 3),
                keras.layers.Flatten(),
                keras.layers.Dense(4),
                keras.layers.Reshape((2, 2), name="reshape_head"),
            ]
        )
        with self.assertRaisesRegex(ValueError, r"argument `model`.*after Flatten.*reshape_head"):
            dense_head_to_convolutions(reshape_after_flatten)
        no_dense = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(2, 3),
                keras.layers.Flatten(),
                keras.layers.Dropout(0.1),
            ]
        )
        with self.assertRaisesRegex(ValueError, r"argument `model`.*Dense layers after Flatten"):
            dense_head_to_convolutions(no_dense)
        vectors = keras.Sequential(
            [keras.Input((64,)), keras.layers.Flatten(), keras.layers.Dense(4)]
        )
        with self.assertRaisesRegex(ValueError, r"argument `model`.*2D feature map"):
            dense_head_to_convolutions(vectors)
        with self.assertRaisesRegex(TypeError, r"argument `model`.*keras.Model"):
            dense_head_to_convolutions(keras.layers.Dense(3))
        with self.assertRaisesRegex(TypeError, r"argument `model`"):
            dense_head_to_convolutions("cnn")
        unbuilt = keras.Sequential(
            [keras.layers.Conv2D(2, 3), keras.layers.Flatten(), keras.layers.Dense(3)]
        )
        with self.assertRaisesRegex(ValueError, r"argument `model`.*known input"):
            dense_head_to_convolutions(unbuilt)

    def test_subclassed_model_is_rejected_by_name(self):
        class Subclassed(keras.Model):
            def __init__(self):
                super().__init__()
                self.conv = keras.layers.Conv2D(2, 3)
                self.flatten = keras.layers.Flatten()
                self.dense = keras.layers.Dense(3)

            def call(self, x):
                return self.dense(self.flatten(self.conv(x)))

        model = Subclassed()
        model(np.zeros((1, 8, 8, 1), "float32"))
        with self.assertRaisesRegex(ValueError, r"argument `model`.*Sequential or functional"):
            dense_head_to_convolutions(model)
