"""Checks on the tensors fed to metrics: probabilities, labels, shapes.

One home for "probabilities or logits?" and "are these labels in range?" for
`ExpectedCalibrationError` and `BrierScore`: both turn logits into
probabilities with `from_logits=True`, as Keras's cross-entropy losses do, and
refuse anything else that is not a probability.

The checks run on the data, so they cannot all happen at trace time: eagerly
they raise `ValueError`; inside a `tf.function` (`fit`, `evaluate`) they are
`tf.debugging.Assert` ops that fail the step with `InvalidArgumentError` and
the same message. Under XLA (`jit_compile=True`) TensorFlow drops assertions,
and on other backends a traced step is not checked (JAX cannot raise on
traced values); eager calls are checked on every backend.
`scripts/bench/metric_checks.py` measures their cost.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid_prefix
from tfx_ext._core.predictions import (
    has_class_axis,
    is_one_hot,
    probability_checks,
    to_probabilities,
)


def require(condition, message, *data):
    """Raises `ValueError(message + data)` now, or returns an assertion for the graph being traced.

    Returns a list of assertion ops (empty when the check ran eagerly), for `after`.
    """
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        if not tf.executing_eagerly():
            # No keras.ops assertion exists; this is the TensorFlow graph's own.
            return [tf.debugging.Assert(condition, [message, *data], summarize=6)]
    try:
        holds = bool(ops.convert_to_numpy(condition))
    except Exception:  # a traced value on another backend: cannot be checked
        return []
    if not holds:
        values = " ".join(
            str(ops.convert_to_numpy(d)) if not isinstance(d, str) else d for d in data
        )
        raise ValueError(f"{message} {values}".strip())
    return []


def after(assertions, *tensors):
    """`tensors`, made to wait for `assertions` (so an op on bad data cannot fail first)."""
    if not assertions:
        return tensors
    import tensorflow as tf

    with tf.control_dependencies(assertions):
        return tuple(tf.identity(t) for t in tensors)


def _empty(x):
    # The min and max of an empty batch are +-inf: an empty batch passes every check.
    return ops.equal(ops.size(x), 0)


def where(owner, argument):
    return invalid_prefix(argument, owner)


def check_batch(y_true, y_pred, owner, argument="y_true"):
    """Checks that labels (or `argument`) and predictions describe the same examples."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    multiclass = has_class_axis(y_pred)
    if (
        multiclass
        and len(true_shape) == len(pred_shape)
        and true_shape[-1] not in (1, pred_shape[-1])
    ):
        raise ValueError(
            f"{where(owner, 'y_true')} Expected class ids or one-hot rows of "
            f"{pred_shape[-1]} columns (y_pred has shape {pred_shape}). "
            f"Received: y_true with shape {true_shape}"
        )
    if true_shape and pred_shape and None not in (true_shape[0], pred_shape[0]):
        if true_shape[0] != pred_shape[0]:
            raise ValueError(
                f"{where(owner, argument)} Expected one value per example of y_pred "
                f"(shape {pred_shape}). Received: {argument} with shape {true_shape}"
            )
    elif true_shape and pred_shape:
        return require(
            ops.equal(ops.shape(y_true)[0], ops.shape(y_pred)[0]),
            f"{where(owner, argument)} Expected one value per example of y_pred. "
            f"Received batch sizes ({argument}, y_pred):",
            ops.shape(y_true)[0],
            ops.shape(y_pred)[0],
        )
    return []


def check_same_shape(y_true, y_pred, owner):
    """Checks that `y_true` and `y_pred` have the same shape (statically, else in the graph)."""
    true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
    message = f"{where(owner, 'y_true')} Expected the shape of y_pred, {pred_shape}."
    if len(true_shape) != len(pred_shape) or any(
        a is not None and b is not None and a != b for a, b in zip(true_shape, pred_shape)
    ):
        raise ValueError(f"{message} Received: y_true with shape {true_shape}")
    if None in true_shape or None in pred_shape:
        return require(
            ops.all(ops.equal(ops.shape(y_true), ops.shape(y_pred))),
            f"{message} Received: y_true with shape",
            ops.shape(y_true),
            "and y_pred",
            ops.shape(y_pred),
        )
    return []


