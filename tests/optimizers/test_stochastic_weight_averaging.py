"""SWA beyond TFA's cases (TFA's: conformance/test_stochastic_weight_averaging.py)."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.optimizers import SWA


def sgd_path(start, grad, lr, steps):
    return [start - lr * grad * (n + 1) for n in range(steps)]


class SWATest(tf.test.TestCase):
    def test_average_of_the_snapshots(self):
        # Snapshots after steps 2, 5, 8 (start 2, period 3) of SGD on a constant gradient.
        optimizer = SWA(keras.optimizers.SGD(0.1), start_averaging=2, average_period=3)
        variable = keras.Variable([1.0, -1.0])
        grad = keras.ops.convert_to_tensor([1.0, 2.0])
        for _ in range(10):
            optimizer.apply_gradients([(grad, variable)])
        path = sgd_path(np.array([1.0, -1.0]), np.array([1.0, 2.0]), 0.1, 10)
        self.assertAllClose(variable, path[-1], atol=1e-6)
        optimizer.assign_average_vars([variable])
        self.assertAllClose(variable, np.mean([path[2], path[5], path[8]], axis=0), atol=1e-6)

    def test_gradient_accumulation_snapshots_updates_only(self):
        # 2 micro-steps per update: 20 calls are the 10 updates of the case above.
        inner = keras.optimizers.SGD(0.1, gradient_accumulation_steps=2)
        optimizer = SWA(inner, start_averaging=2, average_period=3)
        variable = keras.Variable([1.0, -1.0])
        grad = keras.ops.convert_to_tensor([1.0, 2.0])
        for _ in range(20):
            optimizer.apply_gradients([(grad, variable)])
        path = sgd_path(np.array([1.0, -1.0]), np.array([1.0, 2.0]), 0.1, 10)
        optimizer.assign_average_vars([variable])
        self.assertAllClose(variable, np.mean([path[2], path[5], path[8]], axis=0), atol=1e-6)

    def test_assign_before_the_first_snapshot_leaves_the_weights(self):
        optimizer = SWA(keras.optimizers.SGD(0.1), start_averaging=5, average_period=1)
        variable = keras.Variable([1.0])
        for _ in range(3):
            optimizer.apply_gradients([(keras.ops.convert_to_tensor([1.0]), variable)])
        optimizer.assign_average_vars([variable])
        self.assertAllClose(variable, [0.7], atol=1e-6)  # TFA would assign the zero average

    def test_unknown_trainable_variable_warns(self):
        optimizer = SWA("sgd")
        known = keras.Variable([1.0])
        optimizer.apply_gradients([(keras.ops.convert_to_tensor([1.0]), known)])
        with self.assertWarnsRegex(UserWarning, "SWA has no average for .*stranger"):
            optimizer.assign_average_vars([known, keras.Variable([2.0], name="stranger")])

    @rejects_bad_input(SWA, SWA.assign_average_vars)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"`average_period`.*>= 1.*average_period=0"):
            SWA("sgd", average_period=0)
        with self.assertRaisesRegex(ValueError, r"`start_averaging`.*>= 0.*start_averaging=-1"):
            SWA("sgd", start_averaging=-1)
        with self.assertRaisesRegex(TypeError, r"`start_averaging`.*start_averaging=1\.0"):
            SWA("sgd", start_averaging=1.0)
        with self.assertRaisesRegex(TypeError, r"argument `optimizer`.*optimizer=3"):
            SWA(3)
        with self.assertRaisesRegex(ValueError, r"SWA does not take `lr`, `decay`"):
            SWA("sgd", lr=0.1, decay=0.1)
        with self.assertRaisesRegex(ValueError, r"needs an optimizer that has been built"):
            SWA("sgd").assign_average_vars([keras.Variable([1.0])])
