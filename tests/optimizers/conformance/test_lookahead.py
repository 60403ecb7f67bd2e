"""TFA's `optimizers/tests/lookahead_test.py`, ported: same inputs, expected values, tolerances.

Deliberate difference: Keras 3 optimizers have no `.lr` attribute, so
`test_model_dynamic_lr` reads and sets `learning_rate`.
"""

import keras
import numpy as np
import tensorflow as tf

from tests.optimizers.conformance.samples import (
    indexed_slices,
    requires_indexed_slices,
    run_dense_sample,
    run_sparse_sample,
)
from tfx_ext.optimizers import Lookahead


def random_dense_sample(iterations, optimizer, seed=0x2019):
    np.random.seed(seed)
    values = [np.random.random((2,)), np.random.random((2,))]
    grads = [np.random.standard_normal((2,)), np.random.standard_normal((2,))]
    return values, run_dense_sample(optimizer, iterations, values=values, grads=grads)


def random_sparse_sample(iterations, optimizer, seed=0x2019):
    np.random.seed(seed)
    values = [np.random.random((2,)).astype("float32"), np.random.random((2,)).astype("float32")]
    grads = [
        indexed_slices([np.float32(np.random.standard_normal())], [0], [2]),
        indexed_slices([np.float32(np.random.standard_normal())], [1], [2]),
    ]
    return values, run_sparse_sample(optimizer, iterations, values=values, grads=grads)


def linear_data(num_examples):
    np.random.seed(0x2019)
    keras.utils.set_random_seed(0x2019)
    x = np.random.standard_normal((num_examples, 3))
    w = np.random.standard_normal((3, 1))
    y = np.dot(x, w) + np.random.standard_normal((num_examples, 1)) * 1e-4
    return x, y, w


def linear_model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    return model


class LookaheadConformanceTest(tf.test.TestCase):
    def exact_ratio(self, run):
        for k in [5, 10, 100]:
            for alpha in [0.3, 0.7]:
                vals, quick_vars = run(k, keras.optimizers.get("adam"))
                _, slow_vars = run(k, Lookahead("adam", sync_period=k, slow_step_size=alpha))
                for val, quick, slow in zip(vals, quick_vars, slow_vars):
                    expected = np.float32(val) + (quick - np.float32(val)) * alpha
                    np.testing.assert_allclose(expected, slow, rtol=1e-06, atol=1e-06)

    def test_dense_exact_ratio(self):
        self.exact_ratio(random_dense_sample)

    def test_sparse_exact_ratio(self):
        requires_indexed_slices()
        self.exact_ratio(random_sparse_sample)

    def test_fit_simple_linear_model(self):
        x, y, w = linear_data(10000)
        model = linear_model()
        model.compile(Lookahead("sgd"), loss="mse", steps_per_execution=50)
        model.fit(x, y, epochs=3, verbose=0)
        x = np.random.standard_normal((100, 3))
        predicted = model.predict(x, verbose=0)
        self.assertLess(np.max(np.abs(predicted - np.dot(x, w))), 1e-3)

    def test_fit_simple_linear_model_mixed_precision(self):
        keras.mixed_precision.set_global_policy("mixed_float16")
        try:
            x, y, w = linear_data(10000)
            model = linear_model()
            model.compile(Lookahead("sgd"), loss="mse", steps_per_execution=50)
            # Keras 3 wraps the optimizer for loss scaling, as TF 2 did.
            self.assertIsInstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
            model.fit(x, y, epochs=3, verbose=0)
            x = np.random.standard_normal((100, 3))
            predicted = model.predict(x, verbose=0)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self.assertLess(np.max(np.abs(predicted - np.dot(x, w))), 2.3e-3)

    def test_model_dynamic_lr(self):
        grad = keras.Variable([[0.1]])
        model = keras.Sequential(
            [
                keras.layers.Dense(
                    1, kernel_initializer=keras.initializers.Constant([[1.0]]), use_bias=False
                )
            ]
        )
        model.build(input_shape=[1, 1])
        opt = Lookahead("adam", sync_period=10, slow_step_size=0.4)
        opt.apply_gradients(list(zip([grad], model.variables)))
        self.assertAllClose(opt.learning_rate, 1e-3)
        opt.learning_rate = 1e-4
        self.assertAllClose(opt.learning_rate, 1e-4)

    def test_get_config(self):
        opt = Lookahead("adam", sync_period=10, slow_step_size=0.4)
        opt = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
        config = opt.get_config()
        self.assertEqual(config["sync_period"], 10)
        self.assertEqual(config["slow_step_size"], 0.4)

    def test_serialization(self):
        optimizer = Lookahead("adam", sync_period=10, slow_step_size=0.4)
        config = keras.optimizers.serialize(optimizer)
        new_optimizer = keras.optimizers.deserialize(config)
        self.assertEqual(new_optimizer.get_config(), optimizer.get_config())
