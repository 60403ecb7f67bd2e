""" "Hands-On ML" 2nd ed., ch. 14: a CNN's memory bill, and dense layers turned into convolutions.

The memory example is the chapter's (and its exercise 9's) model, built with
`weights` only counted, never trained. The fully convolutional conversion is
trained on scikit-learn's 8x8 digits instead of the book's images (nothing is
downloaded).
"""

import keras
import numpy as np
import tensorflow as tf

from tests.datasets import digits
from tfx_ext.diagnostics import dense_head_to_convolutions, estimate_memory

MB = 1_000_000  # the book counts in decimal megabytes


def books_cnn():
    """200x300 RGB input; three 3x3 convolutions, stride 2, "same" padding, 100/200/400 maps."""
    return keras.Sequential(
        [
            keras.Input((200, 300, 3)),
            keras.layers.Conv2D(100, 3, strides=2, padding="same", name="conv_1"),
            keras.layers.Conv2D(200, 3, strides=2, padding="same", name="conv_2"),
            keras.layers.Conv2D(400, 3, strides=2, padding="same", name="conv_3"),
        ]
    )


class BookChapter14MemoryTest(tf.test.TestCase):
    def test_the_books_numbers(self):
        estimate = estimate_memory(books_cnn(), batch_size=50)
        # Parameters, by the book's hand count: (3*3*3+1)*100 + (3*3*100+1)*200 + (3*3*200+1)*400.
        self.assertEqual(estimate.parameters, 2_800 + 180_200 + 720_400)
        self.assertEqual(estimate.parameters, 903_400)
        self.assertEqual(estimate.parameter_bytes, 3_613_600)
        # Feature maps per instance: 100x150x100, 50x75x200, 25x38x400 floats.
        self.assertEqual(
            [size for _, size in estimate.per_layer],
            [100 * 150 * 100 * 4, 50 * 75 * 200 * 4, 25 * 38 * 400 * 4],
        )
        self.assertEqual(estimate.input_bytes, 200 * 300 * 3 * 4)
        # One instance: the two largest consecutive maps (6 MB + 3 MB) plus the parameters.
        self.assertEqual(estimate.inference_bytes, 6 * MB + 3 * MB + 3_613_600)
        self.assertEqual(estimate.inference_bytes, 12_613_600)
        # A batch of 50 keeps every map (6 + 3 + 1.52 MB), the 36 MB of inputs, and the parameters.
        self.assertEqual(
            estimate.training_bytes, 50 * (6 * MB + 3 * MB + 1_520_000) + 36 * MB + 3_613_600
        )
        # The book rounds the maps to 10.5 MB per instance and prints 564.6 MB; exact is 565.6 MB.
        self.assertAllClose(estimate.training_bytes / MB, 564.6, atol=1.1)

    def test_summary_names_every_layer(self):
        text = str(estimate_memory(books_cnn(), batch_size=50))
        for line in ("conv_1", "conv_2", "conv_3", "903,400", "12,613,600", "565,613,600"):
            self.assertIn(line, text)


class BookChapter14FullyConvolutionalTest(tf.test.TestCase):
    """Dense -> conv: on a larger image, each window's output is the original's on that crop."""

    def setUp(self):
        keras.utils.set_random_seed(42)

    def test_windows_equal_the_original_on_each_crop(self):
        x_train, y_train, x_test, _ = digits()
        images = x_train.reshape(-1, 8, 8, 1)
        # "valid" convolutions: a window's receptive field is exactly its crop
        # ("same" padding would see real pixels where the crop saw zeros).
        cnn = keras.Sequential(
            [
                keras.Input((8, 8, 1)),
                keras.layers.Conv2D(16, 3, activation="relu"),
                keras.layers.MaxPooling2D(2),
                keras.layers.Flatten(),
                keras.layers.Dense(32, activation="relu"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        cnn.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
        cnn.fit(images, y_train, epochs=3, batch_size=64, verbose=0)

        fcn = dense_head_to_convolutions(cnn)
        self.assertEqual(fcn.count_params(), cnn.count_params())
        # The book's rule: the lowest dense layer -> conv over its input's whole map, "valid"; the next -> 1x1.
        convs = [l for l in fcn.layers if l.name.endswith("_as_conv")]
        self.assertEqual([tuple(c.kernel_size) for c in convs], [(3, 3), (1, 1)])
        self.assertEqual({c.padding for c in convs}, {"valid"})

        # Same size: same predictions, as a 1x1 grid.
        crops = x_test[:8].reshape(-1, 8, 8, 1)
        self.assertAllClose(
            fcn.predict(crops, verbose=0)[:, 0, 0], cnn.predict(crops, verbose=0), atol=1e-5
        )

        # A 16x16 canvas of four test digits: a 5x5 grid of windows, 2 pixels apart
        # (the pooling stride); window (i, j) sees canvas[2i:2i+8, 2j:2j+8].
        canvas = np.zeros((1, 16, 16, 1), "float32")
        for k, (r, c) in enumerate([(0, 0), (0, 8), (8, 0), (8, 8)]):
            canvas[0, r : r + 8, c : c + 8, 0] = x_test[k].reshape(8, 8)
        grid = fcn.predict(canvas, verbose=0)
        self.assertEqual(grid.shape, (1, 5, 5, 10))
        windows = np.stack(
            [canvas[0, 2 * i : 2 * i + 8, 2 * j : 2 * j + 8] for i in range(5) for j in range(5)]
        )
        expected = cnn.predict(windows, verbose=0).reshape(5, 5, 10)
        self.assertAllClose(grid[0], expected, atol=1e-5)
        # The top-left window is the first digit itself.
        self.assertAllClose(
            grid[0, 0, 0], cnn.predict(x_test[:1].reshape(1, 8, 8, 1), verbose=0)[0], atol=1e-5
        )
