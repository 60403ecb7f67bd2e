"""`tile_batch`: repeat each batch entry `multiplier` times (TFA's `tfa.seq2seq.tile_batch`)."""

import keras
from keras import ops

from tfx_ext._core.arguments import check_int, invalid


def _tile(t, multiplier):
    t = ops.convert_to_tensor(t)
    if len(t.shape) < 1:
        raise invalid("t", "tensors of rank >= 1 (a batch dimension to tile)", t)
    # repeat (not tile): entries stay grouped, t[0], t[0], ..., t[1], t[1], ...
    return ops.repeat(t, multiplier, axis=0)


def tile_batch(t, multiplier, name=None):
    """Tiles the batch dimension of a (possibly nested structure of) tensor(s).

    Each tensor shaped `[batch_size, s0, s1, ...]` becomes
    `[batch_size * multiplier, s0, s1, ...]` with entries
    `t[0], t[0], ..., t[1], t[1], ...` (each repeated `multiplier` times): the
    layout `BeamSearchDecoder` expects for memories and initial states.

    Args:
        t: A tensor (or nested structure of tensors) of rank >= 1.
        multiplier: A positive Python integer (usually the beam width).
        name: Ignored; kept so TFA calls port unchanged.

    Returns:
        The same structure with every tensor tiled along axis 0.

    Raises:
        ValueError: if a tensor is a scalar or `multiplier` < 1.

    Example:

    >>> tile_batch(np.array([[1], [2]]), 2)  # [[1], [1], [2], [2]]
    """
    del name
    multiplier = check_int("multiplier", multiplier, minimum=1)
    return keras.tree.map_structure(lambda x: _tile(x, multiplier), t)
