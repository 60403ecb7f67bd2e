"""Randomized leaky ReLU.

Replaces `tfa.activations.rrelu`. Keras 3 core has no equivalent (its
`leaky_relu` has a fixed slope).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number, invalid
from tfx_ext.activations.float_inputs import float_tensor


@keras.saving.register_keras_serializable(package="tfx_ext")
def rrelu(x, lower=0.125, upper=0.3333333333333333, training=None, seed=None, rng=None):
    """Randomized leaky ReLU (Xu et al., 2015): `x` if `x >= 0`, else `a * x`.

    In training, `a` is drawn uniformly from `[lower, upper)` for each
    element; otherwise `a = (lower + upper) / 2`.

    Args:
        x: A floating-point tensor.
        lower: Lower bound of the slope. Defaults to `0.125`.
        upper: Upper bound of the slope, at least `lower`. Defaults to `1 / 3`.
        training: Whether to draw random slopes. `None` (TFA's default, which
            read Keras's learning phase) means inference.
        seed: An integer seed for the slopes, or `None`.
        rng: A `keras.random.SeedGenerator` to draw the slopes from (in place
            of TFA's `tf.random.Generator`, which only TensorFlow has). Give
            `seed` or `rng`, not both.

    Returns:
        A tensor of the same shape and dtype as `x`.

    Example:

    >>> rrelu(np.array([-1.0, 0.0, 1.0]), training=False)
    [-0.22916667, 0.0, 1.0]
    """
    x = float_tensor("x", x)
    lower = check_number("lower", lower)
    upper = check_number("upper", upper)
    if lower > upper:
        raise invalid("upper", f"a number >= lower ({lower})", upper)
    if rng is not None and seed is not None:
        raise ValueError("Either seed or rng should be specified. Not both at the same time.")
    if rng is not None and not isinstance(rng, keras.random.SeedGenerator):
        raise invalid("rng", "a keras.random.SeedGenerator", rng, TypeError)
    if training:
        a = keras.random.uniform(
            ops.shape(x),
            minval=lower,
            maxval=upper,
            dtype=x.dtype,
            seed=rng if rng is not None else seed,
        )
    else:
        a = ops.cast((lower + upper) / 2, x.dtype)
    return ops.where(x >= 0, x, a * x)
