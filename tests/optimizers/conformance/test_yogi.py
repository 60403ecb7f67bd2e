"""TFA's `optimizers/tests/yogi_test.py`, ported: same inputs, NumPy reference, tolerances.

TFA's tests also checked the optimizer's internal beta powers
(`opt._get_hyper`), a Keras 2 internal with no Keras 3 counterpart; the
trajectories they guard are checked here step by step.
"""

import keras
import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import indexed_slices, requires_indexed_slices
from tfx_ext.optimizers import Yogi

TOLERANCES = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-6}  # TFA's, by dtype


def yogi_update_numpy(
    param, g_t, t, m, v, alpha=0.01, beta1=0.9, beta2=0.999, epsilon=1e-3, l1reg=0.0, l2reg=0.0
):
    """One Yogi step in NumPy, as TFA's reference; returns (param, m, v)."""
    beta1 = np.array(beta1, dtype=param.dtype)
    beta2 = np.array(beta2, dtype=param.dtype)
    alpha_t = alpha * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    m_t = beta1 * m + (1 - beta1) * g_t
    g2_t = g_t * g_t
    v_t = v - (1 - beta2) * np.sign(v - g2_t) * g2_t
    per_coord_lr = alpha_t / (np.sqrt(v_t) + epsilon)
    param_t = param - per_coord_lr * m_t
    if l1reg > 0:
        param_t = (param_t - l1reg * per_coord_lr * np.sign(param_t)) / (1 + l2reg * per_coord_lr)
        param_t[np.abs(param_t) < l1reg * per_coord_lr] = 0.0
    elif l2reg > 0:
        param_t = param_t / (1 + l2reg * per_coord_lr)
    return param_t, m_t, v_t


def dtypes():
    # float64 variables need JAX's x64 mode; TFA ran half, float32, float64 on CPU.
    if keras.backend.backend() == "jax":
        import jax

        if not jax.config.jax_enable_x64:
            return ["float16", "float32"]
    return ["float16", "float32", "float64"]


class YogiConformanceTest(tf.test.TestCase):
    def check_three_steps(self, make_optimizer, sparse=False, beta1=0.9, l1reg=0.0, l2reg=0.0):
        for dtype in dtypes():
            m0, v0, m1, v1 = 0.0, 1.0, 0.0, 1.0
            var0_np = np.array([1.0, 2.0], dtype=dtype)
            grads0_np = np.array([0.1, 0.1], dtype=dtype)
            var1_np = np.array([3.0, 4.0], dtype=dtype)
            grads1_np = np.array([0.01, 0.01], dtype=dtype)
            if sparse:
                var0, var1 = tf.Variable(var0_np), tf.Variable(var1_np)
                grads0 = indexed_slices(grads0_np, np.array([0, 1], "int32"), [2])
                grads1 = indexed_slices(grads1_np, np.array([0, 1], "int32"), [2])
            else:
                var0 = keras.Variable(var0_np, dtype=dtype)
                var1 = keras.Variable(var1_np, dtype=dtype)
                grads0 = keras.ops.convert_to_tensor(grads0_np)
                grads1 = keras.ops.convert_to_tensor(grads1_np)
            opt = make_optimizer()
            np.testing.assert_allclose([1.0, 2.0], keras.ops.convert_to_numpy(var0))
            np.testing.assert_allclose([3.0, 4.0], keras.ops.convert_to_numpy(var1))
            for t in range(1, 4):
                opt.apply_gradients(zip([grads0, grads1], [var0, var1]))
                var0_np, m0, v0 = yogi_update_numpy(
                    var0_np, grads0_np, t, m0, v0, beta1=beta1, l1reg=l1reg, l2reg=l2reg
                )
                var1_np, m1, v1 = yogi_update_numpy(
                    var1_np, grads1_np, t, m1, v1, beta1=beta1, l1reg=l1reg, l2reg=l2reg
                )
                tol = TOLERANCES[dtype]
                np.testing.assert_allclose(
                    var0_np,
                    keras.ops.convert_to_numpy(var0),
                    rtol=tol,
                    atol=tol,
                    err_msg=f"{dtype} step {t}",
                )
                np.testing.assert_allclose(
                    var1_np,
                    keras.ops.convert_to_numpy(var1),
                    rtol=tol,
                    atol=tol,
                    err_msg=f"{dtype} step {t}",
                )

    def basic(self, beta1=0.0, l1reg=0.0, l2reg=0.0, sparse=False):
        if sparse:
            requires_indexed_slices()
        self.check_three_steps(
            lambda: Yogi(
                beta1=beta1,
                l1_regularization_strength=l1reg,
                l2_regularization_strength=l2reg,
                initial_accumulator_value=1.0,
            ),
            sparse=sparse,
            beta1=beta1,
            l1reg=l1reg,
            l2reg=l2reg,
        )

    def test_sparse(self):
        self.basic(sparse=True)

    def test_sparse_regularization(self):
        self.basic(l1reg=0.1, l2reg=0.2, sparse=True)

    def test_sparse_momentum(self):
        self.basic(beta1=0.9, sparse=True)

    def test_sparse_momentum_regularization(self):
        self.basic(beta1=0.9, l1reg=0.1, l2reg=0.2, sparse=True)

    def test_sparse_repeated_indices(self):
        requires_indexed_slices()
        for dtype in dtypes():
            repeated_index_update_var = tf.Variable([[1.0], [2.0]], dtype=dtype)
            aggregated_update_var = tf.Variable([[1.0], [2.0]], dtype=dtype)
            grad_repeated_index = tf.IndexedSlices(
                tf.constant([0.1, 0.1], shape=[2, 1], dtype=dtype),
                tf.constant([1, 1]),
                tf.constant([2, 1]),
            )
            grad_aggregated = tf.IndexedSlices(
                tf.constant([0.2], shape=[1, 1], dtype=dtype), tf.constant([1]), tf.constant([2, 1])
            )
            opt1, opt2 = Yogi(), Yogi()
            for _ in range(3):
                opt1.apply_gradients([(grad_repeated_index, repeated_index_update_var)])
                opt2.apply_gradients([(grad_aggregated, aggregated_update_var)])
            np.testing.assert_allclose(
                aggregated_update_var.numpy(), repeated_index_update_var.numpy()
            )

    def test_basic(self):
        self.basic()

    def test_basic_regularization(self):
        self.basic(l1reg=0.1, l2reg=0.2)

    def test_basic_momentum(self):
        self.basic(beta1=0.9)

    def test_basic_momentum_regularization(self):
        self.basic(beta1=0.9, l1reg=0.1, l2reg=0.2)

    def test_tensor_learning_rate(self):
        self.check_three_steps(
            lambda: Yogi(keras.ops.convert_to_tensor(0.01), initial_accumulator_value=1.0)
        )

    def test_sharing(self):
        self.check_three_steps(lambda: Yogi(initial_accumulator_value=1.0))

    def test_get_config(self):
        self.assertAllClose(Yogi(1e-4).get_config()["learning_rate"], 1e-4)

    def test_serialization(self):
        optimizer = Yogi(1e-4)
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())
