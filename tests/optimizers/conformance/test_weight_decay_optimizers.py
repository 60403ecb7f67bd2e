"""TFA's `optimizers/tests/weight_decay_optimizers_test.py`, ported: same inputs,
NumPy references, tolerances.

Deliberate differences:
- Keras 3's `Adam` and `SGD` take a callable only for the learning rate, not
  for `beta_1`/`beta_2`/`momentum`: the "callable params" cases pass callables
  for `learning_rate` and `weight_decay` (TFA's decoupled part) and numbers
  for the rest.
- `test_exclude_weight_decay_*` called Keras 2 internals
  (`_set_decay_var_list`, `_do_use_weight_decay`); here the same variables
  take a step with a zero gradient and we check which ones decayed.
- `extend_with_decoupled_weight_decay` extends `keras.optimizers.SGD` (TFA's
  legacy `SGD` does not exist in Keras 3).
Beyond TFA: `keras.optimizers.AdamW` is TFA's `AdamW` with the decay divided
by the (constant) learning rate, which is the mapping the README states.
"""

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.optimizers import SGDW, AdamW, extend_with_decoupled_weight_decay

WEIGHT_DECAY = 0.01
TOLERANCES = {"float16": 1e-3, "float32": 1e-6, "float64": 1e-6}
DTYPES = ("float16", "float32", "float64")


def adamw_update_numpy(
    param, grad_t, slot_vars, learning_rate, beta_1, beta_2, epsilon, weight_decay
):
    lr, beta1, beta2, eps, wd = (
        v() if callable(v) else v for v in (learning_rate, beta_1, beta_2, epsilon, weight_decay)
    )
    t = slot_vars.get("t", 0) + 1
    lr_t = lr * np.sqrt(1 - beta2**t) / (1 - beta1**t)
    slot_vars["m"] = beta1 * slot_vars.get("m", 0) + (1 - beta1) * grad_t
    slot_vars["v"] = beta2 * slot_vars.get("v", 0) + (1 - beta2) * grad_t**2
    param_t = param * (1 - wd) - lr_t * slot_vars["m"] / (np.sqrt(slot_vars["v"]) + eps)
    slot_vars["t"] = t
    return param_t, slot_vars


def sgdw_update_numpy(param, grad_t, slot_vars, learning_rate, momentum, weight_decay):
    m = slot_vars.get("m", 0)
    lr, momentum, wd = (v() if callable(v) else v for v in (learning_rate, momentum, weight_decay))
    slot_vars["m"] = momentum * m + grad_t
    param_t = param * (1 - wd) - lr * slot_vars["m"]
    return param_t, slot_vars


ADAMW = dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-8, weight_decay=WEIGHT_DECAY)
SGDW_ARGS = dict(learning_rate=0.001, momentum=0.9, weight_decay=WEIGHT_DECAY)


