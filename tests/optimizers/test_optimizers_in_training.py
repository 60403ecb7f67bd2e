"""The TFA optimizers in real training: compile/fit, `.keras` round trip with
their state, `keras.optimizers.MultiOptimizer`, and `tfx_ext.training.Trainer`.

Accuracy against Adam on the digits MLP is measured by
`scripts/bench/optimizers_digits.py` (tens of epochs: too slow for a test).
"""

import json
import os
import subprocess
import sys
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.datasets import digits
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.optimizers import (
    COCOB,
    SGDW,
    SWA,
    AdaBelief,
    AdamW,
    AveragedOptimizerWrapper,
    ConditionalGradient,
    LazyAdam,
    Lookahead,
    MovingAverage,
    NovoGrad,
    ProximalAdagrad,
    RectifiedAdam,
    Yogi,
    extend_with_decoupled_weight_decay,
)
from tfx_ext.schedules import ExponentialCyclicalLearningRate, Triangular2CyclicalLearningRate

ROWS = 256  # 8 batches of 32


def optimizers():
    """One configured instance of each new optimizer (and both wrappers nested)."""
    return {
        "radam": RectifiedAdam(
            learning_rate=3e-3,
            total_steps=40,
            warmup_proportion=0.2,
            min_lr=1e-4,
            weight_decay=1e-3,
            amsgrad=True,
        ),
        "yogi": Yogi(
            learning_rate=0.01, l1_regularization_strength=1e-4, l2_regularization_strength=1e-4
        ),
        "ranger": Lookahead(RectifiedAdam(3e-3), sync_period=3, slow_step_size=0.5),
        "swa_yogi": SWA(Yogi(0.01), start_averaging=2, average_period=3),
        "swa_lookahead_clr": SWA(
            Lookahead(
                keras.optimizers.SGD(Triangular2CyclicalLearningRate(1e-3, 0.05, step_size=4))
            ),
            average_period=2,
        ),
        "adam_exp_clr": keras.optimizers.Adam(
            ExponentialCyclicalLearningRate(1e-4, 3e-3, step_size=4, gamma=0.99)
        ),
    }


def issue_28_optimizers():
    """One configured instance of each optimizer of issue #28."""
    return {
        "lazy_adam": LazyAdam(3e-3),
        "adabelief": AdaBelief(3e-3, amsgrad=True, weight_decay=1e-3, total_steps=10),
        "novograd": NovoGrad(3e-3, weight_decay=1e-3, grad_averaging=True, amsgrad=True),
        "cocob": COCOB(alpha=50),
        "conditional_gradient": ConditionalGradient(0.9, lambda_=0.5, ord="nuclear"),
        "proximal_adagrad": ProximalAdagrad(
            0.05, l1_regularization_strength=1e-3, l2_regularization_strength=1e-3
        ),
        "sgdw": SGDW(1e-3, learning_rate=0.05, momentum=0.9, exclude_from_weight_decay=["bias"]),
        "adamw": AdamW(1e-3, learning_rate=3e-3),
        "rmspropw": extend_with_decoupled_weight_decay(keras.optimizers.RMSprop)(
            weight_decay=1e-3, learning_rate=1e-3
        ),
        "moving_average": MovingAverage(
            keras.optimizers.Adam(3e-3), average_decay=0.9, start_step=1, dynamic_decay=True
        ),
    }


