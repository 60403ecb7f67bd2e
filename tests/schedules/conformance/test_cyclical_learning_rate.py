"""TFA's `optimizers/tests/cyclical_learning_rate_test.py`, ported.

Same inputs, expected values and tolerances. TFA called the schedule once per
step in a Python loop; we call it once on the vector of all steps (the
schedule is elementwise), which checks the same values in a fraction of the
time.
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.schedules import (
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)


def _maybe_serialized(lr_decay, serialize_and_deserialize):
    if serialize_and_deserialize:
        return lr_decay.from_config(lr_decay.get_config())
    return lr_decay


def scale_fn(x):
    return 1 / (5 ** (x * 0.0001))


def values(schedule, steps):
    return keras.ops.convert_to_numpy(schedule(np.asarray(steps)))


class CyclicalLearningRateConformanceTest(tf.test.TestCase):
    def test_triangular_cyclical_learning_rate(self):
        for serialize in (True, False):
            initial_learning_rate, max_learning_rate, step_size = 0.1, 1, 40
            schedule = _maybe_serialized(
                TriangularCyclicalLearningRate(
                    initial_learning_rate=initial_learning_rate,
                    maximal_learning_rate=max_learning_rate,
                    step_size=step_size,
                ),
                serialize,
            )
            expected = np.concatenate(
                [
                    np.linspace(initial_learning_rate, max_learning_rate, num=step_size + 1),
                    np.linspace(max_learning_rate, initial_learning_rate, num=step_size + 1)[1:],
                ]
            )
            np.testing.assert_allclose(values(schedule, range(len(expected))), expected, 1e-6)

    def test_triangular2_cyclical_learning_rate(self):
        for serialize in (True, False):
            initial_lr, maximal_lr, step_size = 0.1, 1, 30
            schedule = _maybe_serialized(
                Triangular2CyclicalLearningRate(
                    initial_learning_rate=initial_lr,
                    maximal_learning_rate=maximal_lr,
                    step_size=step_size,
                ),
                serialize,
            )
            middle_lr = (maximal_lr + initial_lr) / 2
            expected = np.concatenate(
                [
                    np.linspace(initial_lr, maximal_lr, num=step_size + 1),
                    np.linspace(maximal_lr, initial_lr, num=step_size + 1)[1:],
                    np.linspace(initial_lr, middle_lr, num=step_size + 1)[1:],
                    np.linspace(middle_lr, initial_lr, num=step_size + 1)[1:],
                ]
            )
            np.testing.assert_allclose(values(schedule, range(len(expected))), expected, 1e-6)

    def test_exponential_cyclical_learning_rate(self):
        for serialize in (True, False):
            initial_learning_rate, maximal_learning_rate, gamma = 0.1, 1, 0.996
            schedule = _maybe_serialized(
                ExponentialCyclicalLearningRate(
                    initial_learning_rate=initial_learning_rate,
                    maximal_learning_rate=maximal_learning_rate,
                    step_size=2000,
                    gamma=gamma,
                ),
                serialize,
            )
            i = np.arange(0, 8001)
            non_bounded_value = np.abs(i / 2000.0 - 2 * np.floor(1 + i / (2 * 2000)) + 1)
            expected = initial_learning_rate + (
                maximal_learning_rate - initial_learning_rate
            ) * np.maximum(0, (1 - non_bounded_value)) * (gamma**i)
            np.testing.assert_allclose(values(schedule, i), expected, 1e-6)

    def check_custom(self, scale_mode):
        for serialize in (True, False):
            initial_learning_rate, maximal_learning_rate, step_size = 0.1, 1, 4000
            kwargs = {} if scale_mode is None else {"scale_mode": scale_mode}
            schedule = _maybe_serialized(
                CyclicalLearningRate(
                    initial_learning_rate=initial_learning_rate,
                    maximal_learning_rate=maximal_learning_rate,
                    step_size=step_size,
                    scale_fn=scale_fn,
                    **kwargs,
                ),
                serialize,
            )
            step = np.arange(1, 8001)
            cycle = np.floor(1 + step / (2 * step_size))
            non_bounded_value = np.abs(step / step_size - 2 * cycle + 1)
            scaled = scale_fn(step if scale_mode == "iterations" else cycle)
            expected = (
                initial_learning_rate
                + (maximal_learning_rate - initial_learning_rate)
                * np.maximum(0, 1 - non_bounded_value)
                * scaled
            )
            np.testing.assert_allclose(values(schedule, step), expected, 1e-6, 1e-6)

    def test_custom_cyclical_learning_rate(self):
        self.check_custom(None)

    def test_custom_cyclical_learning_rate_with_scale_mode(self):
        self.check_custom("iterations")
