"""The optimizers of issue #28 beyond TFA's own cases: argument checks, the
sparse (lazy) row updates against a NumPy reference, MovingAverage versus
Keras's `use_ema`, and the decoupled weight decay extension on any class
(trajectories: conformance/)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext import optimizers
from tfx_ext.optimizers import (
    COCOB,
    SGDW,
    AdaBelief,
    AdamW,
    AveragedOptimizerWrapper,
    ConditionalGradient,
    DecoupledWeightDecayExtension,
    LazyAdam,
    MovingAverage,
    NovoGrad,
    ProximalAdagrad,
    extend_with_decoupled_weight_decay,
)


class BadArgumentsTest(tf.test.TestCase):
    @rejects_bad_input(LazyAdam)
    def test_lazy_adam(self):
        with self.assertRaisesRegex(ValueError, r"`amsgrad`.*False.*amsgrad=True"):
            LazyAdam(amsgrad=True)
        with self.assertRaisesRegex(ValueError, r"`learning_rate`.*learning_rate=-1"):
            LazyAdam(-1)

    @rejects_bad_input(AdaBelief)
    def test_adabelief(self):
        with self.assertRaisesRegex(ValueError, r"`beta_1`.*beta_1=1\.0"):
            AdaBelief(beta_1=1.0)
        with self.assertRaisesRegex(ValueError, r"`weight_decay`.*weight_decay=-0\.1"):
            AdaBelief(weight_decay=-0.1)
        with self.assertRaisesRegex(TypeError, r"`rectify`.*a bool.*rectify='yes'"):
            AdaBelief(rectify="yes")
        with self.assertRaisesRegex(ValueError, r"`total_steps`.*total_steps=-5"):
            AdaBelief(total_steps=-5)
        with self.assertRaisesRegex(ValueError, r"`warmup_proportion`.*=1\.5"):
            AdaBelief(warmup_proportion=1.5)

    @rejects_bad_input(NovoGrad)
    def test_novograd(self):
        # TFA: "Weight decay rate cannot be negative".
        with self.assertRaisesRegex(ValueError, r"`weight_decay`.*weight_decay=-0\.1"):
            NovoGrad(weight_decay=-0.1)
        with self.assertRaisesRegex(TypeError, r"`grad_averaging`.*a bool"):
            NovoGrad(grad_averaging=1)
        with self.assertRaisesRegex(ValueError, r"`beta_2`.*beta_2=1\.5"):
            NovoGrad(beta_2=1.5)

    @rejects_bad_input(COCOB)
    def test_cocob(self):
        # TFA: "`alpha` must be greater than Zero" for alpha < 1.
        with self.assertRaisesRegex(ValueError, r"`alpha`.*>= 1\.0.*alpha=0\.5"):
            COCOB(0.5)
        with self.assertRaisesRegex(TypeError, r"`use_locking`.*a bool"):
            COCOB(use_locking="no")

    @rejects_bad_input(ConditionalGradient)
    def test_conditional_gradient(self):
        with self.assertRaisesRegex(ValueError, r"`ord`.*'fro', 'nuclear'.*ord='l1'"):
            ConditionalGradient(0.1, ord="l1")
        with self.assertRaisesRegex(ValueError, r"`lambda_`.*lambda_=-1"):
            ConditionalGradient(0.1, lambda_=-1)
        with self.assertRaisesRegex(TypeError, r"`lambda_`.*lambda_='big'"):
            ConditionalGradient(0.1, lambda_="big")
        with self.assertRaisesRegex(TypeError, r"learning_rate"):
            ConditionalGradient()  # required, as in TFA

    @rejects_bad_input(ProximalAdagrad)
    def test_proximal_adagrad(self):
        for argument in (
            "initial_accumulator_value",
            "l1_regularization_strength",
            "l2_regularization_strength",
        ):
            with self.assertRaisesRegex(ValueError, rf"`{argument}`.*{argument}=-0\.5"):
                ProximalAdagrad(**{argument: -0.5})

    @rejects_bad_input(SGDW, AdamW, DecoupledWeightDecayExtension)
    def test_decoupled_weight_decay(self):
        with self.assertRaisesRegex(ValueError, r"`weight_decay`.*weight_decay=-0\.01"):
            SGDW(weight_decay=-0.01)
        with self.assertRaisesRegex(TypeError, r"`weight_decay`.*weight_decay='l2'"):
            AdamW(weight_decay="l2")
        with self.assertRaisesRegex(TypeError, r"`exclude_from_weight_decay`.*='bias'"):
            AdamW(1e-4, exclude_from_weight_decay="bias")
        with self.assertRaisesRegex(ValueError, r"`exclude_from_weight_decay`.*\['\('\]"):
            SGDW(1e-4, exclude_from_weight_decay=["("])
        with self.assertRaisesRegex(TypeError, r"weight_decay"):
            SGDW()  # required, as in TFA

    @rejects_bad_input(extend_with_decoupled_weight_decay)
    def test_extend_with_decoupled_weight_decay(self):
        with self.assertRaisesRegex(TypeError, r"`base_optimizer`.*Optimizer subclass"):
            extend_with_decoupled_weight_decay(keras.optimizers.SGD())
        with self.assertRaisesRegex(TypeError, r"`base_optimizer`"):
            extend_with_decoupled_weight_decay(keras.layers.Dense)
        with self.assertRaisesRegex(ValueError, r"`base_optimizer`.*already"):
            extend_with_decoupled_weight_decay(SGDW)

    @rejects_bad_input(MovingAverage, AveragedOptimizerWrapper)
    def test_moving_average(self):
        with self.assertRaisesRegex(ValueError, r"`average_decay`.*average_decay=1\.5"):
            MovingAverage("sgd", average_decay=1.5)
        with self.assertRaisesRegex(ValueError, r"`start_step`.*start_step=-1"):
            MovingAverage("sgd", start_step=-1)
        with self.assertRaisesRegex(ValueError, r"`num_updates`.*num_updates=-2"):
            MovingAverage("sgd", num_updates=-2)
        with self.assertRaisesRegex(TypeError, r"`dynamic_decay`.*a bool"):
            MovingAverage("sgd", dynamic_decay=1)
        with self.assertRaisesRegex(TypeError, r"`optimizer`"):
            AveragedOptimizerWrapper(42)
        with self.assertRaisesRegex(ValueError, r"set it on the wrapped optimizer"):
            MovingAverage("sgd", clipnorm=1.0)
        with self.assertRaisesRegex(ValueError, r"built \(trained\)"):
            MovingAverage("sgd").assign_average_vars([])
        with self.assertRaisesRegex(ValueError, r"built \(trained\)"):
            MovingAverage("sgd").swap_weights()


def numpy_lazy_adam(table, batches, lr=1e-3, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
    """TFA's LazyAdam in NumPy: only the rows of each batch move (repeats summed)."""
    table = table.astype("float64").copy()
    m, v = np.zeros_like(table), np.zeros_like(table)
    for t, (indices, values) in enumerate(batches, start=1):
        rows, positions = np.unique(indices, return_inverse=True)
        grad = np.zeros((len(rows), table.shape[1]))
        np.add.at(grad, positions, values)
        m[rows] = beta_1 * m[rows] + (1 - beta_1) * grad
        v[rows] = beta_2 * v[rows] + (1 - beta_2) * grad**2
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        table[rows] -= alpha * m[rows] / (np.sqrt(v[rows]) + epsilon)
    return table


