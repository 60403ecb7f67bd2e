"""LiSHT activation.

Replaces `tfa.activations.lisht`. Keras 3 core has no equivalent.
"""

import keras
from keras import ops

from tfx_ext.activations.float_inputs import float_tensor


@keras.saving.register_keras_serializable(package="tfx_ext")
def lisht(x):
    """Linearly scaled hyperbolic tangent: `x * tanh(x)` (Roy et al., 2019).

    Args:
        x: A floating-point tensor.

    Returns:
        A tensor of the same shape and dtype.

    Example:

    >>> lisht(np.array([1.0, 0.0, 1.0]))
    [0.7615942, 0.0, 0.7615942]
    """
    x = float_tensor("x", x)
    return x * ops.tanh(x)
