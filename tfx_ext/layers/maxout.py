"""Maxout layer.

Replaces `tfa.layers.Maxout` (same grouping, so ported weights give the same
outputs). Keras 3 core has no equivalent.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class Maxout(keras.layers.Layer):
    """Maxout: the maximum over groups of input features (Goodfellow et al., 2013).

    The `C` features on `axis` are split into `num_units` outputs; output unit
    `j` is the maximum of input features `j, j + num_units, j + 2 * num_units,
    ...` (the grouping `tfa.layers.Maxout` used). Put it after a `Dense` or
    convolution with `num_units * k` units to get a maxout unit of `k` pieces.

    Args:
        num_units: Number of output units. Must divide the size of `axis`
            (which may be unknown until the data arrives).
        axis: The feature axis. Defaults to `-1`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A tensor whose size on `axis` is a multiple of `num_units`.

    Example:

    >>> x = np.array([[1.0, 5.0, 3.0, 2.0]])
    >>> Maxout(num_units=2)(x)   # max(1, 3), max(5, 2)
    [[3.0, 5.0]]
    """

    def __init__(self, num_units, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.num_units = check_int("num_units", num_units, minimum=1)
        self.axis = check_int("axis", axis)

    def _resolve_axis(self, rank):
        axis = self.axis + rank if self.axis < 0 else self.axis
        if not 0 < axis < rank:
            raise invalid("axis", f"a non-batch axis of an input of rank {rank}", self.axis)
        return axis

    def _check_channels(self, channels):
        # An unknown size (None) is checked when the data arrives, by the reshape.
        if channels is not None and channels % self.num_units:
            raise invalid(
                "num_units",
                f"a divisor of the number of features on axis {self.axis} ({channels})",
                self.num_units,
            )

    def build(self, input_shape):
        axis = self._resolve_axis(len(input_shape))
        self._check_channels(input_shape[axis])

    def call(self, inputs):
        inputs = ops.convert_to_tensor(inputs)
        axis = self._resolve_axis(len(inputs.shape))
        self._check_channels(inputs.shape[axis])
        # Known sizes as ints, unknown ones as tensors (ops.shape), the grouped size as -1.
        shape = list(ops.shape(inputs))
        grouped = shape[:axis] + [-1, self.num_units] + shape[axis + 1 :]
        return ops.max(ops.reshape(inputs, grouped), axis=axis)

    def compute_output_shape(self, input_shape):
        axis = self._resolve_axis(len(input_shape))
        shape = list(input_shape)
        shape[axis] = self.num_units
        return tuple(shape)

    def get_config(self):
        return {**super().get_config(), "num_units": self.num_units, "axis": self.axis}
