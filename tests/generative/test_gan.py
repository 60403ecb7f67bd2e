"""GAN: the two-phase step against a hand-written GradientTape loop, stabilizers, resume, saving."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.generative import GAN, dcgan_discriminator, dcgan_generator

pytestmark = pytest.mark.tf_only("GAN.train_step uses tf.GradientTape (TensorFlow trainer only)")

LATENT = 4
SHAPE = (8, 8, 1)
BATCH = 8


def real_images(batches=3):
    rng = np.random.default_rng(0)
    return rng.uniform(-1, 1, (batches * BATCH, *SHAPE)).astype("float32")


def parts(seed=0):
    """A tiny DCGAN pair (BatchNorm in both), built with the given weight seed."""
    keras.utils.set_random_seed(seed)
    generator = dcgan_generator(LATENT, SHAPE, filters=(8, 4), kernel_size=3)
    discriminator = dcgan_discriminator(SHAPE, filters=(4, 8), kernel_size=3)
    return generator, discriminator


def gan(seed=0, optimizers=("adam", 1e-2, 2e-2), compile_kwargs=None, **options):
    model = GAN(*parts(seed), seed=11, **options)
    kind, d_rate, g_rate = optimizers
    optimizer = keras.optimizers.Adam if kind == "adam" else keras.optimizers.SGD
    model.compile(
        d_optimizer=optimizer(d_rate),
        g_optimizer=optimizer(g_rate),
        **(compile_kwargs or {}),
    )
    return model


def dataset(images):
    return tf.data.Dataset.from_tensor_slices(images).batch(BATCH)


def book_loop(generator, discriminator, images, smoothing=0.0, replay_size=0, replay_fraction=0.5):
    """The book's two phases written out with tf.GradientTape, eagerly, replay in NumPy."""
    seeds = keras.random.SeedGenerator(11)
    d_optimizer, g_optimizer = keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.1)
    bce = keras.losses.BinaryCrossentropy()
    buffer, count = np.zeros((replay_size, *SHAPE), "float32"), 0
    for start in range(0, len(images), BATCH):
        real = images[start : start + BATCH]
        n = len(real)
        noise = keras.random.normal((n, LATENT), seed=seeds)
        fakes = np.asarray(generator(noise, training=True))
        if replay_size:
            stored = min(count, replay_size)
            picks = np.asarray(keras.random.randint((n,), 0, max(stored, 1), seed=seeds))
            mixed = fakes.copy()
            if stored:
                k = int(np.floor(replay_fraction * n))
                mixed[:k] = buffer[picks[:k]]
            for i in range(min(n, replay_size)):
                buffer[(count + i) % replay_size] = fakes[i]
            count += min(n, replay_size)
            fakes = mixed
        x1 = np.concatenate([fakes, real])
        y1 = np.array([[0.0]] * n + [[1.0 - smoothing]] * n, "float32")
        with tf.GradientTape() as tape:
            d_loss = bce(y1, discriminator(x1, training=True))
        grads = tape.gradient(d_loss, discriminator.trainable_weights)
        d_optimizer.apply_gradients(zip(grads, discriminator.trainable_weights))

        noise = keras.random.normal((n, LATENT), seed=seeds)
        discriminator.trainable = False
        with tf.GradientTape() as tape:
            g_loss = bce(
                np.ones((n, 1), "float32"),
                discriminator(generator(noise, training=True), training=True),
            )
        grads = tape.gradient(g_loss, generator.trainable_weights)
        g_optimizer.apply_gradients(zip(grads, generator.trainable_weights))
        discriminator.trainable = True
    return d_optimizer, g_optimizer, buffer, count


def assert_same_variables(test, actual, expected):
    test.assertEqual(len(actual), len(expected))
    for a, e in zip(actual, expected):
        test.assertAllEqual(np.asarray(a), np.asarray(e), msg=e.path)


