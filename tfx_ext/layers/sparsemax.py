"""Sparsemax layer.

Replaces `tfa.layers.Sparsemax` (TFA's results, including NaN for rows with
infinities). Keras 3 core has the activation (`keras.activations.sparsemax`)
but no layer with TFA's name.
"""

import keras

from tfx_ext._core.arguments import check_int
from tfx_ext.activations.sparsemax import sparsemax


@keras.saving.register_keras_serializable(package="tfx_ext")
class Sparsemax(keras.layers.Layer):
    """Applies `tfx_ext.activations.sparsemax` along `axis`; the output has the input's shape.

    Args:
        axis: The axis to normalize. Defaults to `-1`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A floating-point tensor.

    Example:

    >>> Sparsemax()(np.array([[-1.0, 0.0, 1.0]]))
    [[0.0, 0.0, 1.0]]
    """

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.axis = check_int("axis", axis)

    def call(self, inputs):
        return sparsemax(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis}
