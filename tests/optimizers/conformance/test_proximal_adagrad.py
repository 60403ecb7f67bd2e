"""TFA's `optimizers/tests/proximal_adagrad_test.py`, ported: same inputs, expected values, tolerances."""

import keras
import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import indexed_slices, run_dense_sample, run_sparse_sample
from tfx_ext.optimizers import ProximalAdagrad

VALUES = ([1.0, 2.0], [4.0, 3.0])  # this file's variables


class ProximalAdagradConformanceTest(tf.test.TestCase):
    def run_sample(self, iterations, expected, optimizer, sparse=False, rtol=1e-7, atol=0.0):
        if sparse:
            grads = [indexed_slices([0.1], [0], [2]), indexed_slices([0.02], [1], [2])]
            actual = run_sparse_sample(optimizer, iterations, values=VALUES, grads=grads)
        else:
            actual = run_dense_sample(
                optimizer, iterations, values=VALUES, grads=([0.1, 0.2], [0.01, 0.02])
            )
        for a, e in zip(actual, expected):
            np.testing.assert_allclose(a, e, rtol, atol)

    def test_without_regularization(self):
        self.run_sample(
            10,
            [[-6.722771, -9.230448], [3.0539124, 1.1230775]],
            ProximalAdagrad(lr=3.0, initial_accumulator_value=0.1),
        )

    def test_with_l1_regularization(self):
        self.run_sample(
            10,
            [[-6.663634, -9.190331], [2.9593036, 1.0292315]],
            ProximalAdagrad(
                lr=3.0, initial_accumulator_value=0.1, l1_regularization_strength=0.001
            ),
        )

    def test_with_l1_l2_regularization(self):
        self.run_sample(
            10,
            [[-0.0495, -0.0995], [-0.0045, -0.0095]],
            ProximalAdagrad(
                lr=3.0,
                initial_accumulator_value=0.1,
                l1_regularization_strength=0.001,
                l2_regularization_strength=2.0,
            ),
        )

    def test_sparse_without_regularization(self):
        self.run_sample(
            10,
            [[-6.722771, 2.0], [4.0, 1.1230775]],
            ProximalAdagrad(lr=3.0, initial_accumulator_value=0.1),
            sparse=True,
            rtol=5e-7,
        )

    def test_sparse_with_l1_regularization(self):
        self.run_sample(
            10,
            [[-6.663634, 2.0], [4.0, 1.0292315]],
            ProximalAdagrad(
                lr=3.0, initial_accumulator_value=0.1, l1_regularization_strength=0.001
            ),
            sparse=True,
            rtol=5e-7,
        )

    def test_sparse_with_l1_l2_regularization(self):
        self.run_sample(
            10,
            [[-0.0495, 2.0], [4.0, -0.0095]],
            ProximalAdagrad(
                lr=3.0,
                initial_accumulator_value=0.1,
                l1_regularization_strength=0.001,
                l2_regularization_strength=2.0,
            ),
            sparse=True,
        )

    def test_serialization(self):
        optimizer = ProximalAdagrad(
            lr=1e-4,
            initial_accumulator_value=0.1,
            l1_regularization_strength=0.1,
            l2_regularization_strength=0.1,
        )
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())
