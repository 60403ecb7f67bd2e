"""Constructor arguments that TFA's optimizers accepted and Keras 3's refuse.

TFA (Keras 2) optimizers took `lr=` as an alias of `learning_rate`, a tensor
or an integer as the learning rate, and a serialized schedule dict. Keras 3's
base optimizer accepts only a Python float, a schedule or a callable. We
normalize these here so that `tfa.optimizers.X(...)` calls work unchanged.
"""

import numbers
import warnings

import keras

from tfx_ext._core.arguments import invalid

_EXPECTED = (
    "a float > 0, a `keras.optimizers.schedules.LearningRateSchedule`, or a "
    "callable returning the rate"
)


def learning_rate_argument(learning_rate, kwargs):
    """Returns the learning rate to hand to Keras, taking TFA's `lr` alias from `kwargs`."""
    if "lr" in kwargs:
        warnings.warn(
            "The `lr` argument is deprecated, use `learning_rate` instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        learning_rate = kwargs.pop("lr")
    if isinstance(learning_rate, dict):
        learning_rate = keras.optimizers.schedules.deserialize(learning_rate)
    if isinstance(learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        return learning_rate
    if isinstance(learning_rate, bool):
        raise invalid("learning_rate", _EXPECTED, learning_rate, TypeError)
    if isinstance(learning_rate, numbers.Real):
        value = float(learning_rate)
    elif getattr(learning_rate, "shape", None) == () and hasattr(learning_rate, "dtype"):
        value = float(keras.ops.convert_to_numpy(learning_rate))  # a scalar tensor (TFA took one)
    elif callable(learning_rate):
        return learning_rate
    else:
        raise invalid("learning_rate", _EXPECTED, learning_rate, TypeError)
    if not value > 0:
        raise invalid("learning_rate", _EXPECTED, learning_rate)
    return value


def schedule_or_number(name, value, low=0.0):
    """A hyperparameter that may be a number >= `low` or a schedule (TFA's weight decay)."""
    if isinstance(value, dict):
        value = keras.optimizers.schedules.deserialize(value)
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    expected = f"a number >= {low} or a `LearningRateSchedule`"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid(name, expected, value, TypeError)
    if not value >= low:
        raise invalid(name, expected, value)
    return float(value)


def serialize_hyperparameter(value):
    """A schedule as its Keras serialization; a number as is."""
    if isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return keras.optimizers.schedules.serialize(value)
    return value
