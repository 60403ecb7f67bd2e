"""GAN training as a Keras model: the two-phase step of HOML ch. 17 under `fit`.

Keras 3 core has no GAN model (its DCGAN example overrides `train_step` by
hand); TensorFlow Addons had none.
"""

import contextlib

import keras
from keras import ops
from keras.saving import deserialize_keras_object, serialize_keras_object

from tfx_ext._core.arguments import check_int, check_number, invalid
from tfx_ext._core.model_graphs import check_graph_model


@contextlib.contextmanager
def _frozen(model):
    """The book's `discriminator.trainable = False` for phase 2, undone afterwards.

    Freezing (rather than only leaving the discriminator's variables out of
    the gradient) also runs its BatchNormalization layers in inference mode,
    as Keras does for a frozen layer; Dropout stays active.
    """
    was = model.trainable
    model.trainable = False
    try:
        yield
    finally:
        model.trainable = was


def _check_seed(seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise invalid("seed", "an integer or None", seed, TypeError)
    return seed


@keras.saving.register_keras_serializable(package="tfx_ext")
class GAN(keras.Model):
    """A generator and a discriminator trained by `fit` in the book's two phases.

    Each `train_step`, on a batch of `n` real images:

    1. Phase 1, the discriminator: `n` fakes from the generator (noise
       `N(0, I)` of shape `(n, latent_dim)`, generator in training mode) and
       the `n` real images, concatenated (fakes first), with targets 0 for
       fakes and `1 - label_smoothing` for real images; one loss over the
       `2n` predictions, one step of `d_optimizer` on the discriminator's
       weights.
    2. Phase 2, the generator: `n` new noise vectors through the generator
       and the frozen discriminator (`discriminator.trainable = False` during
       the phase, so its BatchNormalization layers run in inference mode as
       in the book's `gan` model; its Dropout stays on), targets 1, one step
       of `g_optimizer` on the generator's weights.

    Stabilizers from the chapter:

    - `label_smoothing`: one-sided (real targets only).
    - `replay_buffer_size` > 0: experience replay. The model keeps the last
      `replay_buffer_size` fakes in a variable (saved with the model and in
      checkpoints); phase 1 replaces a fraction `replay_fraction` of the new
      fakes by fakes drawn at random from the buffer (once it holds any),
      then stores the new fakes, oldest out first.
    - Minibatch discrimination: put a
      `tfx_ext.layers.MinibatchStandardDeviation` layer in the discriminator
      (`dcgan_discriminator(minibatch_std=True)`). This model does not offer
      feature matching.

    All noise and replay draws come from one `keras.random.SeedGenerator(seed)`.
    `train_step` uses `tf.GradientTape`: TensorFlow backend only (the
    JAX and torch trainers call `train_step` with other arguments).
    Calling the model runs the generator: `gan(noise)` gives images.

    Args:
        generator: A Sequential or functional model from noise
            `(latent_dim,)` to images.
        discriminator: A Sequential or functional model from images to one
            probability per image (or one logit, with a loss that takes
            logits).
        latent_dim: Size of the noise, an integer >= 1, or `None` to read it
            from the generator's input.
        label_smoothing: Real images' targets are `1 - label_smoothing`, a
            number in [0, 1). Defaults to 0.
        replay_buffer_size: How many past fakes to keep, an integer >= 0
            (0: no replay, the default).
        replay_fraction: Fraction of phase 1's fakes taken from the buffer,
            a number in [0, 1]. Defaults to 0.5.
        seed: Seed of the noise and replay draws, an integer or `None`.
        **kwargs: Base model arguments (`name`, ...).

    Example:

    >>> gan = GAN(dcgan_generator(100, (28, 28, 1)), dcgan_discriminator((28, 28, 1)))
    >>> gan.compile(d_optimizer="rmsprop", g_optimizer="rmsprop")
    >>> gan.fit(tf.data.Dataset.from_tensor_slices(images).batch(32), epochs=50)
    >>> fakes = gan.generate(16, seed=0)
    """

    def __init__(
        self,
        generator,
        discriminator,
        latent_dim=None,
        label_smoothing=0.0,
        replay_buffer_size=0,
        replay_fraction=0.5,
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self._gan_compile_config = None  # set by compile: what get_compile_config returns
        check_graph_model("generator", generator, "the GAN")
        check_graph_model("discriminator", discriminator, "the GAN")
        noise_shape = tuple(generator.inputs[0].shape[1:])
        if latent_dim is None:
            if len(noise_shape) != 1 or noise_shape[0] is None:
                raise invalid("generator", "a model whose input is a vector of noise", noise_shape)
            latent_dim = noise_shape[0]
        latent_dim = check_int("latent_dim", latent_dim, 1)
        if noise_shape != (latent_dim,):
            raise invalid(
                "latent_dim",
                f"the size of the generator's input {noise_shape}",
                latent_dim,
            )
        image_shape = tuple(generator.outputs[0].shape[1:])
        if tuple(discriminator.inputs[0].shape[1:]) != image_shape:
            raise invalid(
                "discriminator",
                f"a model whose input is the generator's output, of shape {image_shape}",
                f"a model with input shape {tuple(discriminator.inputs[0].shape[1:])}",
            )
        self.generator = generator
        self.discriminator = discriminator
        self.latent_dim = latent_dim
        self.image_shape = image_shape
        self.label_smoothing = check_number(
            "label_smoothing", label_smoothing, 0.0, 1.0, high_open=True
        )
        self.replay_buffer_size = check_int("replay_buffer_size", replay_buffer_size, 0)
        self.replay_fraction = check_number("replay_fraction", replay_fraction, 0.0, 1.0)
        self.seed = _check_seed(seed)
        self.seed_generator = keras.random.SeedGenerator(seed)
        # Keras saves no SeedGenerator state (Dropout's neither); tracked as a
        # weight of the model, the noise stream is saved and resumes exactly.
        self.noise_state = self.seed_generator.state
        if self.replay_buffer_size:
            self.replay_images = self.add_weight(
                shape=(self.replay_buffer_size, *image_shape),
                initializer="zeros",
                trainable=False,
                name="replay_images",
            )
            self.replay_count = self.add_weight(
                shape=(), initializer="zeros", dtype="int32", trainable=False, name="replay_count"
            )
        self.d_loss_tracker = keras.metrics.Mean(name="d_loss")
        self.g_loss_tracker = keras.metrics.Mean(name="g_loss")
        self.built = True  # generator and discriminator are built graph models

    def call(self, inputs, training=None):
        return self.generator(inputs, training=training)

    def generate(self, n, seed=None):
        """`n` images from noise drawn with `seed` (generator in inference mode)."""
        n = check_int("n", n, 1)
        noise = keras.random.normal((n, self.latent_dim), seed=_check_seed(seed))
        return self.generator(noise, training=False)

    # Compilation -----------------------------------------------------------

    def compile(
        self, d_optimizer="rmsprop", g_optimizer="rmsprop", loss="binary_crossentropy", **kwargs
    ):
        """Sets an optimizer per part and the loss of both phases.

        Args:
            d_optimizer: The discriminator's optimizer (name, config or
                instance).
            g_optimizer: The generator's optimizer; a different instance.
            loss: Loss between targets and the discriminator's outputs,
                reduced to a scalar. Defaults to binary cross-entropy on
                probabilities.
            **kwargs: `run_eagerly`, `steps_per_execution`, `jit_compile`, as
                `keras.Model.compile`.
        """
        unknown = set(kwargs) - {"run_eagerly", "steps_per_execution", "jit_compile"}
        if unknown:
            raise invalid(
                "kwargs",
                "only run_eagerly, steps_per_execution or jit_compile",
                sorted(unknown),
                TypeError,
            )
        super().compile(optimizer=None, loss=None, **kwargs)
        d = keras.optimizers.get(d_optimizer)
        g = keras.optimizers.get(g_optimizer)
        if d is g:
            raise invalid("g_optimizer", "another optimizer instance than d_optimizer", g)
        self.d_optimizer, self.g_optimizer = d, g
        self.gan_loss = keras.losses.get(loss)
        if self.gan_loss is None:
            raise invalid("loss", "a loss name, function or keras.losses.Loss", loss)
        if not d.built:
            d.build(self.discriminator.trainable_variables)
        if not g.built:
            g.build(self.generator.trainable_variables)
        self._gan_compile_config = {
            "d_optimizer": serialize_keras_object(d),
            "g_optimizer": serialize_keras_object(g),
            "loss": serialize_keras_object(self.gan_loss),
            **kwargs,
        }

    def get_compile_config(self):
        return self._gan_compile_config

    def compile_from_config(self, config):
        config = dict(config)
        for key in ("d_optimizer", "g_optimizer", "loss"):
            config[key] = deserialize_keras_object(config[key])
        self.compile(**config)

    @property
    def metrics(self):
        return [self.d_loss_tracker, self.g_loss_tracker]

    # Training --------------------------------------------------------------

    def _loss(self, targets, predictions):
        loss = self.gan_loss(targets, predictions)
        return ops.mean(loss)

    def _replay(self, fakes):
        """Mixes stored fakes into `fakes`, then stores `fakes` (experience replay)."""
        n = ops.shape(fakes)[0]
        stored = ops.minimum(self.replay_count, self.replay_buffer_size)
        picks = keras.random.randint((n,), 0, ops.maximum(stored, 1), seed=self.seed_generator)
        take = ops.logical_and(
            ops.arange(n)
            < ops.cast(ops.floor(self.replay_fraction * ops.cast(n, "float32")), "int32"),
            stored > 0,
        )
        take = ops.reshape(take, (-1,) + (1,) * len(self.image_shape))
        mixed = ops.where(take, ops.take(self.replay_images, picks, axis=0), fakes)
        newest = fakes[: self.replay_buffer_size]
        m = ops.shape(newest)[0]
        slots = (self.replay_count + ops.arange(m, dtype="int32")) % self.replay_buffer_size
        self.replay_images.assign(
            ops.scatter_update(
                self.replay_images, ops.expand_dims(slots, -1), ops.stop_gradient(newest)
            )
        )
        self.replay_count.assign(self.replay_count + ops.cast(m, "int32"))
        return mixed

    def train_step(self, data):
        import tensorflow as tf  # train_step is TensorFlow-only (see the class docstring)

        real = data[0] if isinstance(data, (list, tuple)) else data
        n = ops.shape(real)[0]

        # Phase 1: the discriminator on fakes (0) and real images (1 - s).
        noise = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        fakes = ops.stop_gradient(self.generator(noise, training=True))
        if self.replay_buffer_size:
            fakes = self._replay(fakes)
        images = ops.concatenate([fakes, ops.cast(real, fakes.dtype)], axis=0)
        targets = ops.concatenate(
            [ops.zeros((n, 1)), ops.full((n, 1), 1.0 - self.label_smoothing)], axis=0
        )
        with tf.GradientTape() as tape:
            d_loss = self._loss(targets, self.discriminator(images, training=True))
        weights = self.discriminator.trainable_weights
        self.d_optimizer.apply_gradients(zip(tape.gradient(d_loss, weights), weights))

        # Phase 2: the generator through the frozen discriminator, targets 1.
        noise = keras.random.normal((n, self.latent_dim), seed=self.seed_generator)
        with _frozen(self.discriminator):
            with tf.GradientTape() as tape:
                predictions = self.discriminator(
                    self.generator(noise, training=True), training=True
                )
                g_loss = self._loss(ops.ones((n, 1)), predictions)
        weights = self.generator.trainable_weights
        self.g_optimizer.apply_gradients(zip(tape.gradient(g_loss, weights), weights))

        self.d_loss_tracker.update_state(d_loss)
        self.g_loss_tracker.update_state(g_loss)
        return {"d_loss": self.d_loss_tracker.result(), "g_loss": self.g_loss_tracker.result()}

    # Serialization ---------------------------------------------------------

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "generator": serialize_keras_object(self.generator),
            "discriminator": serialize_keras_object(self.discriminator),
            "latent_dim": self.latent_dim,
            "label_smoothing": self.label_smoothing,
            "replay_buffer_size": self.replay_buffer_size,
            "replay_fraction": self.replay_fraction,
            "seed": self.seed,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["generator"] = deserialize_keras_object(config["generator"])
        config["discriminator"] = deserialize_keras_object(config["discriminator"])
        return cls(**config)
