"""Dense layer tied to another Dense layer's kernel (HOML ch. 17).

Keras 3 core has no tied-weights layer (nor had TFA).
"""

import keras
from keras import ops
from keras.saving import deserialize_keras_object, serialize_keras_object

from tfx_ext._core.arguments import invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class DenseTranspose(keras.layers.Layer):
    """A decoder layer that reuses the transpose of an encoder `Dense` kernel.

    Tying a decoder to its encoder halves the weights of an autoencoder and
    regularizes it. The layer owns only its bias; the kernel is the tied
    layer's variable, so training updates both.

    The tie survives `model.save("m.keras")` and `keras.models.load_model`
    when the tied `Dense` is a layer of the same (functional or Sequential)
    model: Keras's object sharing restores both to the same layer object.
    Keep encoder and decoder layers in one flat model: Keras 3.15 does not
    restore sharing for a `Dense` nested in a sub-model (loading then fails
    with "expected 2 variables, but received 0"). `tf.train.Checkpoint` and
    `save_weights`/`load_weights` restore a model of either form into a twin
    built in code, tie included.

    Anything that rebuilds the layer from its config alone
    (`keras.models.clone_model`, `model_from_json`, `Model.from_config`,
    `tfx_ext.uncertainty.enable_mc_dropout`) cannot know which layer to tie
    to: it would decode with a separate copy of the kernel, silently
    untying the autoencoder. Such a copy raises a `ValueError` when it is
    built, instead of running untied.

    Args:
        dense: The `keras.layers.Dense` layer whose kernel is reused.
        activation: Activation function. Defaults to `None` (linear).
        use_bias: Whether the layer has its own bias. Defaults to `True`.
        bias_initializer: Initializer of the bias. Defaults to `"zeros"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor whose last axis has `dense.units` features. The output
            has as many features as `dense`'s input.

    Example:

    >>> encoder = keras.layers.Dense(30, activation="selu")
    >>> decoder = DenseTranspose(encoder, activation="sigmoid")
    >>> x = keras.Input((784,))
    >>> model = keras.Model(x, decoder(encoder(x)))   # 784 -> 30 -> 784
    """

    def __init__(
        self,
        dense,
        activation=None,
        use_bias=True,
        bias_initializer="zeros",
        **kwargs,
    ):
        super().__init__(**kwargs)
        if not isinstance(dense, keras.layers.Dense):
            raise invalid("dense", "a keras.layers.Dense layer", dense, TypeError)
        self.dense = dense
        self.activation = keras.activations.get(activation)
        self.use_bias = bool(use_bias)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        # Set by from_config when Keras hands back a copy of the Dense rather
        # than the shared layer; a public constructor call is always tied.
        self._tie_lost = False

    def build(self, input_shape):
        if input_shape[-1] is not None and input_shape[-1] != self.dense.units:
            raise ValueError(
                f"DenseTranspose tied to '{self.dense.name}' expects inputs "
                f"with {self.dense.units} features (its units). "
                f"Received input_shape={input_shape}"
            )
        if self._tie_lost:
            raise ValueError(
                f"DenseTranspose '{self.name}' was rebuilt from its config alone, "
                f"so its tie to the Dense layer '{self.dense.name}' is lost: it would "
                "decode with a separate, untrained copy of the kernel. "
                "keras.models.clone_model, model_from_json and Model.from_config "
                "cannot restore a shared layer (only model.save + load_model "
                "can). Build the model again in code and copy the weights "
                "(set_weights, save_weights/load_weights or tf.train.Checkpoint), "
                "or save and load it as a .keras file."
            )
        if not self.dense.built:
            raise ValueError(
                f"DenseTranspose needs the tied layer '{self.dense.name}' to be "
                "built first: call it (or the encoder) before the decoder."
            )
        self.output_units = self.dense.kernel.shape[0]
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(self.output_units,),
                initializer=self.bias_initializer,
            )

    def call(self, inputs):
        outputs = ops.matmul(inputs, ops.transpose(self.dense.kernel))
        if self.use_bias:
            outputs = outputs + self.bias
        if self.activation is not None:
            outputs = self.activation(outputs)
        return outputs

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.dense.kernel.shape[0],)

    def get_config(self):
        return {
            **super().get_config(),
            "dense": serialize_keras_object(self.dense),
            "activation": keras.activations.serialize(self.activation),
            "use_bias": self.use_bias,
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        dense_config = config["dense"]
        # Inside `model.save`/`load_model`, Keras marks an object serialized
        # twice with a `shared_object_id` and hands back the same object for
        # both. Without the mark (clone_model, model_from_json, from_config),
        # deserializing makes a new Dense that nothing else uses.
        shared = isinstance(dense_config, dict) and "shared_object_id" in dense_config
        config["dense"] = deserialize_keras_object(dense_config)
        layer = cls(**config)
        layer._tie_lost = not shared
        return layer