class LazyRowsTest(tf.test.TestCase):
    def test_lazy_adam_matches_its_numpy_reference_and_leaves_other_rows(self):
        rng = np.random.default_rng(0)
        table = rng.standard_normal((20, 3)).astype("float32")
        batches = [
            (rng.integers(0, 20, 6), rng.standard_normal((6, 3)).astype("float32"))
            for _ in range(5)
        ]
        variable = tf.Variable(table)
        optimizer = LazyAdam()
        for indices, values in batches:
            gradient = tf.IndexedSlices(
                tf.constant(values), tf.constant(indices, "int32"), tf.constant([20, 3])
            )
            optimizer.apply_gradients([(gradient, variable)])
        self.assertAllClose(variable.numpy(), numpy_lazy_adam(table, batches), atol=1e-6)
        never = np.setdiff1d(np.arange(20), np.concatenate([i for i, _ in batches]))
        self.assertNotEmpty(never)
        self.assertAllEqual(variable.numpy()[never], table[never])
        # Adam (dense semantics) moves rows that an earlier batch touched.
        adam_variable = tf.Variable(table)
        adam = keras.optimizers.Adam()
        for indices, values in batches:
            gradient = tf.IndexedSlices(
                tf.constant(values), tf.constant(indices, "int32"), tf.constant([20, 3])
            )
            adam.apply_gradients([(gradient, adam_variable)])
        self.assertNotAllClose(adam_variable.numpy(), variable.numpy())

    def test_embedding_gradients_reach_the_lazy_path(self):
        # Keras 3 on TensorFlow hands an Embedding's gradient over as
        # IndexedSlices; the rows the batch did not look up stay exact.
        keras.utils.set_random_seed(0)
        model = keras.Sequential(
            [
                keras.Input((2,), dtype="int32"),
                keras.layers.Embedding(50, 4),
                keras.layers.Flatten(),
                keras.layers.Dense(1),
            ]
        )
        model.compile(LazyAdam(0.01), loss="mse")
        before = model.layers[0].embeddings.numpy()
        x = np.array([[1, 2], [3, 1]], "int32")
        model.fit(x, np.ones((2, 1)), epochs=2, verbose=0)
        after = model.layers[0].embeddings.numpy()
        self.assertNotAllClose(after[[1, 2, 3]], before[[1, 2, 3]])
        untouched = np.setdiff1d(np.arange(50), [1, 2, 3])
        self.assertAllEqual(after[untouched], before[untouched])


