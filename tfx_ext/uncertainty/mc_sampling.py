"""Vectorized Monte Carlo sampling: many stochastic passes as one batch.

`mc_predict` and the exported `mc_uncertainty` signature both repeat the
inputs along the batch axis and run one forward pass, instead of a loop of
passes.
"""

from keras import ops


def repeated_forward(forward, x, repeats):
    """`forward` on `x` repeated `repeats` times along the batch axis.

    Args:
        forward: A function of one batch, e.g. a model in MC mode.
        x: The inputs, `(rows, ...)`.
        repeats: How many samples per row (an int or a scalar tensor).

    Returns:
        The outputs as `(repeats, rows, ...)`.
    """
    rows = ops.shape(x)[0]
    tiled = ops.tile(x, [repeats] + [1] * (len(x.shape) - 1))
    out = forward(tiled)
    return ops.reshape(out, (repeats, rows) + tuple(ops.shape(out)[1:]))