def check_probabilities(y_pred, owner):
    """Checks finite values in [0, 1], rows summing to 1 when there are several columns."""
    in_range, rows_ok, low, high, sums = probability_checks(y_pred)
    hint = "Pass from_logits=True if the model outputs logits."
    if rows_ok is not None:
        return require(
            ops.logical_or(_empty(y_pred), ops.logical_and(in_range, rows_ok)),
            f"{where(owner, 'y_pred')} Expected probabilities: values in [0, 1], each row "
            f"summing to 1. {hint} Received: y_pred with values from",
            low,
            "to",
            high,
            "and row sums from",
            ops.min(sums),
            "to",
            ops.max(sums),
        )
    return require(
        ops.logical_or(_empty(y_pred), in_range),
        f"{where(owner, 'y_pred')} Expected probabilities of class 1 in [0, 1]. {hint} "
        "Received: y_pred with values from",
        low,
        "to",
        high,
    )


def check_class_ids(ids, num_classes, owner):
    """Checks integer class ids in [0, num_classes)."""
    ids = ops.convert_to_tensor(ids)
    if "float" in str(ids.dtype):
        whole = ops.all(ops.equal(ids, ops.floor(ids)))
    else:
        whole = ops.convert_to_tensor(True)
    low, high = ops.min(ids), ops.max(ids)
    in_range = ops.logical_and(ops.greater_equal(low, 0), ops.less(high, num_classes))
    return require(
        ops.logical_or(_empty(ids), ops.logical_and(whole, in_range)),
        f"{where(owner, 'y_true')} Expected class ids in [0, {num_classes}) (one per "
        f"column of y_pred), or one-hot rows. Received: y_true with ids from",
        low,
        "to",
        high,
    )


def check_one_hot(y_true, owner):
    """Checks label rows in [0, 1] (one-hot, or smoothed)."""
    low, high = ops.min(y_true), ops.max(y_true)
    return require(
        ops.logical_or(
            _empty(y_true), ops.logical_and(ops.greater_equal(low, 0), ops.less_equal(high, 1))
        ),
        f"{where(owner, 'y_true')} Expected one-hot rows with values in [0, 1]. "
        "Received: y_true with values from",
        low,
        "to",
        high,
    )


def checked_labels_and_probabilities(y_true, y_pred, from_logits, owner):
    """`(y_true, probabilities, one_hot)` after every check; `one_hot` tells the label form."""
    y_true = ops.convert_to_tensor(y_true)
    probabilities = to_probabilities(y_pred, from_logits)
    if len(probabilities.shape) == 0:
        probabilities = ops.reshape(probabilities, (1,))
    if len(y_true.shape) == 0:
        y_true = ops.reshape(y_true, (1,))
    assertions = check_batch(y_true, probabilities, owner)
    if 0 in tuple(probabilities.shape) or 0 in tuple(y_true.shape):
        return y_true, probabilities, len(y_true.shape) == len(probabilities.shape) > 1
    assertions += check_probabilities(probabilities, owner)
    columns = probabilities.shape[-1] if len(probabilities.shape) >= 2 else 1
    if columns is None:
        raise ValueError(
            f"{where(owner, 'y_pred')} Expected a known number of columns. "
            f"Received: y_pred with shape {tuple(probabilities.shape)}"
        )
    one_hot = has_class_axis(probabilities) and is_one_hot(y_true, probabilities)
    if one_hot:
        assertions += check_one_hot(y_true, owner)
    else:
        assertions += check_class_ids(y_true, max(columns, 2), owner)
    y_true, probabilities = after(assertions, y_true, probabilities)
    return y_true, probabilities, one_hot
