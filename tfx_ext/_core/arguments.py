"""Validation of public arguments, with Keras's own error wording.

Every message names the argument, the expected value and the received one:
``Invalid value received for argument `rate`. Expected a float between 0 and 1.
Received: rate=1.5``.
"""

import numbers


def invalid_prefix(name, owner=None):
    """The opening of every argument error: ``Invalid value received for argument `name`.``

    `owner` names the component whose call received it (``of BrierScore``), for
    arguments of `update_state` or a loss call rather than of a constructor.
    """
    where = f" of {owner}" if owner else ""
    return f"Invalid value received for argument `{name}`{where}."


def invalid(name, expected, value=None, error=ValueError, owner=None, received=None):
    """Builds the standard error for argument `name` (returned, not raised).

    The message ends with ``Received: name=value``, or ``Received: `` and
    `received` when given (a shape or a summary rather than the value).
    """
    received = f"{name}={value!r}" if received is None else received
    return error(f"{invalid_prefix(name, owner)} Expected {expected}. Received: {received}")


def check_bool(name, value):
    """Checks that `value` is True or False (not 0, 1 or a string)."""
    if not isinstance(value, bool):
        raise invalid(name, "True or False (a bool)", value, TypeError)
    return value


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_number(name, value, low=None, high=None, low_open=False, high_open=False):
    """Checks that `value` is a real number in the given (optionally open) range."""
    lo = "(" if low_open else "["
    hi = ")" if high_open else "]"
    if low is not None and high is not None:
        expected = f"a number in {lo}{low}, {high}{hi}"
    elif low is not None:
        expected = f"a number {'>' if low_open else '>='} {low}"
    elif high is not None:
        expected = f"a number {'<' if high_open else '<='} {high}"
    else:
        expected = "a number"
    if not _is_real(value):
        raise invalid(name, expected, value, TypeError)
    if value != value:  # NaN
        raise invalid(name, expected, value)
    if low is not None and (value < low or (low_open and value == low)):
        raise invalid(name, expected, value)
    if high is not None and (value > high or (high_open and value == high)):
        raise invalid(name, expected, value)
    return float(value)


def check_int(name, value, minimum=None):
    """Checks that `value` is an integer, at least `minimum` when given."""
    expected = "an integer" if minimum is None else f"an integer >= {minimum}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(name, expected, value, TypeError)
    if minimum is not None and value < minimum:
        raise invalid(name, expected, value)
    return int(value)


def check_choice(name, value, choices):
    """Checks that `value` is one of `choices`."""
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise invalid(name, f"one of {options}", value)
    return value


def check_data(name, value, example_shape=None, allow_empty=False):
    """Checks an input batch and returns it as a NumPy array.

    The batch must be numeric, hold at least one example (unless
    `allow_empty`), be finite (a NaN would silently spread through a model
    or a statistic), and, when `example_shape` is given, hold examples of that
    shape (`None` entries match any size).
    """
    import numpy as np

    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        raise invalid(name, "a numeric array", type(value).__name__, TypeError) from None
    if array.dtype == object or not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
        raise invalid(name, "a numeric array", f"an array of dtype {array.dtype}", TypeError)
    if array.ndim == 0 or (array.shape[0] == 0 and not allow_empty):
        raise invalid(name, "a non-empty batch of examples", f"an array of shape {array.shape}")
    if example_shape is not None:
        expected = tuple(example_shape)
        actual = array.shape[1:]
        if len(actual) != len(expected) or any(
            e is not None and e != a for e, a in zip(expected, actual)
        ):
            raise invalid(name, f"examples of shape {expected}", f"an array of shape {array.shape}")
    if np.issubdtype(array.dtype, np.inexact):
        bad = int(np.size(array) - np.count_nonzero(np.isfinite(array)))
        if bad:
            raise invalid(name, "finite values", f"an array with {bad} NaN or infinite values")
    return array


def check_port(name, value, allow_zero=False):
    """Checks that `value` is a TCP port number (0 allowed, meaning "off", when `allow_zero`)."""
    low = 0 if allow_zero else 1
    expected = f"an integer port number between {low} and 65535"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise invalid(name, expected, value, TypeError)
    if not low <= value <= 65535:
        raise invalid(name, expected, value)
    return int(value)


def check_name(name, value):
    """Checks that `value` is a non-empty string (a model or feature name)."""
    if not isinstance(value, str):
        raise invalid(name, "a non-empty string", value, TypeError)
    if not value:
        raise invalid(name, "a non-empty string", value)
    return value


def check_int_tuple(name, value, length, minimum=1):
    """Checks an integer or a sequence of `length` integers >= `minimum`; returns a tuple.

    A single integer is repeated `length` times (Keras's `normalize_tuple`).
    """
    expected = f"an integer or a sequence of {length} integers >= {minimum}"
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        items = (value,) * length
    else:
        try:
            items = tuple(value)
        except TypeError:
            raise invalid(name, expected, value, TypeError) from None
    if len(items) != length or any(
        isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum for v in items
    ):
        raise invalid(name, expected, value)
    return tuple(int(v) for v in items)
