"""Snake activation.

Replaces `tfa.activations.snake`. Keras 3 core has no equivalent.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.activations.float_inputs import float_tensor


@keras.saving.register_keras_serializable(package="tfx_ext")
def snake(x, frequency=1):
    """Snake: `x + (1 - cos(2 * frequency * x)) / (2 * frequency)` (Liu et al., 2020).

    Equal to `x + sin(frequency * x) ** 2 / frequency`: a periodic part on top
    of the identity, which lets a network extrapolate periodic functions.

    Args:
        x: A floating-point tensor.
        frequency: A non-zero scalar (a number or a scalar tensor, such as the
            trainable weight of `tfx_ext.layers.Snake`). Defaults to `1`.

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:

    >>> snake(np.array([-1.0, 0.0, 1.0]))
    [-0.29192656, 0.0, 1.7080734]
    """
    x = float_tensor("x", x)
    if isinstance(frequency, bool) or (isinstance(frequency, (int, float)) and frequency == 0):
        raise invalid("frequency", "a non-zero number", frequency)
    frequency = ops.cast(frequency, x.dtype)
    return x + (1 - ops.cos(2 * frequency * x)) / (2 * frequency)
