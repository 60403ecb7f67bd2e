"""Geometric and harmonic means of streamed values.

Replace `tfa.metrics.GeometricMean` and `tfa.metrics.HarmonicMean` (same
arguments, state and results); used as `keras.metrics.Mean` is. Keras 3 core
has only the arithmetic `Mean`.
"""

import keras
import numpy as np
from keras import ops

from tfx_ext._core.arguments import invalid


def _weights_like(values, sample_weight, owner):
    if sample_weight is None:
        return ops.ones_like(values)
    sample_weight = ops.cast(sample_weight, values.dtype)
    weight_shape, value_shape = tuple(sample_weight.shape), tuple(values.shape)
    if None not in weight_shape + value_shape:
        try:
            fits = np.broadcast_shapes(weight_shape, value_shape) == value_shape
        except ValueError:
            fits = False
        if not fits:
            raise invalid(
                "sample_weight",
                f"a scalar or one weight per value (shape {value_shape})",
                owner=owner,
                received=f"sample_weight with shape {weight_shape}",
            )
    return ops.broadcast_to(sample_weight, ops.shape(values))


@keras.saving.register_keras_serializable(package="tfx_ext")
class GeometricMean(keras.metrics.Metric):
    """The (weighted) geometric mean of every value seen: `exp(sum(w * log(v)) / sum(w))`.

    0 as soon as one value is 0, as TFA.

    Args:
        name: Name of the metric instance. Defaults to `"geometric_mean"`.
        dtype: Dtype of the state and the result.

    Example:

    >>> m = GeometricMean()
    >>> m.update_state([1, 3, 5, 7, 9])
    >>> m.result()   # 3.9362833
    """

    def __init__(self, name="geometric_mean", dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.total = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="total"
        )
        self.count = self.add_variable(
            shape=(), initializer="zeros", dtype=self.dtype, name="count"
        )

    def update_state(self, values, sample_weight=None):
        values = ops.cast(values, self.dtype)
        weights = _weights_like(values, sample_weight, "GeometricMean")
        self.count.assign_add(ops.sum(weights))
        logs = ops.sum(weights * ops.log(values))
        # Once a 0 has made the total -inf, the mean stays 0 (TFA stops adding).
        # (Variables are read first: JAX's `where` takes arrays, not variables.)
        total = ops.convert_to_tensor(self.total)
        self.total.assign(ops.where(ops.isinf(total), total, total + logs))

    def result(self):
        total = ops.convert_to_tensor(self.total)
        mean = ops.exp(total / ops.convert_to_tensor(self.count))
        return ops.cast(ops.where(ops.isinf(total), 0.0, mean), self.dtype)

    def reset_state(self):
        self.total.assign(0.0)
        self.count.assign(0.0)


@keras.saving.register_keras_serializable(package="tfx_ext")
class HarmonicMean(keras.metrics.Mean):
    """The (weighted) harmonic mean of every value seen: `sum(w) / sum(w / v)`.

    The reciprocal of the mean of reciprocals, 0 when that mean is infinite
    (a value of 0) or 0 (infinite values), as TFA.

    Args:
        name: Name of the metric instance. Defaults to `"harmonic_mean"`.
        dtype: Dtype of the state and the result.

    Example:

    >>> m = HarmonicMean()
    >>> m.update_state([1, 4, 4])
    >>> m.result()   # 2.0
    """

    def __init__(self, name="harmonic_mean", dtype=None):
        super().__init__(name=name, dtype=dtype)

    def update_state(self, values, sample_weight=None):
        values = ops.cast(values, self.dtype)
        if sample_weight is not None:
            sample_weight = _weights_like(values, sample_weight, "HarmonicMean")
        super().update_state(1.0 / values, sample_weight=sample_weight)

    def result(self):
        mean = super().result()
        return ops.where(ops.equal(mean, 0.0), ops.zeros_like(mean), 1.0 / mean)
