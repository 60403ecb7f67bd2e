"""TFA's `optimizers/tests/stochastic_weight_averaging_test.py`, ported.

Same inputs, expected values and tolerances. `test_assign_batchnorm` ends
with TFA's `fit_bn` helper (recompute BatchNormalization statistics), which
we do not provide: the case keeps its averaging part (SWA over a model with
BatchNormalization, `assign_average_vars(model.variables)`).
"""

import warnings

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.optimizers import SWA


class SWAConformanceTest(tf.test.TestCase):
    def test_averaging(self):
        optimizer = SWA(keras.optimizers.SGD(learning_rate=1.0), 0, 1)
        var_0 = keras.Variable([1.0, 1.0])
        var_1 = keras.Variable([2.0, 2.0])
        grads = [keras.ops.convert_to_tensor([0.1, 0.1])] * 2
        for _ in range(3):
            optimizer.apply_gradients(zip(grads, [var_0, var_1]))
        np.testing.assert_allclose(var_1, [1.7, 1.7], rtol=1e-06, atol=1e-06)
        np.testing.assert_allclose(var_0, [0.7, 0.7], rtol=1e-06, atol=1e-06)
        optimizer.assign_average_vars([var_0, var_1])
        np.testing.assert_allclose(var_0, [0.8, 0.8])
        np.testing.assert_allclose(var_1, [1.8, 1.8])

    def test_optimizer_failure(self):
        with self.assertRaises(TypeError):
            SWA(None, average_period=10)

    def test_optimizer_string(self):
        SWA("adam", average_period=10)

    def test_get_config(self):
        opt = SWA("adam", average_period=10, start_averaging=0)
        opt = keras.optimizers.deserialize(keras.optimizers.serialize(opt))
        config = opt.get_config()
        self.assertEqual(config["average_period"], 10)
        self.assertEqual(config["start_averaging"], 0)

    def test_assign_batchnorm(self):
        x = np.random.standard_normal((10, 64))
        y = np.random.standard_normal((10, 1))
        model = keras.Sequential(
            [
                keras.layers.Dense(16, activation="relu"),
                keras.layers.BatchNormalization(),
                keras.layers.Dense(1),
            ]
        )
        opt = SWA(keras.optimizers.SGD())
        model.compile(optimizer=opt, loss="mean_squared_error")
        model.fit(x, y, epochs=1, verbose=0)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # the BN statistics are skipped quietly
            opt.assign_average_vars(model.variables)

    def test_fit_simple_linear_model(self):
        seed = 0x2019
        np.random.seed(seed)
        keras.utils.set_random_seed(seed)
        num_examples = 100000
        x = np.random.standard_normal((num_examples, 3))
        w = np.random.standard_normal((3, 1))
        y = np.dot(x, w) + np.random.standard_normal((num_examples, 1)) * 1e-4
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        # using num_examples - 1 since steps starts from 0.
        optimizer = SWA("sgd", start_averaging=num_examples // 32 - 1, average_period=100)
        model.compile(
            optimizer, loss="mse", steps_per_execution=50
        )  # same steps, fewer host round trips
        model.fit(x, y, epochs=2, verbose=0)
        optimizer.assign_average_vars(model.variables)
        x = np.random.standard_normal((100, 3))
        predicted = model.predict(x, verbose=0)
        self.assertLess(np.max(np.abs(predicted - np.dot(x, w))), 1e-3)

    def test_serialization(self):
        optimizer = SWA(keras.optimizers.SGD(learning_rate=1.0), 0, 1)
        config = keras.optimizers.serialize(optimizer)
        new_optimizer = keras.optimizers.deserialize(config)
        self.assertEqual(new_optimizer.get_config(), optimizer.get_config())