class WeightDecayOptimizersConformanceTest(tf.test.TestCase):
    def do_test(self, optimizer, update_fn, do_sparse=False, do_decay_var_list=False, **kwargs):
        for index, dtype in enumerate(DTYPES):
            with self.subTest(dtype=dtype):
                slots0, slots1 = {}, {}
                var0_np = np.array([1.0, 2.0], dtype)
                grads0_np = np.array([0.1, 0.1], dtype)
                var1_np = np.array([3.0, 4.0], dtype)
                grads1_np = np.array([0.01, 0.01], dtype)
                var0 = tf.Variable(var0_np, name=f"var0_{index}")
                var1 = tf.Variable(var1_np, name=f"var1_{index}")
                if do_sparse:
                    indices = tf.constant(np.array([0, 1], "int32"))
                    grads0 = tf.IndexedSlices(tf.constant(grads0_np), indices, tf.constant([2]))
                    grads1 = tf.IndexedSlices(tf.constant(grads1_np), indices, tf.constant([2]))
                else:
                    grads0, grads1 = tf.constant(grads0_np), tf.constant(grads1_np)
                opt = optimizer(**kwargs)
                reference = {k: v for k, v in kwargs.items() if k != "exclude_from_weight_decay"}
                for _ in range(3):
                    if do_decay_var_list:
                        opt.apply_gradients(
                            zip([grads0, grads1], [var0, var1]), decay_var_list=[var0, var1]
                        )
                    else:
                        opt.apply_gradients(zip([grads0, grads1], [var0, var1]))
                    var0_np, slots0 = update_fn(var0_np, grads0_np, slots0, **reference)
                    var1_np, slots1 = update_fn(var1_np, grads1_np, slots1, **reference)
                    tol = TOLERANCES[dtype]
                    np.testing.assert_allclose(var0.numpy(), var0_np, rtol=tol, atol=tol)
                    np.testing.assert_allclose(var1.numpy(), var1_np, rtol=tol, atol=tol)

    def do_test_sparse_repeated_indices(self, optimizer, **kwargs):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                repeated_var = tf.Variable([[1.0], [2.0]], dtype=dtype)
                aggregated_var = tf.Variable([[1.0], [2.0]], dtype=dtype)
                grad_repeated = tf.IndexedSlices(
                    tf.constant([0.1, 0.1], shape=[2, 1], dtype=dtype),
                    tf.constant([1, 1]),
                    tf.constant([2, 1]),
                )
                grad_aggregated = tf.IndexedSlices(
                    tf.constant([0.2], shape=[1, 1], dtype=dtype),
                    tf.constant([1]),
                    tf.constant([2, 1]),
                )
                opt_repeated, opt_aggregated = optimizer(**kwargs), optimizer(**kwargs)
                for _ in range(4):
                    opt_repeated.apply_gradients([(grad_repeated, repeated_var)])
                    opt_aggregated.apply_gradients([(grad_aggregated, aggregated_var)])
                    np.testing.assert_allclose(aggregated_var.numpy(), repeated_var.numpy())
                # Beyond TFA: the untouched row 0 was neither decayed nor moved.
                self.assertEqual(float(repeated_var.numpy()[0, 0]), 1.0)

    def test_sparse_adamw(self):
        self.do_test(AdamW, adamw_update_numpy, do_sparse=True, **ADAMW)

    def test_sparse_repeated_indices_adamw(self):
        self.do_test_sparse_repeated_indices(AdamW, **ADAMW)

    def test_basic_adamw(self):
        self.do_test(AdamW, adamw_update_numpy, **ADAMW)

    def test_basic_callable_params_adamw(self):
        self.do_test(
            AdamW,
            adamw_update_numpy,
            **{**ADAMW, "learning_rate": lambda: 0.001, "weight_decay": lambda: WEIGHT_DECAY},
        )

    def test_basic_decay_var_list_adamw(self):
        self.do_test(AdamW, adamw_update_numpy, do_decay_var_list=True, **ADAMW)

    def check_exclusions(self, optimizer):
        var0 = tf.Variable([1.0], name="var0")
        var1 = tf.Variable([1.0], name="var1")
        var1_weight = tf.Variable([1.0], name="var1_weight")
        optimizer.apply_gradients(zip([tf.zeros(1)] * 3, [var0, var1, var1_weight]))
        self.assertLess(float(var0.numpy()[0]), 1.0)  # decayed
        self.assertEqual(float(var1.numpy()[0]), 1.0)
        self.assertEqual(float(var1_weight.numpy()[0]), 1.0)

    def test_exclude_weight_decay_adamw(self):
        self.check_exclusions(
            AdamW(learning_rate=1e-4, weight_decay=1e-4, exclude_from_weight_decay=["var1"])
        )

    def test_var_list_with_exclude_list_adamw(self):
        self.do_test(
            AdamW,
            adamw_update_numpy,
            do_decay_var_list=True,
            exclude_from_weight_decay=["var0_*", "var1_*"],
            **ADAMW,
        )

    def fit(self, optimizer, batch_size=None):
        model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(2)])
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        # Eager: two rows, a few steps (TFA's case) cost less than tracing them.
        model.compile(optimizer=optimizer, loss=loss, metrics=["accuracy"], run_eagerly=True)
        x, y = np.random.default_rng(0).uniform(size=(2, 4, 1))
        history = model.fit(x, y, batch_size=batch_size, epochs=1, verbose=0)
        self.assertTrue(np.isfinite(history.history["loss"][0]))  # TFA only ran it

    def test_keras_fit(self):
        self.fit(AdamW(learning_rate=1e-4, weight_decay=1e-4))

    def test_keras_fit_with_schedule(self):
        schedule = keras.optimizers.schedules.ExponentialDecay(
            WEIGHT_DECAY, decay_steps=10, decay_rate=0.9
        )
        self.fit(AdamW(learning_rate=1e-4, weight_decay=schedule))

    def test_weight_decay_with_piecewise_constant_decay_schedule(self):
        schedule = keras.optimizers.schedules.PiecewiseConstantDecay([2], [1e-4, 1e-5])
        self.fit(SGDW(learning_rate=1e-2, weight_decay=schedule), batch_size=1)

    def test_sparse_sgdw(self):
        self.do_test(SGDW, sgdw_update_numpy, do_sparse=True, **SGDW_ARGS)

    def test_sparse_repeated_indices_sgdw(self):
        self.do_test_sparse_repeated_indices(SGDW, **SGDW_ARGS)

    def test_basic_sgdw(self):
        self.do_test(SGDW, sgdw_update_numpy, **SGDW_ARGS)

    def test_basic_callable_params_sgdw(self):
        self.do_test(
            SGDW,
            sgdw_update_numpy,
            **{**SGDW_ARGS, "learning_rate": lambda: 0.001, "weight_decay": lambda: WEIGHT_DECAY},
        )

    def test_basic_decay_var_list_sgdw(self):
        self.do_test(SGDW, sgdw_update_numpy, do_decay_var_list=True, **SGDW_ARGS)

    def test_exclude_weight_decay_sgdw(self):
        self.check_exclusions(
            SGDW(learning_rate=0.01, weight_decay=1e-4, exclude_from_weight_decay=["var1"])
        )

    def test_var_list_with_exclude_list_sgdw(self):
        self.do_test(
            SGDW,
            sgdw_update_numpy,
            do_decay_var_list=True,
            exclude_from_weight_decay=["var0_*", "var1_*"],
            **SGDW_ARGS,
        )

    def test_optimizer_basic(self):
        for optimizer in (SGDW, extend_with_decoupled_weight_decay(keras.optimizers.SGD)):
            with self.subTest(optimizer=optimizer.__name__):
                self.do_test(optimizer, sgdw_update_numpy, **SGDW_ARGS)

    def test_optimizer_sparse(self):
        for optimizer in (SGDW, extend_with_decoupled_weight_decay(keras.optimizers.SGD)):
            with self.subTest(optimizer=optimizer.__name__):
                self.do_test_sparse_repeated_indices(optimizer, **SGDW_ARGS)

    def test_serialization(self):
        optimizer = AdamW(learning_rate=1e-4, weight_decay=1e-4, exclude_from_weight_decay=["var1"])
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())

    def test_serialization_with_wd_schedule(self):
        schedule = keras.optimizers.schedules.ExponentialDecay(
            WEIGHT_DECAY, decay_steps=10, decay_rate=0.9
        )
        optimizer = AdamW(learning_rate=1e-4, weight_decay=schedule)
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())

    def test_keras_adamw_is_tfa_adamw_with_decay_over_learning_rate(self):
        results = []
        for optimizer in (
            AdamW(weight_decay=WEIGHT_DECAY, learning_rate=0.01),
            keras.optimizers.AdamW(weight_decay=WEIGHT_DECAY / 0.01, learning_rate=0.01),
        ):
            variables = [tf.Variable([1.0, 2.0]), tf.Variable([3.0, 4.0])]
            for _ in range(5):
                optimizer.apply_gradients(
                    zip([tf.constant([0.1, 0.2]), tf.constant([0.3, 0.4])], variables)
                )
            results.append([v.numpy() for v in variables])
        for ours, keras_value in zip(*results):
            np.testing.assert_allclose(ours, keras_value, rtol=1e-6)
