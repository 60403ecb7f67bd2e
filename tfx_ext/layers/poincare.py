"""PoincareNormalize layer.

Replaces `tfa.layers.PoincareNormalize`. Keras 3 core has no equivalent.
"""

import numbers

import keras
from keras import ops

from tfx_ext._core.arguments import check_number, invalid


def _check_axis(axis):
    expected = "an integer or a list of integers"
    if isinstance(axis, numbers.Integral) and not isinstance(axis, bool):
        return int(axis)
    if (
        isinstance(axis, (list, tuple))
        and axis
        and all(isinstance(a, numbers.Integral) and not isinstance(a, bool) for a in axis)
    ):
        return [int(a) for a in axis]
    raise invalid("axis", expected, axis, TypeError)


@keras.saving.register_keras_serializable(package="tfx_ext")
class PoincareNormalize(keras.layers.Layer):
    """Projects into the Poincare ball: slices of norm > `1 - epsilon` are scaled to that norm.

    `x * (1 - epsilon) / ||x||` where `||x|| > 1 - epsilon`, `x` elsewhere; the
    norm is over `axis` (Nickel & Kiela, 2017).

    Args:
        axis: The axis, or list of axes, of each slice. Defaults to `1`.
        epsilon: Distance kept from the unit sphere, in (0, 1). Defaults to `1e-5`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A floating-point tensor.

    Example:

    >>> PoincareNormalize()(np.array([[3.0, 4.0], [0.3, 0.4]]))
    [[0.599994, 0.799992], [0.3, 0.4]]
    """

    def __init__(self, axis=1, epsilon=1e-5, **kwargs):
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        self.epsilon = check_number("epsilon", epsilon, 0, 1, low_open=True, high_open=True)

    def call(self, inputs):
        x = ops.convert_to_tensor(inputs, dtype=self.compute_dtype)
        axis = tuple(self.axis) if isinstance(self.axis, list) else self.axis
        square_sum = ops.sum(ops.square(x), axis=axis, keepdims=True)
        x_inv_norm = ops.minimum((1.0 - self.epsilon) * ops.rsqrt(square_sum), 1.0)
        return x * x_inv_norm

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
