"""SELU written for integer (int8 / int16x8) models.

`keras.activations.selu` lowers to `exp(x)` over every x: in an int8 model
that EXP tensor spans [0, exp(max x)] and its one scale wipes out the negative
branch (measured: 5 points of accuracy lost on a digits MLP). Written with
`n = relu(-x)` (so `relu(x) = x + n` and `min(x, 0) = -n`):

    selu(x) = scale * (x + n) + scale * alpha * exp(-n) - scale * alpha

EXP stays in (0, 1], and the layer's output `x` feeds only a multiply and an
add. Both matter to the converter (measured on the demo's SELU MLP): a RELU or
MINIMUM reading `x` directly makes it duplicate the Dense/Conv op to fuse the
activation (twice the matmuls, a second bias: +2.2 KB on a 12k-weight model),
and `x - min(x, 0)` quantizes `x` with the MINIMUM's range, cutting off its
positive side. The forms are equal in float (for x < 0, `x + n` is exactly
0), so `convert` (integer modes) and `quantize_aware` swap one for the other.
"""

import keras
from keras import ops

from tfx_ext.selu.constants import SELU_ALPHA, SELU_SCALE


@keras.saving.register_keras_serializable(package="tfx_ext")
def integer_friendly_selu(x):
    """SELU, computed so that integer quantization keeps its negative branch.

    Args:
        x: Input tensor.

    Returns:
        `selu(x)`, as `scale * (x + n) + scale * alpha * exp(-n) - scale * alpha`
        with `n = relu(-x)`.

    Example:

    >>> layer = keras.layers.Dense(10, activation=integer_friendly_selu)
    """
    negative_part = ops.relu(x * -1.0)  # a multiply, not NEG: TFLite has no int8 NEG
    return (
        SELU_SCALE * (x + negative_part)
        + (SELU_SCALE * SELU_ALPHA) * ops.exp(negative_part * -1.0)
        - SELU_SCALE * SELU_ALPHA
    )
