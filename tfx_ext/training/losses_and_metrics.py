"""What `Trainer` makes of its `loss` and `metrics` arguments.

The counterpart of Keras's `trainers/compile_utils.py`: a loss becomes an
unreduced Keras loss (the Trainer divides by the global batch size itself),
metric names become metrics the way `compile` resolves them.
"""

import keras

from tfx_ext._core.arguments import invalid
from tfx_ext._core.predictions import is_one_hot, squeeze_or_expand_to_same_rank


class _UnreducedLoss(keras.losses.Loss):
    """A Keras loss with its reduction left to the Trainer.

    Wraps the instance (its `call` gives the per-example values) rather than
    rebuilding it from its config, which may not hold every argument
    (`keras.losses.Huber.get_config()` has no `delta`). `Loss.__call__` still
    applies sample weights and masks.
    """

    def __init__(self, loss):
        super().__init__(name=loss.name, reduction=None, dtype=loss.dtype)
        self.loss = loss

    def call(self, y_true, y_pred):
        return self.loss.call(y_true, y_pred)


class _PerExampleLoss(keras.losses.Loss):
    """A loss function as an unreduced Keras loss (sample weights, masks)."""

    def __init__(self, fn):
        name = getattr(fn, "__name__", "loss")
        # A lambda's "<lambda>" is not a valid name scope.
        super().__init__(name=name if name.isidentifier() else "loss", reduction=None)
        self.fn = fn

    def call(self, y_true, y_pred):
        return self.fn(*squeeze_or_expand_to_same_rank(y_true, y_pred))


def unreduced_loss(loss):
    """A Keras loss that returns per-element values (sample weights applied)."""
    if isinstance(loss, str):
        loss = keras.losses.get(loss)
    if isinstance(loss, keras.losses.Loss):
        return _UnreducedLoss(loss)
    if callable(loss):
        return _PerExampleLoss(loss)
    raise invalid(
        "loss",
        "a Keras loss, the name of one, or a function (y_true, y_pred) -> per-example loss",
        loss,
        TypeError,
    )


def _accuracy_for_shapes(y_true, y_pred):
    """The accuracy `compile` picks for "accuracy", from the static shapes."""
    if y_pred.shape[-1] == 1:
        return keras.metrics.binary_accuracy(y_true, y_pred)
    if is_one_hot(y_true, y_pred):
        return keras.metrics.categorical_accuracy(y_true, y_pred)
    return keras.metrics.sparse_categorical_accuracy(y_true, y_pred)


def resolve_metric(metric, strategy):
    """A Keras metric for `metric` (an instance, a name or a function).

    An instance whose variables were not created under `strategy` (when one
    is given) is replaced by a copy created in the current scope.
    """
    if isinstance(metric, keras.metrics.Metric):
        if strategy is None or all(
            strategy.extended.variable_created_in_scope(v.value) for v in metric.variables
        ):
            return metric
        # A copy whose variables are created under the strategy.
        return metric.__class__.from_config(metric.get_config())
    if metric in ("accuracy", "acc"):
        return keras.metrics.MeanMetricWrapper(_accuracy_for_shapes, name=metric)
    if isinstance(metric, str):
        try:
            resolved = keras.metrics.get(metric)
        except ValueError:
            raise invalid("metrics", "a list of Keras metrics or metric names", metric) from None
        if isinstance(resolved, keras.metrics.Metric):
            # Logged under the name the user wrote, as `compile` does.
            return resolved.__class__.from_config({**resolved.get_config(), "name": metric})
        return keras.metrics.MeanMetricWrapper(resolved, name=metric)
    if callable(metric):
        return keras.metrics.MeanMetricWrapper(metric, name=getattr(metric, "__name__", "metric"))
    raise invalid("metrics", "a list of Keras metrics or metric names", metric, TypeError)
