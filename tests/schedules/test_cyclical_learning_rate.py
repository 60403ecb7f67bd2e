"""Cyclical learning rates beyond TFA's cases (TFA's: conformance/)."""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.schedules import (
    CyclicalLearningRate,
    ExponentialCyclicalLearningRate,
    Triangular2CyclicalLearningRate,
    TriangularCyclicalLearningRate,
)


@keras.saving.register_keras_serializable(package="tfx_ext_tests")
def halving(cycle):
    return 0.5 ** (cycle - 1.0)


class CyclicalLearningRateTest(tf.test.TestCase):
    def test_serialization_of_every_policy(self):
        schedules = [
            TriangularCyclicalLearningRate(0.01, 0.1, 5, name="tri"),
            Triangular2CyclicalLearningRate(0.01, 0.1, 5, scale_mode="iterations"),
            ExponentialCyclicalLearningRate(0.01, 0.1, 5, gamma=0.9),
            CyclicalLearningRate(0.01, 0.1, 5, scale_fn=halving),
        ]
        steps = np.arange(40)
        for schedule in schedules:
            clone = assert_config_round_trip(self, schedule)
            self.assertAllClose(clone(steps), schedule(steps))
        # A registered scale_fn equals the built-in triangular2 policy.
        self.assertAllClose(
            schedules[3](steps), Triangular2CyclicalLearningRate(0.01, 0.1, 5)(steps)
        )

    def test_optimizer_follows_the_schedule_and_reloads(self):
        schedule = Triangular2CyclicalLearningRate(0.01, 0.1, step_size=3)
        model = keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(1, kernel_initializer="zeros", bias_initializer="zeros"),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse", run_eagerly=True)
        model.fit(np.ones((64, 4)), np.ones((64, 1)), batch_size=8, shuffle=False, verbose=0)
        # SGD by hand with the rates of the policy: 0.01 -> 0.1 over 3 steps,
        # back down, then half the amplitude. All inputs are 1, so every kernel
        # entry moves like the bias: prediction 5 w, gradient 2 (5 w - 1).
        rates = [0.01, 0.04, 0.07, 0.1, 0.07, 0.04, 0.01, 0.025]
        self.assertAllClose(schedule(np.arange(8)), rates, atol=1e-7)
        w = 0.0
        for rate in rates:
            w -= rate * 2.0 * (5.0 * w - 1.0)
        self.assertAllClose(model.layers[0].kernel, np.full((4, 1), w), atol=1e-6)
        self.assertAllClose(model.layers[0].bias, [w], atol=1e-6)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "clr.keras")
            model.save(path)
            loaded = keras.models.load_model(path)
        self.assertIsInstance(loaded.optimizer._learning_rate, Triangular2CyclicalLearningRate)
        self.assertAllClose(float(loaded.optimizer.learning_rate), 0.04, atol=1e-7)

    @rejects_bad_input(
        CyclicalLearningRate,
        TriangularCyclicalLearningRate,
        Triangular2CyclicalLearningRate,
        ExponentialCyclicalLearningRate,
    )
    def test_bad_arguments(self):
        for cls in (
            TriangularCyclicalLearningRate,
            Triangular2CyclicalLearningRate,
            ExponentialCyclicalLearningRate,
        ):
            with self.subTest(cls.__name__):
                with self.assertRaisesRegex(ValueError, r"`step_size`.*> 0.*step_size=0"):
                    cls(0.1, 1.0, 0)
                with self.assertRaisesRegex(ValueError, r"`initial_learning_rate`.*=-0\.1"):
                    cls(-0.1, 1.0, 10)
                with self.assertRaisesRegex(TypeError, r"`maximal_learning_rate`.*='1'"):
                    cls(0.1, "1", 10)
                with self.assertRaisesRegex(
                    ValueError,
                    r"`scale_mode`.*'cycle', 'iterations'.*"
                    r"scale_mode='epoch'",
                ):
                    cls(0.1, 1.0, 10, scale_mode="epoch")
        with self.assertRaisesRegex(ValueError, r"`gamma`.*> 0.*gamma=0"):
            ExponentialCyclicalLearningRate(0.1, 1.0, 10, gamma=0)
        with self.assertRaisesRegex(TypeError, r"`scale_fn`.*callable.*scale_fn=1\.0"):
            CyclicalLearningRate(0.1, 1.0, 10, scale_fn=1.0)
        with self.assertRaisesRegex(
            TypeError, r"missing 1 required positional argument: 'scale_fn'"
        ):
            CyclicalLearningRate(0.1, 1.0, 10)