def _fixed_gradients(model):
    """A different, fixed gradient for every trainable variable."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(v.shape).astype("float32") for v in model.trainable_variables]


def mlp():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        name="mlp",
        layers=[
            keras.Input((64,)),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, activation="softmax", name="out"),
        ],
    )


def compiled(optimizer, **kwargs):
    model = mlp()
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", **kwargs)
    return model


def values(variables):
    return [keras.ops.convert_to_numpy(v) for v in variables]


class OptimizersInTrainingTest(tf.test.TestCase):
    def setUp(self):
        x_train, y_train, _, _ = digits()
        self.x, self.y = x_train[:ROWS], y_train[:ROWS]

    def test_keras_round_trip_restores_the_optimizer_and_its_state(self):
        for name, optimizer in optimizers().items():
            with self.subTest(name):
                self.check_round_trip(optimizer, self.x, self.y)

    def test_keras_round_trip_of_the_issue_28_optimizers(self):
        # fit() with each is tested in test_tfa_optimizers (OtherBackendsTest);
        # here two fixed-gradient steps build the state, cheaply.
        model_input = self.x[:8]
        for name, optimizer in issue_28_optimizers().items():
            with self.subTest(name):
                assert_config_round_trip(self, optimizer)
                json.dumps(keras.saving.serialize_keras_object(optimizer))
                model = compiled(optimizer)
                gradients = [keras.ops.convert_to_tensor(g) for g in _fixed_gradients(model)]
                for _ in range(2):
                    optimizer.apply(gradients, model.trainable_variables)
                loaded = assert_model_round_trip(self, model, model_input, saved_model=False)
                self.assertIs(type(loaded.optimizer), type(optimizer))
                self.assertEqual(loaded.optimizer.get_config(), optimizer.get_config())
                self.assertEqual(int(loaded.optimizer.iterations), 2)
                self.assertEqual(len(loaded.optimizer.variables), len(optimizer.variables))
                for restored, original in zip(
                    values(loaded.optimizer.variables), values(optimizer.variables)
                ):
                    self.assertAllEqual(restored, original)
                # One more step from the restored state equals continuing.
                optimizer.apply(gradients, model.trainable_variables)
                loaded.optimizer.apply(gradients, loaded.trainable_variables)
                for a, b in zip(
                    values(loaded.trainable_variables), values(model.trainable_variables)
                ):
                    self.assertAllClose(a, b, atol=1e-6, rtol=0)
                if isinstance(optimizer, AveragedOptimizerWrapper):
                    for a, b in zip(
                        values(loaded.optimizer._averages), values(optimizer._averages)
                    ):
                        self.assertAllClose(a, b, atol=1e-6, rtol=0)

    def check_round_trip(self, optimizer, x, y):
        steps = len(x) // 32
        if type(optimizer).__module__.startswith("tfx_ext"):
            assert_config_round_trip(self, optimizer)
        json.dumps(keras.saving.serialize_keras_object(optimizer))
        # Eager steps: a few steps cost less than tracing the step.
        model = compiled(optimizer, run_eagerly=True)
        before = values(model.trainable_variables)
        model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        for old, new in zip(before, values(model.trainable_variables)):
            self.assertNotAllClose(old, new)
        loaded = assert_model_round_trip(self, model, x[:8], saved_model=False)
        self.assertIs(type(loaded.optimizer), type(model.optimizer))
        self.assertEqual(loaded.optimizer.get_config(), model.optimizer.get_config())
        self.assertEqual(int(loaded.optimizer.iterations), steps)
        self.assertEqual(len(loaded.optimizer.variables), len(model.optimizer.variables))
        for restored, original in zip(
            values(loaded.optimizer.variables), values(model.optimizer.variables)
        ):
            self.assertAllEqual(restored, original)
        # The restored state continues the same trajectory.
        loaded.compile(
            optimizer=loaded.optimizer, loss="sparse_categorical_crossentropy", run_eagerly=True
        )
        for m in (model, loaded):
            m.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        for a, b in zip(values(loaded.trainable_variables), values(model.trainable_variables)):
            self.assertAllClose(a, b, atol=1e-6, rtol=0)
        if isinstance(model.optimizer, AveragedOptimizerWrapper):
            expected = values(model.optimizer._averages)
            model.optimizer.assign_average_vars(model.trainable_variables)
            for a, b in zip(values(model.trainable_variables), expected):
                self.assertAllEqual(a, b)

    def test_saved_model_export_of_a_model_trained_with_ranger(self):
        model = compiled(Lookahead(RectifiedAdam()))
        model.fit(self.x, self.y, batch_size=32, epochs=1, verbose=0)
        assert_model_round_trip(self, model, self.x[:8], self.y[:8])

    def mapping(self, model):
        return {
            "mlp/hidden/.*": Lookahead(RectifiedAdam(3e-3), sync_period=3),
            "mlp/out/.*": SWA(Yogi(0.01), start_averaging=1, average_period=2),
        }

    def test_trainer_and_multi_optimizer_agree(self):
        if keras.backend.backend() != "tensorflow":
            self.skipTest("the Trainer runs on TensorFlow (tf.function, tf.distribute)")
        from tfx_ext.training import Trainer

        reference = mlp()
        parts = self.mapping(reference)
        multi = keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(
                default_optimizer=keras.optimizers.SGD(0.0), optimizer_map=parts
            )
        )
        reference.compile(optimizer=multi, loss="sparse_categorical_crossentropy")
        reference.fit(self.x, self.y, batch_size=32, epochs=2, shuffle=False, verbose=0)
        self.assertEqual(int(parts["mlp/hidden/.*"].iterations), 2 * ROWS // 32)
        self.assertEqual(int(parts["mlp/out/.*"].iterations), 2 * ROWS // 32)

        model = mlp()
        trainer = Trainer(model, "sparse_categorical_crossentropy", self.mapping(model))
        trainer.fit((self.x, self.y), epochs=2, batch_size=32, shuffle=False, verbose=0)
        for a, b in zip(values(model.trainable_variables), values(reference.trainable_variables)):
            self.assertAllClose(a, b, atol=1e-5, rtol=0)
        swa = trainer.optimizer.optimizers[1]
        self.assertIsInstance(swa, SWA)
        for a, b in zip(values(swa._averages), values(parts["mlp/out/.*"]._averages)):
            self.assertAllClose(a, b, atol=1e-5, rtol=0)

        # The compiled MultiOptimizer model reloads with its wrapped parts.
        # (Keras 3.15 does not restore the state of a MultiOptimizer's parts,
        # plain Adam included: load_model leaves them unbuilt.)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "multi.keras")
            reference.save(path)
            loaded = keras.models.load_model(path)
        by_kind = {type(o).__name__: o for o in loaded.optimizer.optimizers}
        self.assertEqual(sorted(by_kind), ["Lookahead", "SGD", "SWA"])
        self.assertEqual(by_kind["Lookahead"].get_config(), parts["mlp/hidden/.*"].get_config())
        self.assertEqual(by_kind["SWA"].get_config(), parts["mlp/out/.*"].get_config())


class Issue28PartsTest(tf.test.TestCase):
    def test_trainer_and_multi_optimizer_agree(self):
        # LazyAdam and MovingAverage(NovoGrad) on the two parts; one epoch.
        from tfx_ext.training import Trainer

        x_train, y_train, _, _ = digits()
        x, y = x_train[:64], y_train[:64]

        def parts():
            return {
                "mlp/hidden/.*": LazyAdam(3e-3),
                "mlp/out/.*": MovingAverage(NovoGrad(3e-3), average_decay=0.5),
            }

        reference = mlp()
        reference_parts = parts()
        multi = keras.optimizers.MultiOptimizer(
            keras.optimizers.OptimizerMap(
                default_optimizer=keras.optimizers.SGD(0.0), optimizer_map=reference_parts
            )
        )
        reference.compile(optimizer=multi, loss="sparse_categorical_crossentropy")
        reference.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0)
        self.assertEqual(int(reference_parts["mlp/out/.*"].iterations), 2)

        model = mlp()
        trainer = Trainer(model, "sparse_categorical_crossentropy", parts())
        trainer.fit((x, y), epochs=1, batch_size=32, shuffle=False, verbose=0)
        for a, b in zip(values(model.trainable_variables), values(reference.trainable_variables)):
            self.assertAllClose(a, b, atol=1e-5, rtol=0)
        average = trainer.optimizer.optimizers[1]
        self.assertIsInstance(average, MovingAverage)
        for a, b in zip(values(average._averages), values(reference_parts["mlp/out/.*"]._averages)):
            self.assertAllClose(a, b, atol=1e-5, rtol=0)


class MirroredStrategyTest(tf.test.TestCase):
    def test_wrappers_under_mirrored_strategy_equal_one_device(self):
        # The wrappers' own step goes through tf.distribute's cross-replica
        # update; two mirrored logical CPUs must give one device's weights.
        if keras.backend.backend() != "tensorflow":
            self.skipTest("tf.distribute is TensorFlow's (the TensorFlow leg runs this)")
        root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        env = dict(
            os.environ,
            PYTHONPATH=os.pathsep.join(
                [root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
            ),
        )
        result = subprocess.run(
            [sys.executable, "-m", "tests.optimizers.mirrored_worker"],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        self.assertEqual(result.returncode, 0, result.stderr[-3000:])
        differences = json.loads(result.stdout.strip().splitlines()[-1])
        self.assertEqual(sorted(differences), ["ranger", "swa_yogi"])
        for name, difference in differences.items():
            self.assertLess(difference, 1e-6, name)
