"""TFA's `optimizers/tests/cocob_test.py`, ported: same inputs, expected values, tolerances."""

import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import run_dense_sample
from tfx_ext.optimizers import COCOB


class COCOBConformanceTest(tf.test.TestCase):
    def dense(self, iterations, expected, optimizer):
        for a, e in zip(run_dense_sample(optimizer, iterations), expected):
            np.testing.assert_allclose(a, e, atol=2e-4)

    def test_dense_sample_with_default_alpha(self):
        self.dense(10, [[0.84528893, 1.845289], [2.845289, 3.845289]], COCOB())

    def test_dense_sample_with_custom_int_alpha(self):
        self.dense(7, [[0.09346926, 1.0934693], [2.0934694, 3.0934694]], COCOB(20))

    def test_dense_sample_with_custom_float_alpha(self):
        self.dense(5, [[0.89307845, 1.8930784], [2.8930783, 3.8930783]], COCOB(55.7))
