"""Sampled softmax for outputs over many classes ("Hands-On ML" ch. 16).

A sampled softmax needs the output layer's weights, so it cannot be a plain
`keras.losses.Loss` (a loss sees only `y_true` and `y_pred`, and one that
held a reference to a layer would come back from `load_model` untied). It is
therefore an output *layer* that owns the weights and, while training with
labels, adds the sampled loss with `add_loss`. At inference it is a plain
softmax over all classes.

TensorFlow backend only: it uses `tf.nn.sampled_softmax_loss` and its
log-uniform (Zipfian) candidate sampler; Keras 3 has no sampled-softmax op.
Keras 3 core has no equivalent; TFA had none either.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, invalid
from tfx_ext._core.protocols import PrunableLayer, kernels


@keras.saving.register_keras_serializable(package="tfx_ext")
class SampledSoftmaxLoss(keras.layers.Layer, PrunableLayer):
    """Softmax output layer trained with a sampled softmax loss (Jean et al., 2015).

    With `labels` and `training=True`, it adds to the model's losses the mean
    over the batch of `tf.nn.sampled_softmax_loss`: the cross-entropy of the
    true class against `num_sampled` classes drawn from a log-uniform
    distribution (frequent classes — small ids — more often; sort your
    vocabulary by frequency). That costs `O(num_sampled)` instead of
    `O(num_classes)` per example. It returns softmax probabilities over all
    classes; inside a compiled training step nothing consumes them, so TF
    prunes that full product.

    Args:
        num_classes: Number of classes, an integer >= 2.
        num_sampled: Classes sampled per batch, an integer in
            `[1, num_classes)`.
        remove_accidental_hits: Whether to drop sampled classes equal to the
            true one. Defaults to `True`.
        kernel_initializer: Initializer of the `(num_classes, dim)` weights.
        bias_initializer: Initializer of the `(num_classes,)` biases.
        seed: Optional integer seed of the sampler.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: The last hidden layer, shape `(batch, dim)`.
        labels: Optional integer labels, shape `(batch,)` or `(batch, 1)`.
        training: Python boolean; the loss is added only when `True`.

    Example:

    >>> x = keras.Input((16,)); y = keras.Input((), dtype="int32")
    >>> h = keras.layers.Dense(64, activation="relu")(x)
    >>> output = SampledSoftmaxLoss(num_classes=50_000, num_sampled=64)
    >>> trainer = keras.Model([x, y], output(h, labels=y))
    >>> trainer.compile(optimizer="adam")          # the layer adds the loss
    >>> trainer.fit([x_train, y_train], epochs=5)
    >>> predictor = keras.Model(x, output(h))      # full softmax
    """

    def __init__(
        self,
        num_classes,
        num_sampled,
        remove_accidental_hits=True,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        seed=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if keras.backend.backend() != "tensorflow":
            raise RuntimeError(
                "SampledSoftmaxLoss needs the TensorFlow backend "
                f"(KERAS_BACKEND=tensorflow). Current backend: {keras.backend.backend()}"
            )
        self.num_classes = check_int("num_classes", num_classes, minimum=2)
        self.num_sampled = check_int("num_sampled", num_sampled, minimum=1)
        if self.num_sampled >= self.num_classes:
            raise invalid(
                "num_sampled",
                f"an integer smaller than num_classes={self.num_classes}",
                num_sampled,
            )
        self.remove_accidental_hits = bool(remove_accidental_hits)
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.seed = seed

    def build(self, inputs_shape, labels_shape=None):
        if len(inputs_shape) != 2 or inputs_shape[-1] is None:
            raise ValueError(
                "SampledSoftmaxLoss expects inputs of shape (batch, dim) with a "
                f"known dim. Received input_shape={inputs_shape}"
            )
        self.kernel = self.add_weight(
            name="kernel",
            shape=(self.num_classes, inputs_shape[-1]),
            initializer=self.kernel_initializer,
        )
        self.bias = self.add_weight(
            name="bias", shape=(self.num_classes,), initializer=self.bias_initializer
        )

    def logits(self, inputs):
        """Logits over all classes."""
        return ops.matmul(inputs, ops.transpose(self.kernel)) + self.bias

    def sampled_loss(self, inputs, labels, sampled_values=None):
        """Per-example sampled softmax loss (TensorFlow op: no keras.ops equivalent).

        `sampled_values` is an optional `(sampled, true_expected_count,
        sampled_expected_count)` triple from a TF candidate sampler; by
        default a log-uniform sampler draws it.
        """
        import tensorflow as tf

        labels = tf.reshape(tf.cast(labels, tf.int64), (-1, 1))
        return tf.nn.sampled_softmax_loss(
            weights=self.kernel,
            biases=self.bias,
            labels=labels,
            inputs=inputs,
            num_sampled=self.num_sampled,
            num_classes=self.num_classes,
            remove_accidental_hits=self.remove_accidental_hits,
            sampled_values=sampled_values,
            seed=self.seed,
        )

    def call(self, inputs, labels=None, training=False):
        if training and labels is not None:
            self.add_loss(ops.mean(self.sampled_loss(inputs, labels)))
        return ops.softmax(self.logits(inputs))

    def compute_output_shape(self, inputs_shape, labels_shape=None):
        return (inputs_shape[0], self.num_classes)

    def get_prunable_weights(self):
        """The kernels magnitude pruning may zero (the `PrunableLayer` protocol)."""
        return kernels(self)

    def get_config(self):
        return {
            **super().get_config(),
            "num_classes": self.num_classes,
            "num_sampled": self.num_sampled,
            "remove_accidental_hits": self.remove_accidental_hits,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "seed": self.seed,
        }
