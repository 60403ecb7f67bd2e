"""TFA's `optimizers/tests/moving_average_test.py`, ported: same inputs, expected values.

Deliberate differences:
- `opt.get_slot(var, "average")` (Keras 2) is `opt.average_of(var)`, and
  `opt._optimizer` is `opt.inner_optimizer`.
- `opt.lr` (Keras 2's alias) is `opt.learning_rate`.
- TFA's `num_updates` could be a `tf.Variable`, cast once at construction;
  ours reads an integer variable once, the same, and stores the int (so the
  config is JSON). A float variable is refused with TypeError, as in TFA.
- The swap tests ran under `MirroredStrategy` and were skipped by TFA itself
  on TF >= 2.13; they run here on one device (`swap_weights` swaps exactly).
- `SGD(decay=0.1)` (Keras 2's time decay) does not exist in Keras 3; the
  config cases use `nesterov` and `momentum` only.
- The mixed-precision fit uses 64 rows instead of 10,000 (it checks that
  training runs under a LossScaleOptimizer, not a result).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfx_ext.optimizers import MovingAverage


class MovingAverageConformanceTest(tf.test.TestCase):
    def test_run(self):
        var0, var1 = tf.Variable([1.0, 2.0]), tf.Variable([3.0, 4.0])
        grads_and_vars = list(
            zip([tf.constant([0.1, 0.1]), tf.constant([0.01, 0.01])], [var0, var1])
        )
        opt = MovingAverage(keras.optimizers.SGD(learning_rate=2.0), average_decay=0.5)
        opt.apply_gradients(grads_and_vars)
        opt.apply_gradients(grads_and_vars)
        self.assertAllClose(var0.numpy(), [0.6, 1.6])
        self.assertAllClose(var1.numpy(), [2.96, 3.96])
        ema_var0, ema_var1 = opt.average_of(var0), opt.average_of(var1)
        self.assertAllClose(ema_var0.numpy(), [0.75, 1.75])
        self.assertAllClose(ema_var1.numpy(), [2.975, 3.975])
        opt.assign_average_vars([var0, var1])
        self.assertAllClose(var0.numpy(), [0.75, 1.75])
        self.assertAllClose(var1.numpy(), [2.975, 3.975])
        var0.assign_add([1.0, 1.0])
        var1.assign_add([2.0, 2.0])
        ema_var0.assign_add([3.0, 3.0])
        ema_var1.assign_add([4.0, 4.0])
        self.assertAllClose(var0.numpy(), [1.75, 2.75])
        self.assertAllClose(var1.numpy(), [4.975, 5.975])
        self.assertAllClose(ema_var0.numpy(), [3.75, 4.75])
        self.assertAllClose(ema_var1.numpy(), [6.975, 7.975])

    def test_opt_failure(self):
        with pytest.raises(TypeError):
            MovingAverage(None, 0.5)

    def test_num_updates_valid(self):
        for num_updates in [1, tf.Variable(1)]:
            self.assertEqual(MovingAverage("sgd", num_updates=num_updates).num_updates, 1)

    def test_num_updates_invalid(self):
        for num_updates in [1.0, tf.Variable(1.0), "a"]:
            with pytest.raises(TypeError):
                MovingAverage("sgd", num_updates=num_updates)

    def one_weight_model(self):
        model = keras.Sequential(
            [
                keras.layers.Dense(
                    1, kernel_initializer=keras.initializers.Constant([[1.0]]), use_bias=False
                )
            ]
        )
        model.build(input_shape=[1, 1])
        return model

    def test_model_weights_update(self):
        model = self.one_weight_model()
        opt = MovingAverage(keras.optimizers.SGD(learning_rate=2.0), average_decay=0.5)
        opt.apply_gradients(list(zip([tf.Variable([[0.1]])], model.variables)))
        self.assertAllClose(model.variables[0].numpy(), [[0.8]])
        opt.assign_average_vars(model.variables)
        self.assertAllClose(model.variables[0].numpy(), [[0.9]])

    def test_model_dynamic_lr(self):
        model = self.one_weight_model()
        opt = MovingAverage(keras.optimizers.SGD(learning_rate=1e-3), average_decay=0.5)
        opt.apply_gradients(list(zip([tf.Variable([[0.1]])], model.variables)))
        self.assertAllClose(opt.learning_rate.numpy(), 1e-3)
        opt.learning_rate = 1e-4
        self.assertAllClose(opt.learning_rate.numpy(), 1e-4)
        self.assertAllClose(opt.inner_optimizer.learning_rate.numpy(), 1e-4)

    def test_optimizer_string(self):
        self.assertIsInstance(MovingAverage("adam").inner_optimizer, keras.optimizers.Adam)

    def sgd_average(self):
        return MovingAverage(
            keras.optimizers.SGD(learning_rate=2.0, nesterov=True, momentum=0.3),
            average_decay=0.5,
            num_updates=None,
            start_step=5,
            dynamic_decay=True,
        )

    def test_config(self):
        opt = self.sgd_average()
        config = opt.get_config()
        self.assertEqual(config["average_decay"], 0.5)
        self.assertIsNone(config["num_updates"])
        self.assertEqual(config["start_step"], 5)
        self.assertIs(config["dynamic_decay"], True)
        new_opt = MovingAverage.from_config(config)
        self.assertEqual(new_opt.inner_optimizer.get_config(), opt.inner_optimizer.get_config())

    def test_fit_simple_linear_model(self):
        keras.utils.set_random_seed(0x2019)
        rng = np.random.default_rng(0x2019)
        x = rng.standard_normal((5000, 3)).astype("float32")
        w = rng.standard_normal((3, 1)).astype("float32")
        y = x @ w + rng.standard_normal((5000, 1)).astype("float32") * 1e-4
        model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
        opt = MovingAverage("sgd")
        model.compile(opt, loss="mse", steps_per_execution=157)  # one call per epoch
        model.fit(x, y, epochs=5, verbose=0)
        opt.assign_average_vars(model.variables)
        x = rng.standard_normal((100, 3)).astype("float32")
        predicted = model.predict(x, verbose=0)
        self.assertLess(np.max(np.abs(predicted - x @ w)), 5e-3)

    def test_serialization(self):
        optimizer = self.sgd_average()
        config = keras.optimizers.serialize(optimizer)
        self.assertEqual(keras.optimizers.deserialize(config).get_config(), optimizer.get_config())

    def test_start_step(self):
        var0 = tf.Variable([1.0, 2.0])
        grads_and_vars = [(tf.constant([0.1, 0.1]), var0)]
        opt = MovingAverage(
            keras.optimizers.SGD(learning_rate=1.0), average_decay=0.5, start_step=1
        )
        opt.apply_gradients(grads_and_vars)
        self.assertAllClose(var0.numpy(), [0.9, 1.9])
        opt.apply_gradients(grads_and_vars)
        self.assertAllClose(var0.numpy(), [0.8, 1.8])
        self.assertAllClose(opt.average_of(var0).numpy(), [0.85, 1.85])

    def test_dynamic_decay(self):
        var0 = tf.Variable([1.0, 2.0])
        grads_and_vars = [(tf.constant([0.1, 0.1]), var0)]
        opt = MovingAverage(
            keras.optimizers.SGD(learning_rate=2.0), average_decay=0.5, dynamic_decay=True
        )
        opt.apply_gradients(grads_and_vars)
        opt.apply_gradients(grads_and_vars)
        self.assertAllClose(var0.numpy(), [0.6, 1.6])
        self.assertAllClose(opt.average_of(var0).numpy(), [0.64, 1.64])

    def swap(self, shadow_copy):
        var = tf.Variable([1.0, 2.0])
        opt = MovingAverage(keras.optimizers.SGD(learning_rate=2.0), average_decay=0.5)
        opt.apply_gradients([(tf.constant([0.1, 0.1]), var)])
        self.assertAllClose(var.numpy(), [0.8, 1.8])
        ema_var = opt.average_of(var)
        self.assertAllClose(ema_var.numpy(), [0.9, 1.9])
        if shadow_copy:
            opt.shadow_copy([var])
            self.assertTrue(opt.has_shadow_copy)
        opt.swap_weights()
        self.assertAllClose(ema_var.numpy(), [0.8, 1.8])
        self.assertAllClose(var.numpy(), [0.9, 1.9])
        opt.swap_weights()
        self.assertAllClose(var.numpy(), [0.8, 1.8])
        self.assertAllClose(ema_var.numpy(), [0.9, 1.9])

    def test_swap_weight_no_shadow_copy(self):
        self.swap(shadow_copy=False)

    def test_swap_weights(self):
        self.swap(shadow_copy=True)

    def test_model_mixed_precision(self):
        rng = np.random.default_rng(0)
        x = rng.standard_normal((64, 3)).astype("float32")
        y = x @ rng.standard_normal((3, 1)).astype("float32")
        keras.mixed_precision.set_global_policy("mixed_float16")
        try:
            model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
            model.compile(MovingAverage("sgd"), loss="mse", run_eagerly=True)
            history = model.fit(x, y, epochs=1, verbose=0)
        finally:
            keras.mixed_precision.set_global_policy("float32")
        self.assertIsInstance(model.optimizer, keras.optimizers.LossScaleOptimizer)
        self.assertTrue(np.isfinite(history.history["loss"][0]))

    def test_no_average_slot(self):
        vectorize_layer = keras.layers.TextVectorization(
            max_tokens=5000, output_mode="int", output_sequence_length=4
        )
        vectorize_layer.adapt(["foo", "bar", "baz"])
        model = keras.Sequential(
            [
                keras.Input(shape=(1,), dtype="string"),
                vectorize_layer,
                keras.layers.Embedding(5001, 2),
                keras.layers.Dense(1),
            ]
        )
        optimizer = MovingAverage("sgd")
        model.compile(optimizer, loss="mse", run_eagerly=True)  # one step: eager is cheaper
        model.fit(
            x=tf.constant([["foo"], ["bar"], ["baz"]]),
            y=tf.constant([0.0, 1.0, 2.0]),
            epochs=1,
            verbose=0,
        )
        optimizer.assign_average_vars(model.variables)
        for variable in model.trainable_variables:
            self.assertAllEqual(variable.numpy(), optimizer.average_of(variable).numpy())