class GANStepTest(tf.test.TestCase):
    def assertAllVariablesClose(self, actual, expected, atol=1e-6):
        self.assertEqual(len(actual), len(expected))
        for a, e in zip(actual, expected):
            self.assertAllClose(np.asarray(a), np.asarray(e), atol=atol, rtol=1e-5)

    def test_fit_equals_the_hand_written_two_phase_loop(self):
        # SGD: Adam turns float rounding in a near-zero gradient into a full
        # step of either sign, so graph (fit) and eager (the loop) would part.
        images = real_images(3)
        options = dict(label_smoothing=0.1, replay_buffer_size=12, replay_fraction=0.5)
        model = gan(optimizers=("sgd", 0.05, 0.1), **options)
        trainable = len(model.discriminator.trainable_weights)
        history = model.fit(dataset(images), epochs=1, verbose=0, shuffle=False)
        generator, discriminator = parts()
        d_opt, g_opt, buffer, count = book_loop(
            generator, discriminator, images, smoothing=0.1, replay_size=12, replay_fraction=0.5
        )
        # Every weight, BatchNorm statistics included, and every optimizer variable.
        self.assertAllVariablesClose(model.generator.weights, generator.weights)
        self.assertAllVariablesClose(model.discriminator.weights, discriminator.weights)
        self.assertAllVariablesClose(model.d_optimizer.variables, d_opt.variables)
        self.assertAllVariablesClose(model.g_optimizer.variables, g_opt.variables)
        self.assertEqual(int(model.d_optimizer.iterations), 3)
        self.assertEqual(int(model.g_optimizer.iterations), 3)
        # The ring buffer of 12 after 3 batches of 8 fakes: the same images in the same slots.
        self.assertEqual(int(model.replay_count), count)
        self.assertEqual(count, 24)
        self.assertAllClose(np.asarray(model.replay_images), buffer, atol=1e-6)
        self.assertEqual(sorted(history.history), ["d_loss", "g_loss"])
        # Phase 2 froze the discriminator only while it ran.
        self.assertTrue(model.discriminator.trainable)
        self.assertEqual(len(model.discriminator.trainable_weights), trainable)

    def test_label_smoothing_is_one_sided_on_phase_1_targets(self):
        seen = []

        def recording_loss(y_true, y_pred):
            seen.append(np.asarray(y_true))
            return keras.losses.binary_crossentropy(y_true, y_pred)

        model = gan(
            label_smoothing=0.25, compile_kwargs=dict(loss=recording_loss, run_eagerly=True)
        )
        model.fit(dataset(real_images(1)), epochs=1, verbose=0)
        phase_1, phase_2 = seen
        expected_1 = np.concatenate([np.zeros((BATCH, 1)), np.full((BATCH, 1), 0.75)])
        self.assertAllEqual(phase_1, expected_1)  # fakes 0, real images 1 - 0.25
        self.assertAllEqual(phase_2, np.ones((BATCH, 1)))  # the generator's targets stay 1

    def test_generate_is_seeded_and_in_tanh_range(self):
        model = gan()
        first, again = model.generate(5, seed=3), model.generate(5, seed=3)
        self.assertEqual(tuple(first.shape), (5, *SHAPE))
        self.assertAllEqual(first, again)
        self.assertNotAllClose(first, model.generate(5, seed=4))
        noise = keras.random.normal((5, LATENT), seed=3)
        self.assertAllClose(first, model.generator(noise, training=False))


EAGER = dict(run_eagerly=True)  # the same step; no tracing, to keep the file fast


