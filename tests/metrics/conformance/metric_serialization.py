"""TFA's `check_metric_serialization`, for Keras 3 metrics.

Every constructor argument must be in `get_config()`; a copy built from the
config, given the original's state, must update to the same state and result.
"""

import inspect

import numpy as np


def check_metric_serialization(metric, y_true, y_pred, sample_weight=None):
    config = metric.get_config()
    for name in inspect.signature(type(metric).__init__).parameters:
        if name == "self":
            continue
        if name in ("args", "kwargs") or name not in config:
            raise KeyError(
                f"constructor parameter {name} of {type(metric).__name__} is not in get_config()"
            )
    copy = type(metric)(**config)
    for target, source in zip(copy.variables, metric.variables):
        target.assign(source)
    metric.update_state(y_true, y_pred, sample_weight)
    copy.update_state(y_true, y_pred, sample_weight)
    for a, b in zip(metric.variables, copy.variables):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b))
    np.testing.assert_allclose(np.asarray(metric.result()), np.asarray(copy.result()))
