"""TFA's `optimizers/tests/novograd_test.py`, ported: same inputs, expected values, tolerances.

TFA's `test_fit_simple_linear_model` fits 100,000 rows for 2 epochs; we fit
the same model and data law on 2,000 rows for 10 epochs of 20 steps (the same bound on the
error, in about a second).
"""

import keras
import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import indexed_slices, run_dense_sample, run_sparse_sample
from tfx_ext.optimizers import NovoGrad

DENSE_GRADS = ([0.1, 0.2], [0.3, 0.4])  # this file's dense sample


class NovoGradConformanceTest(tf.test.TestCase):
    def dense(self, iterations, expected, make_optimizer):
        for dtype in ("float32", "float64"):
            actual = run_dense_sample(make_optimizer(), iterations, grads=DENSE_GRADS, dtype=dtype)
            for a, e in zip(actual, expected):
                np.testing.assert_allclose(a, e, atol=2e-4, err_msg=dtype)

    def sparse(self, iterations, expected, make_optimizer):
        for dtype in ("float32", "float64"):
            values = (np.array([1.0, 2.0], dtype), np.array([3.0, 4.0], dtype))
            grads = [
                indexed_slices(np.array([0.1], dtype), [0], [2]),
                indexed_slices(np.array([0.4], dtype), [1], [2]),
            ]
            actual = run_sparse_sample(make_optimizer(), iterations, values=values, grads=grads)
            for a, e in zip(actual, expected):
                np.testing.assert_allclose(
                    a, e, rtol=1e-7 if dtype == "float64" else 1e-6, err_msg=dtype
                )

    def test_dense_sample(self):
        self.dense(
            1,
            [[0.9552786425, 1.9105572849], [2.9400000012, 3.9200000016]],
            lambda: NovoGrad(lr=0.1, epsilon=1e-8),
        )

    def test_dense_sample_with_weight_decay(self):
        self.dense(
            1,
            [[0.945278642, 1.8905572849], [2.9100000012, 3.8800000016]],
            lambda: NovoGrad(lr=0.1, weight_decay=0.1, epsilon=1e-8),
        )

    def test_dense_sample_with_grad_averaging(self):
        self.dense(
            2,
            [[0.9105572849, 1.8211145698], [2.8800000024, 3.8400000032]],
            lambda: NovoGrad(lr=0.1, grad_averaging=True, epsilon=1e-8),
        )

    def test_sparse_sample(self):
        self.sparse(2, [[0.71, 2.0], [3.0, 3.71]], lambda: NovoGrad(lr=0.1, epsilon=1e-8))

    def test_sparse_sample_with_weight_decay(self):
        self.sparse(
            2,
            [[0.6821, 2.0], [3.0, 3.5954]],
            lambda: NovoGrad(lr=0.1, weight_decay=0.1, epsilon=1e-8),
        )

    def test_sparse_sample_with_grad_averaging(self):
        self.sparse(
            2, [[0.8, 2.0], [3.0, 3.8]], lambda: NovoGrad(lr=0.1, grad_averaging=True, epsilon=1e-8)
        )

    def test_fit_simple_linear_model(self):
        keras.utils.set_random_seed(0x2020)
        rng = np.random.default_rng(0x2020)
        x = rng.standard_normal((2000, 3)).astype("float32")
        w = rng.standard_normal((3, 1)).astype("float32")
        y = x @ w + rng.standard_normal((2000, 1)).astype("float32") * 1e-5
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        model.compile(NovoGrad(learning_rate=0.05), loss="mse", steps_per_execution=20)
        model.fit(x, y, epochs=10, batch_size=100, verbose=0)
        x = rng.standard_normal((100, 3)).astype("float32")
        predicted = model.predict(x, verbose=0)
        self.assertLess(np.max(np.abs(predicted - x @ w)), 1e-2)

    def test_get_config(self):
        config = NovoGrad(lr=1e-4, weight_decay=0.0, grad_averaging=False).get_config()
        self.assertAllClose(config["learning_rate"], 1e-4)
        self.assertEqual(config["weight_decay"], 0.0)
        self.assertIs(config["grad_averaging"], False)

    def test_serialization(self):
        optimizer = NovoGrad(lr=1e-4, weight_decay=0.0, grad_averaging=False)
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())