class GANResumeTest(tf.test.TestCase):
    def test_checkpoint_and_keras_file_resume_exactly(self):
        """2 steps, save, restore into twins, 1 more step each: all equal to the run that went on."""
        images = real_images(3)
        first_two, last = dataset(images[: 2 * BATCH]), dataset(images[2 * BATCH :])
        options = dict(label_smoothing=0.1, replay_buffer_size=12)
        model = gan(compile_kwargs=EAGER, **options)
        model.fit(first_two, epochs=1, verbose=0)
        with tempfile.TemporaryDirectory() as tmp:
            checkpoint = tf.train.Checkpoint(
                model=model, d_optimizer=model.d_optimizer, g_optimizer=model.g_optimizer
            )
            path = checkpoint.write(os.path.join(tmp, "ckpt"))
            archive = os.path.join(tmp, "gan.keras")
            model.save(archive)

            twin = gan(seed=5, compile_kwargs=EAGER, **options)  # other initial weights
            restore = tf.train.Checkpoint(
                model=twin, d_optimizer=twin.d_optimizer, g_optimizer=twin.g_optimizer
            )
            restore.read(path).assert_existing_objects_matched()
            loaded = keras.models.load_model(archive)  # no custom_objects
        self.assertIsInstance(loaded, GAN)
        self.assertEqual(loaded.get_compile_config(), model.get_compile_config())
        noise = np.random.default_rng(1).standard_normal((3, LATENT)).astype("float32")
        self.assertAllEqual(loaded(noise, training=False), model(noise, training=False))
        for copy in (twin, loaded):
            assert_same_variables(self, copy.weights, model.weights)
            for part in ("d_optimizer", "g_optimizer"):
                assert_same_variables(
                    self, getattr(copy, part).variables, getattr(model, part).variables
                )

        # The same next step: same noise stream, replay buffer and optimizer state.
        for run in (model, twin, loaded):
            run.fit(last, epochs=1, verbose=0)
        for copy in (twin, loaded):
            assert_same_variables(self, copy.weights, model.weights)
            assert_same_variables(self, copy.g_optimizer.variables, model.g_optimizer.variables)

    def test_config_round_trip(self):
        model = GAN(
            *parts(), label_smoothing=0.2, replay_buffer_size=4, replay_fraction=0.25, seed=3
        )
        clone = assert_config_round_trip(self, model)
        self.assertEqual(
            (clone.label_smoothing, clone.replay_buffer_size, clone.latent_dim), (0.2, 4, LATENT)
        )


class GANBadInputTest(tf.test.TestCase):
    @rejects_bad_input(GAN, GAN.compile, GAN.generate)
    def test_bad_arguments(self):
        generator, discriminator = parts()
        with self.assertRaisesRegex(TypeError, "`generator`"):
            GAN("generator", discriminator)
        with self.assertRaisesRegex(ValueError, "`latent_dim`.*size of the generator's input"):
            GAN(generator, discriminator, latent_dim=5)
        other = dcgan_discriminator((16, 16, 1), filters=(4,), kernel_size=3)
        with self.assertRaisesRegex(
            ValueError, "`discriminator`.*generator's output, of shape \\(8, 8, 1\\)"
        ):
            GAN(generator, other)
        with self.assertRaisesRegex(
            ValueError, "`label_smoothing`. Expected a number in \\[0.0, 1.0\\)"
        ):
            GAN(generator, discriminator, label_smoothing=1.0)
        with self.assertRaisesRegex(ValueError, "`replay_buffer_size`"):
            GAN(generator, discriminator, replay_buffer_size=-1)
        with self.assertRaisesRegex(ValueError, "`replay_fraction`"):
            GAN(generator, discriminator, replay_fraction=1.5)
        with self.assertRaisesRegex(TypeError, "`seed`"):
            GAN(generator, discriminator, seed="0")
        model = GAN(generator, discriminator)
        optimizer = keras.optimizers.Adam()
        with self.assertRaisesRegex(
            ValueError, "`g_optimizer`. Expected another optimizer instance"
        ):
            model.compile(d_optimizer=optimizer, g_optimizer=optimizer)
        with self.assertRaisesRegex(TypeError, "`kwargs`.*metrics"):
            model.compile(metrics=["accuracy"])
        with self.assertRaisesRegex(ValueError, "`n`. Expected an integer >= 1"):
            model.generate(0)
        with self.assertRaisesRegex(TypeError, "`seed`"):
            model.generate(2, seed=1.5)
