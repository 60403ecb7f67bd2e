"""Yogi beyond TFA's cases: its argument checks (trajectories: conformance/test_yogi.py)."""

import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext.optimizers import Yogi


class YogiArgumentsTest(tf.test.TestCase):
    @rejects_bad_input(Yogi)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `beta1`.*\[0\.0, 1\.0\).*beta1=1\.0"):
            Yogi(beta1=1.0)
        with self.assertRaisesRegex(ValueError, r"argument `beta2`.*beta2=-0\.1"):
            Yogi(beta2=-0.1)
        with self.assertRaisesRegex(ValueError, r"argument `epsilon`.*epsilon=-1"):
            Yogi(epsilon=-1)
        with self.assertRaisesRegex(ValueError, r"`l1_regularization_strength`.*=-0\.1"):
            Yogi(l1_regularization_strength=-0.1)
        with self.assertRaisesRegex(ValueError, r"`l2_regularization_strength`.*=-1"):
            Yogi(l2_regularization_strength=-1)
        with self.assertRaisesRegex(ValueError, r"`initial_accumulator_value`.*> 0.*=0"):
            Yogi(initial_accumulator_value=0)
        with self.assertRaisesRegex(ValueError, r"`activation`.*'sign', 'tanh'.*activation='relu'"):
            Yogi(activation="relu")
        with self.assertRaisesRegex(ValueError, r"`learning_rate`.*learning_rate=-0\.01"):
            Yogi(-0.01)
        with self.assertRaisesRegex(TypeError, r"`learning_rate`.*learning_rate='fast'"):
            Yogi("fast")
        with self.assertRaisesRegex(ValueError, r"Argument\(s\) not recognized.*momentum"):
            Yogi(momentum=0.9)
