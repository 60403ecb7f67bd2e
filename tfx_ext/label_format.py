"""How labels and predictions are laid out: class axis, sparse or one-hot.

One home for the shape rules that metrics, calibration and the Trainer's
"accuracy" apply, so that they cannot disagree. They read static shapes only,
and accept tensors and NumPy arrays alike.
"""


def has_class_axis(y_pred):
    """Whether `y_pred` holds one score per class: rank >= 2 and a last axis > 1.

    Otherwise it is one value per example (a binary probability, a regression).
    """
    shape = tuple(y_pred.shape)
    return len(shape) >= 2 and (shape[-1] or 0) > 1


def is_one_hot(y_true, y_pred):
    """Whether `y_true` holds one-hot rows for `y_pred`'s classes (same rank,
    same last axis); otherwise, next to a class axis, it holds class ids."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    return len(true_shape) == len(pred_shape) and true_shape[-1:] == pred_shape[-1:]
