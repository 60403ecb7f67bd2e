"""TFA's `optimizers/tests/lazy_adam_test.py`, ported: same inputs, NumPy reference, tolerances.

Deliberate differences: TFA's `get_beta_accumulators` read Keras 2's
`opt._get_hyper("beta_1")`; here the betas are the optimizer's attributes and
the bias correction is checked through the trajectories. `test_slots_unique_eager`
counted Keras 2's `opt.variables()` (iterations + m, v of two scalars = 5);
Keras 3 also counts its learning-rate variable (6).
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.optimizers import LazyAdam

# TFA's assert_allclose_according_to_type
TOLERANCES = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-6}
DTYPES = ("float16", "float32", "float64")


def adam_update_numpy(param, g_t, t, m, v, lr=0.001, beta1=0.9, beta2=0.999, epsilon=1e-7):
    lr_t = lr * np.sqrt(1 - beta2 ** (t + 1)) / (1 - beta1 ** (t + 1))
    m_t = beta1 * m + (1 - beta1) * g_t
    v_t = beta2 * v + (1 - beta2) * g_t * g_t
    param_t = param - lr_t * m_t / (np.sqrt(v_t) + epsilon)
    return param_t, m_t, v_t


class LazyAdamConformanceTest(tf.test.TestCase):
    def assert_close(self, expected, actual, dtype):
        tol = TOLERANCES[dtype]
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol)

    def three_steps(self, dtype, make_grads, var0_np, grads0_np, var1_np, grads1_np, optimizer):
        m0, v0, m1, v1 = 0.0, 0.0, 0.0, 0.0
        var0, var1 = tf.Variable(var0_np), tf.Variable(var1_np)
        grads0, grads1 = make_grads(grads0_np), make_grads(grads1_np)
        for t in range(3):
            self.assert_close(
                0.9 ** (t + 1), optimizer.beta_1 ** (int(optimizer.iterations) + 1), dtype
            )
            optimizer.apply_gradients(zip([grads0, grads1], [var0, var1]))
            var0_np, m0, v0 = adam_update_numpy(var0_np, grads0_np, t, m0, v0)
            var1_np, m1, v1 = adam_update_numpy(var1_np, grads1_np, t, m1, v1)
            self.assert_close(var0_np, var0.numpy(), dtype)
            self.assert_close(var1_np, var1.numpy(), dtype)

    def test_sparse(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                indices = np.array([0, 2], "int32")

                def sliced(grads_np):
                    return tf.IndexedSlices(
                        tf.constant(grads_np[indices]), tf.constant(indices), tf.constant([3])
                    )

                self.three_steps(
                    dtype,
                    sliced,
                    np.array([1.0, 1.0, 2.0], dtype),
                    np.array([0.1, 0.0, 0.1], dtype),
                    np.array([3.0, 3.0, 4.0], dtype),
                    np.array([0.01, 0.0, 0.01], dtype),
                    LazyAdam(),
                )

    def test_sparse_device_placement(self):
        for index_dtype in ("int32", "int64"):
            with self.subTest(index_dtype=index_dtype):
                var = tf.Variable([[1.0], [2.0]])
                indices = tf.constant([0, 1], dtype=index_dtype)
                optimizer = LazyAdam(3.0)
                with tf.GradientTape() as tape:
                    loss = tf.math.reduce_sum(tf.gather(var, indices))
                gradient = tape.gradient(loss, var)
                self.assertIsInstance(gradient, tf.IndexedSlices)
                optimizer.apply_gradients([(gradient, var)])
                # Beyond TFA (which only ran it): Adam's first step is lr * sign(g).
                self.assertAllClose(var.numpy(), [[-2.0], [-1.0]], atol=1e-5)

    def test_sparse_repeated_indices(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                repeated_index_update_var = tf.Variable([[1], [2]], dtype=dtype)
                aggregated_update_var = tf.Variable([[1], [2]], dtype=dtype)
                grad_repeated_index = tf.IndexedSlices(
                    tf.constant([0.1, 0.1], shape=[2, 1], dtype=dtype),
                    tf.constant([1, 1]),
                    tf.constant([2, 1]),
                )
                grad_aggregated = tf.IndexedSlices(
                    tf.constant([0.2], shape=[1, 1], dtype=dtype),
                    tf.constant([1]),
                    tf.constant([2, 1]),
                )
                repeated_update_opt, aggregated_update_opt = LazyAdam(), LazyAdam()
                for _ in range(3):
                    repeated_update_opt.apply_gradients(
                        [(grad_repeated_index, repeated_index_update_var)]
                    )
                    aggregated_update_opt.apply_gradients(
                        [(grad_aggregated, aggregated_update_var)]
                    )
                    np.testing.assert_allclose(
                        aggregated_update_var.numpy(), repeated_index_update_var.numpy()
                    )

    def dense_case(self, optimizer, dtype):
        self.three_steps(
            dtype,
            tf.constant,
            np.array([1.0, 2.0], dtype),
            np.array([0.1, 0.1], dtype),
            np.array([3.0, 4.0], dtype),
            np.array([0.01, 0.01], dtype),
            optimizer,
        )

    def test_basic(self):
        for use_callable_params in (True, False):
            for dtype in DTYPES:
                with self.subTest(callable=use_callable_params, dtype=dtype):
                    learning_rate = (lambda: 0.001) if use_callable_params else 0.001
                    self.dense_case(LazyAdam(learning_rate=learning_rate), dtype)

    def test_tensor_learning_rate(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                self.dense_case(LazyAdam(tf.constant(0.001)), dtype)

    def test_sharing(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                self.dense_case(LazyAdam(), dtype)

    def test_slots_unique_eager(self):
        v1, v2 = tf.Variable(1.0), tf.Variable(1.0)
        optimizer = LazyAdam(1.0)
        with tf.GradientTape() as tape:
            loss = v1 + v2
        optimizer.apply_gradients(zip(tape.gradient(loss, [v1, v2]), [v1, v2]))
        # iterations, learning rate, and a unique m and v for each variable.
        self.assertEqual(len(optimizer.variables), 6)
        self.assertIs(optimizer.variables[0], optimizer.iterations)
        slots = optimizer.variables[2:]
        self.assertEqual(len({id(s) for s in slots}), 4)

    def test_serialization(self):
        optimizer = LazyAdam()
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())
