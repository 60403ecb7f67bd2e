"""The input check every activation shares: a floating-point tensor, as TFA required."""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid


def float_tensor(name, value):
    """Converts `value` to a tensor and checks that its dtype is floating point."""
    try:
        tensor = ops.convert_to_tensor(value)
    except (TypeError, ValueError):
        raise invalid(name, "a floating-point tensor", value, TypeError) from None
    dtype = keras.backend.standardize_dtype(tensor.dtype)
    if "float" not in dtype:
        raise invalid(name, "a floating-point tensor", f"a tensor of dtype {dtype}", TypeError)
    return tensor