class MovingAverageVersusEmaTest(tf.test.TestCase):
    def averages(self, optimizer, steps=3):
        variable = keras.Variable(np.array([1.0, 2.0], "float32"))
        for _ in range(steps):
            optimizer.apply_gradients([(keras.ops.convert_to_tensor([0.1, 0.1]), variable)])
        return variable

    def test_not_keras_use_ema(self):
        # TFA's average starts at the initial weights; Keras's EMA at the
        # first step's weights. With decay d and SGD(1.0), gradient 0.1:
        # w_t = w_0 - 0.1 t.
        d = 0.5
        ours = MovingAverage(keras.optimizers.SGD(1.0), average_decay=d)
        variable = self.averages(ours)
        w = [np.array([1.0, 2.0]) - 0.1 * t for t in range(4)]
        tfa_average = w[0]
        for t in range(1, 4):
            tfa_average = d * tfa_average + (1 - d) * w[t]
        self.assertAllClose(ours.average_of(variable).numpy(), tfa_average)
        ema = keras.optimizers.SGD(1.0, use_ema=True, ema_momentum=d)
        ema_variable = self.averages(ema)
        keras_average = w[1]
        for t in range(2, 4):
            keras_average = d * keras_average + (1 - d) * w[t]
        self.assertAllClose(ema._model_variables_moving_average[0].numpy(), keras_average)
        self.assertNotAllClose(tfa_average, keras_average)
        self.assertAllClose(ema_variable.numpy(), variable.numpy())

    def test_num_updates_caps_the_decay(self):
        optimizer = MovingAverage("sgd", average_decay=0.99, num_updates=2)
        self.assertAllClose(optimizer.decay_at(100), 3.0 / 12.0)


class DecoupledWeightDecayTest(tf.test.TestCase):
    def test_extension_on_any_class_is_one_registered_class(self):
        first = extend_with_decoupled_weight_decay(keras.optimizers.RMSprop)
        self.assertIs(first, extend_with_decoupled_weight_decay(keras.optimizers.RMSprop))
        self.assertTrue(issubclass(first, DecoupledWeightDecayExtension))
        self.assertEqual(
            keras.saving.get_registered_name(first), "tfx_ext>RMSpropWithDecoupledWeightDecay"
        )
        # w -= wd * w before RMSprop's own step (computed from the same gradient).
        optimizer = first(weight_decay=0.1, learning_rate=0.01)
        reference = keras.optimizers.RMSprop(learning_rate=0.01)
        ours, theirs = keras.Variable([1.0, -2.0]), keras.Variable([1.0, -2.0])
        gradient = keras.ops.convert_to_tensor([0.5, 0.5])
        optimizer.apply_gradients([(gradient, ours)])
        theirs.assign(theirs * 0.9)
        reference.apply_gradients([(gradient, theirs)])
        self.assertAllClose(ours.numpy(), theirs.numpy(), atol=1e-6)

    def test_tfa_module_paths(self):
        from tfx_ext.optimizers import (
            adabelief,
            average_wrapper,
            cocob,
            conditional_gradient,
            lazy_adam,
            moving_average,
            novograd,
            proximal_adagrad,
            weight_decay_optimizers,
        )

        self.assertIs(lazy_adam.LazyAdam, optimizers.LazyAdam)
        self.assertIs(novograd.NovoGrad, optimizers.NovoGrad)
        self.assertIs(adabelief.AdaBelief, optimizers.AdaBelief)
        self.assertIs(cocob.COCOB, optimizers.COCOB)
        self.assertIs(conditional_gradient.ConditionalGradient, optimizers.ConditionalGradient)
        self.assertIs(proximal_adagrad.ProximalAdagrad, optimizers.ProximalAdagrad)
        self.assertIs(moving_average.MovingAverage, optimizers.MovingAverage)
        self.assertIs(average_wrapper.AveragedOptimizerWrapper, optimizers.AveragedOptimizerWrapper)
        for name in (
            "SGDW",
            "AdamW",
            "DecoupledWeightDecayExtension",
            "extend_with_decoupled_weight_decay",
        ):
            self.assertIs(getattr(weight_decay_optimizers, name), getattr(optimizers, name))
        self.assertTrue(issubclass(optimizers.SWA, AveragedOptimizerWrapper))
        self.assertTrue(issubclass(MovingAverage, AveragedOptimizerWrapper))


