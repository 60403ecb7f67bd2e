"""Aligning the ranks of targets and predictions before an elementwise loss.

One home for the rules every loss and the Trainer apply, so that targets of
shape `(n,)` never broadcast against predictions `(n, 1)` into `(n, n)`.
"""

from keras import ops


def squeeze_or_expand_to_same_rank(y_true, y_pred):
    """What `compile` does before calling a loss function.

    When the ranks differ by one and the longer one ends in an axis of size
    1, that axis is dropped, or, when the other one is a vector, the vector
    gains one: `(n,)` with `(n, 1)` gives two `(n, 1)`; `(n, k, 1)` with
    `(n, k)` gives two `(n, k)`.

    Returns:
        `(y_true, y_pred)`, aligned.
    """
    t, p = len(y_true.shape), len(y_pred.shape)
    if t == p + 1 and y_true.shape[-1] == 1:
        if p == 1:
            return y_true, ops.expand_dims(y_pred, -1)
        return ops.squeeze(y_true, -1), y_pred
    if p == t + 1 and y_pred.shape[-1] == 1:
        if t == 1:
            return ops.expand_dims(y_true, -1), y_pred
        return y_true, ops.squeeze(y_pred, -1)
    return y_true, y_pred


def expand_to_columns(y_true, y_pred):
    """For losses whose predictions have one column per target quantity
    (quantiles): targets one rank short gain a trailing axis, so `(n,)`
    broadcasts over `(n, q)`; predictions one rank short of targets ending
    in 1 gain one too.

    Returns:
        `(y_true, y_pred)`, aligned.
    """
    if len(y_true.shape) == len(y_pred.shape) - 1:
        return ops.expand_dims(y_true, -1), y_pred
    if len(y_pred.shape) == len(y_true.shape) - 1 and y_true.shape[-1] == 1:
        return y_true, ops.expand_dims(y_pred, -1)
    return y_true, y_pred
