"""Snake layer.

Replaces `tfa.layers.Snake`. Keras 3 core has no equivalent.
"""

import keras

from tfx_ext.activations.snake import snake


@keras.saving.register_keras_serializable(package="tfx_ext")
class Snake(keras.layers.Layer):
    """The snake activation with a trainable scalar `frequency` (Liu et al., 2020).

    Args:
        frequency_initializer: Initializer of the `frequency` scalar. Defaults
            to `"ones"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A floating-point tensor.

    Example:

    >>> Snake()(np.array([[-1.0, 0.0, 1.0]]))   # frequency 1
    [[-0.29192656, 0.0, 1.7080734]]
    """

    def __init__(self, frequency_initializer="ones", **kwargs):
        super().__init__(**kwargs)
        self.frequency_initializer = keras.initializers.get(frequency_initializer)
        # A scalar independent of the input shape: created here, as TFA did.
        self.frequency = self.add_weight(
            shape=(), name="frequency", initializer=self.frequency_initializer, trainable=True
        )

    def call(self, inputs):
        return snake(inputs, self.frequency)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "frequency_initializer": keras.initializers.serialize(self.frequency_initializer),
        }
