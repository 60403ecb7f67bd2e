import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.generative import dcgan_discriminator, dcgan_generator
from tfx_ext.layers import MinibatchStandardDeviation


def kinds(model):
    return [type(layer).__name__ for layer in model.layers]


class DCGANBuildersTest(tf.test.TestCase):
    def test_generator_follows_the_chapter_rules(self):
        generator = dcgan_generator(16, (8, 8, 1), filters=(32, 16), kernel_size=3)
        self.assertEqual(
            kinds(generator),
            ["Dense", "Reshape", "BatchNormalization", "ReLU"]
            + ["Conv2DTranspose", "BatchNormalization", "ReLU", "Conv2DTranspose"],
        )
        self.assertEqual(generator.layers[1].target_shape, (2, 2, 32))
        for conv in generator.layers[4::3]:
            self.assertEqual(tuple(conv.strides), (2, 2))
        self.assertEqual(
            generator.layers[-1].activation.__name__, "tanh"
        )  # no BatchNorm on the output
        images = keras.ops.convert_to_numpy(
            generator(np.random.default_rng(0).standard_normal((3, 16)))
        )
        self.assertEqual(images.shape, (3, 8, 8, 1))
        self.assertTrue(np.all(np.abs(images) <= 1))

    def test_the_books_28x28_generator(self):
        generator = dcgan_generator(100, (28, 28, 1), filters=(128, 64))
        self.assertEqual(generator.layers[0].units, 7 * 7 * 128)
        self.assertEqual(generator.output_shape, (None, 28, 28, 1))

    def test_discriminator_follows_the_chapter_rules(self):
        discriminator = dcgan_discriminator((8, 8, 1), filters=(8, 16), kernel_size=3)
        # No BatchNorm after the input layer's convolution, LeakyReLU(0.2), sigmoid output.
        self.assertEqual(
            kinds(discriminator),
            [
                "Conv2D",
                "LeakyReLU",
                "Conv2D",
                "BatchNormalization",
                "LeakyReLU",
                "Flatten",
                "Dense",
            ],
        )
        self.assertEqual(
            [tuple(c.strides) for c in discriminator.layers if isinstance(c, keras.layers.Conv2D)],
            [(2, 2)] * 2,
        )
        self.assertAllClose(discriminator.layers[1].negative_slope, 0.2)
        probabilities = keras.ops.convert_to_numpy(discriminator(np.zeros((2, 8, 8, 1), "float32")))
        self.assertEqual(probabilities.shape, (2, 1))
        self.assertTrue(np.all((probabilities > 0) & (probabilities < 1)))

    def test_discriminator_options(self):
        books = dcgan_discriminator(
            (8, 8, 1), filters=(8, 16), batch_norm=False, dropout=0.4, minibatch_std=True
        )
        self.assertEqual(
            kinds(books),
            ["Conv2D", "LeakyReLU", "Dropout", "Conv2D", "LeakyReLU", "Dropout"]
            + ["MinibatchStandardDeviation", "Flatten", "Dense"],
        )
        self.assertIsInstance(books.layers[6], MinibatchStandardDeviation)
        self.assertEqual(
            books.layers[-1].kernel.shape, (2 * 2 * 17, 1)
        )  # 16 maps + the batch-std channel

    @rejects_bad_input(dcgan_generator, dcgan_discriminator)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError,
            "`image_shape`. Expected a height and width that are multiples of 2 \\*\\* len\\(filters\\) = 4",
        ):
            dcgan_generator(8, (6, 6, 1), filters=(8, 4))
        with self.assertRaisesRegex(
            ValueError, "`image_shape`. Expected a shape \\(height, width, channels\\)"
        ):
            dcgan_generator(8, (8, 8))
        with self.assertRaisesRegex(ValueError, "`latent_dim`. Expected an integer >= 1"):
            dcgan_generator(0)
        with self.assertRaisesRegex(ValueError, "`filters`"):
            dcgan_generator(8, (8, 8, 1), filters=())
        with self.assertRaisesRegex(ValueError, "`dropout`"):
            dcgan_discriminator((8, 8, 1), dropout=1.0)
        with self.assertRaisesRegex(TypeError, "`batch_norm`. Expected True or False \\(a bool\\)"):
            dcgan_discriminator((8, 8, 1), batch_norm="yes")
        with self.assertRaisesRegex(TypeError, "`filters`"):
            dcgan_discriminator((8, 8, 1), filters=8)
        with self.assertRaisesRegex(ValueError, "`kernel_size`"):
            dcgan_discriminator((8, 8, 1), kernel_size=0)
