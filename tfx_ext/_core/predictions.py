"""What predictions and labels are: their layout, ranks, shapes, and whether they are probabilities.

One home for the rules that metrics, calibration, MC Dropout, the Trainer's
"accuracy", export (Classify signatures) and the TFLite parity check apply,
so that they cannot disagree:

- label format: a class axis, one-hot or sparse targets (static shapes only,
  tensors and NumPy arrays alike);
- rank alignment before an elementwise loss, so targets of shape `(n,)` never
  broadcast against predictions `(n, 1)` into `(n, n)`;
- static shapes where unknown (`None`) dimensions match anything;
- whether a model is a classifier, and whether outputs are probabilities.
"""

import numpy as np
from keras import ops

# Label format.


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


# Rank alignment.


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


# Static shapes (`tf.TensorShape.is_compatible_with` for every backend: tensors of
# JAX, Torch and NumPy have tuple shapes).


def shapes_compatible(first, second):
    """Whether two static shapes may describe the same tensor.

    The ranks must be equal and each pair of dimensions equal, or either one
    unknown.
    """
    first, second = tuple(first), tuple(second)
    return len(first) == len(second) and all(
        a is None or b is None or a == b for a, b in zip(first, second)
    )


# Classifiers and probabilities.

# The one tolerance of "are these probabilities?": float32 softmax rows sum to 1
# within ~1e-6, float16 ones within ~1e-3; logits almost never land this close
# to a probability row.
PROBABILITY_TOLERANCE = 1e-2


def is_classifier_output(y_pred):
    """Whether a batch of outputs is a classifier's: `(batch, classes)` with classes > 1."""
    return len(tuple(y_pred.shape)) == 2 and has_class_axis(y_pred)


def is_classifier_model(model):
    """Whether `model` is a single-output classifier: a `(batch, classes)`
    output with classes > 1 from a last layer with a softmax activation."""
    last = model.layers[-1] if model.layers else None
    activation = getattr(last, "activation", None)
    return (
        len(model.outputs) == 1
        and is_classifier_output(model.outputs[0])
        and getattr(activation, "__name__", "") == "softmax"
    )


def to_probabilities(y_pred, from_logits):
    """`keras.ops` form: softmax over classes (a sigmoid for one column) when `from_logits`."""
    y_pred = ops.convert_to_tensor(y_pred)
    if "float" not in str(y_pred.dtype):
        y_pred = ops.cast(y_pred, "float32")
    if not from_logits:
        return y_pred
    if has_class_axis(y_pred):
        return ops.softmax(y_pred, axis=-1)
    return ops.sigmoid(y_pred)


def to_probabilities_numpy(values, from_logits):
    """NumPy form of `to_probabilities`, in the array's own precision (float64 stays float64)."""
    if not from_logits:
        return values
    if has_class_axis(values):
        e = np.exp(values - values.max(axis=-1, keepdims=True))
        return e / e.sum(axis=-1, keepdims=True)
    return 1 / (1 + np.exp(-values))


def probability_checks(y_pred):
    """`keras.ops` form of the rule: `(in_range, rows_sum_to_one, low, high, row_sums)`.

    `in_range`: every value in [0, 1] within `PROBABILITY_TOLERANCE`;
    `rows_sum_to_one` (None without a class axis): each row sums to 1 within it.
    """
    low, high = ops.min(y_pred), ops.max(y_pred)
    in_range = ops.logical_and(
        ops.greater_equal(low, -PROBABILITY_TOLERANCE),
        ops.less_equal(high, 1 + PROBABILITY_TOLERANCE),
    )
    if not has_class_axis(y_pred):
        return in_range, None, low, high, None
    sums = ops.sum(y_pred, axis=-1)
    rows_ok = ops.less_equal(ops.max(ops.abs(sums - 1.0)), PROBABILITY_TOLERANCE)
    return in_range, rows_ok, low, high, sums


def probability_checks_numpy(values):
    """NumPy form of `probability_checks`, with the same tolerance, as Python bools."""
    values = np.asarray(values)
    in_range = bool(
        values.min() >= -PROBABILITY_TOLERANCE and values.max() <= 1 + PROBABILITY_TOLERANCE
    )
    if not has_class_axis(values):
        return in_range, None, values.min(), values.max(), None
    sums = values.sum(axis=-1)
    rows_ok = bool(np.max(np.abs(sums - 1.0)) <= PROBABILITY_TOLERANCE)
    return in_range, rows_ok, values.min(), values.max(), sums


def looks_like_probabilities(values):
    """Whether the NumPy array `values` holds class probabilities: a class
    axis, values in [0, 1] and rows summing to 1 (logits do not)."""
    values = np.asarray(values)
    if not has_class_axis(values):
        return False
    if values.size == 0:  # an empty batch of class rows breaks no rule
        return True
    in_range, rows_ok, *_ = probability_checks_numpy(values)
    return in_range and rows_ok