@pytest.mark.backend_neutral
class OtherBackendsTest(tf.test.TestCase):
    """The dense math runs on every backend (JAX's leg runs these); sparse rows are TF's."""

    def test_dense_steps_agree_with_tfa_values(self):
        from tests.optimizers.conformance.samples import run_dense_sample

        cases = [
            (COCOB(), 10, [[0.84528893, 1.845289], [2.845289, 3.845289]], {}),
            (
                NovoGrad(0.1, epsilon=1e-8),
                1,
                [[0.9552786425, 1.9105572849], [2.9400000012, 3.9200000016]],
                {"grads": ([0.1, 0.2], [0.3, 0.4])},
            ),
            (
                ProximalAdagrad(3.0, l1_regularization_strength=0.001),
                10,
                [[-6.663634, -9.190331], [2.9593036, 1.0292315]],
                {"values": ([1.0, 2.0], [4.0, 3.0]), "grads": ([0.1, 0.2], [0.01, 0.02])},
            ),
            (
                AdaBelief(1e-3, rectify=False),
                100,
                [[0.66723955, 1.6672393], [2.6672382, 3.6672382]],
                {},
            ),
        ]
        for optimizer, iterations, expected, sample in cases:
            with self.subTest(type(optimizer).__name__):
                for a, e in zip(run_dense_sample(optimizer, iterations, **sample), expected):
                    self.assertAllClose(a, e, atol=2e-4)

    def test_conditional_gradient_nuclear_and_lazy_adam_dense(self):
        variable = keras.Variable(np.array([[1.0, 2.0], [3.0, 4.0]], "float32"))
        gradient = np.array([[0.3, 0.1], [0.2, 0.4]], "float32")
        ConditionalGradient(0.5, lambda_=0.1, ord="nuclear").apply_gradients(
            [(keras.ops.convert_to_tensor(gradient), variable)]
        )
        u, _, vh = np.linalg.svd(gradient)
        expected = 0.5 * np.array([[1.0, 2.0], [3.0, 4.0]]) - 0.5 * 0.1 * np.outer(u[:, 0], vh[0])
        self.assertAllClose(keras.ops.convert_to_numpy(variable), expected, atol=1e-6)
        # Dense gradients: LazyAdam is Keras's Adam.
        a, b = keras.Variable([1.0, 2.0]), keras.Variable([1.0, 2.0])
        lazy, adam = LazyAdam(0.1), keras.optimizers.Adam(0.1)
        for _ in range(3):
            lazy.apply_gradients([(keras.ops.convert_to_tensor([0.3, -0.2]), a)])
            adam.apply_gradients([(keras.ops.convert_to_tensor([0.3, -0.2]), b)])
        self.assertAllClose(keras.ops.convert_to_numpy(a), keras.ops.convert_to_numpy(b))

    def test_fit_on_this_backend(self):
        # model.fit goes through the backend's trainer (stateless_apply on JAX).
        # One model, one branch per optimizer, all in one MultiOptimizer: one
        # fit covers every optimizer.
        parts = {
            "lazy_adam": LazyAdam(0.05),
            "adabelief": AdaBelief(0.05),
            "novograd": NovoGrad(0.05),
            "cocob": COCOB(),
            "conditional_gradient": ConditionalGradient(0.9, lambda_=1.0),
            "proximal_adagrad": ProximalAdagrad(0.5),
            "sgdw": SGDW(1e-4, learning_rate=0.05),
            "adamw": AdamW(1e-4, learning_rate=0.05),
            "moving_average": MovingAverage(keras.optimizers.SGD(0.05), average_decay=0.5),
        }
        keras.utils.set_random_seed(0)
        inputs = keras.Input((4,))
        branches = [keras.layers.Dense(1, name=name)(inputs) for name in parts]
        model = keras.Model(inputs, keras.layers.Add()(branches), name="m")
        model.compile(
            keras.optimizers.MultiOptimizer(
                keras.optimizers.OptimizerMap(
                    default_optimizer=keras.optimizers.SGD(0.0),
                    optimizer_map={f"^{name}/.*": optimizer for name, optimizer in parts.items()},
                )
            ),
            loss="mse",
            run_eagerly=True,  # 8 eager steps cost less than tracing nine optimizers
        )
        x = np.random.default_rng(0).standard_normal((32, 4)).astype("float32")
        y = x @ np.ones((4, 1), "float32")
        before = {name: model.get_layer(name).get_weights() for name in parts}
        history = model.fit(x, y, batch_size=16, epochs=4, verbose=0)
        losses = history.history["loss"]
        self.assertLess(losses[-1], losses[0])
        for name, optimizer in parts.items():
            with self.subTest(name):
                self.assertEqual(int(optimizer.iterations), 8)
                for old, new in zip(before[name], model.get_layer(name).get_weights()):
                    self.assertNotAllClose(old, new)
