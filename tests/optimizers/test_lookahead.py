"""Lookahead beyond TFA's cases (trajectories: conformance/test_lookahead.py)."""

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.optimizers.conformance.samples import run_dense_sample
from tfx_ext.optimizers import Lookahead


def reference_lookahead(values, grads, lr, k, alpha, steps):
    """SGD fast weights with Lookahead, in NumPy (Zhang et al., Algorithm 1)."""
    fast = [np.array(v, "float64") for v in values]
    slow = [f.copy() for f in fast]
    for step in range(1, steps + 1):
        fast = [f - lr * np.array(g) for f, g in zip(fast, grads)]
        if step % k == 0:
            slow = [s + alpha * (f - s) for s, f in zip(slow, fast)]
            fast = [s.copy() for s in slow]
    return fast


class LookaheadTest(tf.test.TestCase):
    def test_matches_the_algorithm_with_sgd(self):
        values, grads = ([1.0, 2.0], [3.0, 4.0]), ([0.1, 0.2], [0.03, 0.04])
        actual = run_dense_sample(
            Lookahead(keras.optimizers.SGD(0.5), sync_period=4, slow_step_size=0.3), 10
        )
        expected = reference_lookahead(values, grads, 0.5, 4, 0.3, 10)
        for a, e in zip(actual, expected):
            self.assertAllClose(a, e, atol=1e-6)

    def test_forwards_learning_rate_iterations_and_loss_scale(self):
        inner = keras.optimizers.Adam(0.01)
        opt = Lookahead(inner)
        opt.learning_rate = 0.02
        self.assertAllClose(inner.learning_rate, 0.02)
        run_dense_sample(opt, 3)
        self.assertEqual(int(opt.iterations), 3)
        self.assertEqual(int(inner.iterations), 3)
        opt.loss_scale_factor = 8.0
        self.assertEqual(inner.loss_scale_factor, 8.0)

    @rejects_bad_input(Lookahead)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"`sync_period`.*>= 1.*sync_period=0"):
            Lookahead("adam", sync_period=0)
        with self.assertRaisesRegex(TypeError, r"`sync_period`.*sync_period=2\.5"):
            Lookahead("adam", sync_period=2.5)
        with self.assertRaisesRegex(ValueError, r"`slow_step_size`.*\[0\.0, 1\.0\].*=1\.5"):
            Lookahead("adam", slow_step_size=1.5)
        with self.assertRaisesRegex(
            TypeError, r"argument `optimizer`.*Keras optimizer.*optimizer=None"
        ):
            Lookahead(None)
        with self.assertRaisesRegex(ValueError, r"argument `optimizer`.*optimizer='adamm'"):
            Lookahead("adamm")
        multi = keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(keras.optimizers.SGD())
        )
        with self.assertRaisesRegex(TypeError, r"not a MultiOptimizer"):
            Lookahead(multi)
        with self.assertRaisesRegex(
            ValueError,
            r"Lookahead does not take `clipnorm`: set it on "
            r"the wrapped optimizer",
        ):
            Lookahead("adam", clipnorm=1.0)

    def test_gradient_accumulation_syncs_once_per_period(self):
        # With 2 accumulated micro-steps per update, 20 calls are 10 SGD
        # updates: the same trajectory as 10 plain steps on the mean gradient.
        values, grads = ([1.0, 2.0], [3.0, 4.0]), ([0.1, 0.2], [0.03, 0.04])
        inner = keras.optimizers.SGD(0.5, gradient_accumulation_steps=2)
        actual = run_dense_sample(Lookahead(inner, sync_period=4, slow_step_size=0.3), 20)
        expected = reference_lookahead(values, grads, 0.5, 4, 0.3, 10)
        for a, e in zip(actual, expected):
            self.assertAllClose(a, e, atol=1e-6)
