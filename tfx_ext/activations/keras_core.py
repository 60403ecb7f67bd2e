"""TFA activations that Keras 3 core has, under TFA's names and defaults.

`tfa.activations.X` -> Keras 3:

- `gelu(x, approximate=True)` -> `keras.activations.gelu` (Keras defaults to
  `approximate=False`: this keeps TFA's default).
- `hardshrink(x, lower=-0.5, upper=0.5)` -> `keras.activations.hard_shrink(x, threshold)`
  when `lower == -upper`; TFA's asymmetric bounds are computed here.
- `softshrink(x, lower=-0.5, upper=0.5)` -> `keras.activations.soft_shrink(x, threshold)`
  likewise.
- `tanhshrink(x)` -> `keras.activations.tanh_shrink`.
- `mish(x)` -> `keras.activations.mish`.

Each is registered under `tfx_ext>`, so a layer built with
`activation=tfx_ext.activations.gelu` saves and loads with TFA's default kept.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_number, invalid
from tfx_ext.activations.float_inputs import float_tensor


def _bounds(lower, upper):
    lower = check_number("lower", lower)
    upper = check_number("upper", upper)
    if lower > upper:
        raise invalid("upper", f"a number >= lower ({lower})", upper)
    return lower, upper


@keras.saving.register_keras_serializable(package="tfx_ext")
def gelu(x, approximate=True):
    """GELU, `x * Phi(x)`, with TFA's default `approximate=True` (tanh form).

    Thin wrapper over `keras.activations.gelu`, whose default is the exact
    (erf) form.

    >>> gelu(np.array([0.0, 1.0]))   # approximate: 0.841192, exact: 0.8413447
    [0.0, 0.841192]
    """
    check_bool("approximate", approximate)
    return keras.activations.gelu(float_tensor("x", x), approximate=approximate)


@keras.saving.register_keras_serializable(package="tfx_ext")
def hardshrink(x, lower=-0.5, upper=0.5):
    """Hard shrink: `x` outside `[lower, upper]`, 0 inside.

    `keras.activations.hard_shrink(x, threshold=upper)` when `lower == -upper`.

    >>> hardshrink(np.array([-2.0, 0.2, 2.0]))
    [-2.0, 0.0, 2.0]
    """
    x = float_tensor("x", x)
    lower, upper = _bounds(lower, upper)
    if lower == -upper:
        return keras.activations.hard_shrink(x, threshold=upper)
    return ops.where(ops.logical_or(x < lower, x > upper), x, ops.zeros_like(x))


@keras.saving.register_keras_serializable(package="tfx_ext")
def softshrink(x, lower=-0.5, upper=0.5):
    """Soft shrink: `x - lower` below `lower`, `x - upper` above `upper`, 0 between.

    `keras.activations.soft_shrink(x, threshold=upper)` when `lower == -upper`.

    >>> softshrink(np.array([-1.0, 0.0, 1.0]))
    [-0.5, 0.0, 0.5]
    """
    x = float_tensor("x", x)
    lower, upper = _bounds(lower, upper)
    if lower == -upper:
        return keras.activations.soft_shrink(x, threshold=upper)
    zeros = ops.zeros_like(x)
    return ops.where(x < lower, x - lower, zeros) + ops.where(x > upper, x - upper, zeros)


@keras.saving.register_keras_serializable(package="tfx_ext")
def tanhshrink(x):
    """Tanh shrink, `x - tanh(x)`: `keras.activations.tanh_shrink`.

    >>> tanhshrink(np.array([-1.0, 0.0, 1.0]))
    [-0.23840582, 0.0, 0.23840582]
    """
    return keras.activations.tanh_shrink(float_tensor("x", x))


@keras.saving.register_keras_serializable(package="tfx_ext")
def mish(x):
    """Mish, `x * tanh(softplus(x))`: `keras.activations.mish`.

    >>> mish(np.array([1.0, 0.0]))
    [0.86509836, 0.0]
    """
    return keras.activations.mish(float_tensor("x", x))
