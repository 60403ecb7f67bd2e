import json

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import diabetes
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.schedules import OneCycle


def reference_one_cycle(
    iteration, total_steps, max_rate, start_rate=None, last_rate=None, annealing_steps=None
):
    """The `OneCycleScheduler` of "Hands-On ML" (ch. 11), in pure Python.

    The rate is clamped at `last_rate` once the run is over (`iteration >=
    total_steps`).
    """
    start_rate = max_rate / 10 if start_rate is None else start_rate
    last_rate = start_rate / 1000 if last_rate is None else last_rate
    last_iterations = total_steps // 10 + 1 if annealing_steps is None else annealing_steps
    half = (total_steps - last_iterations) // 2

    def interpolate(iter1, iter2, rate1, rate2):
        return (rate2 - rate1) * (iteration - iter1) / (iter2 - iter1) + rate1

    if iteration >= total_steps:
        return last_rate
    if iteration < half:
        return interpolate(0, half, start_rate, max_rate)
    if iteration < 2 * half:
        return interpolate(half, 2 * half, max_rate, start_rate)
    return interpolate(2 * half, total_steps, start_rate, last_rate)


SETTINGS = [
    dict(total_steps=100, max_rate=0.1),  # even total, default annealing (11 steps)
    dict(total_steps=101, max_rate=0.05),  # odd total
    dict(total_steps=40, max_rate=1.0, annealing_steps=5),  # odd cycle length (35)
    dict(total_steps=37, max_rate=2.0, annealing_steps=7),
    dict(total_steps=20, max_rate=0.5, start_rate=0.2, last_rate=0.01),
    dict(total_steps=12, max_rate=0.3, start_rate=0.0, last_rate=0.0),
    dict(total_steps=3, max_rate=1.0),  # smallest total with the default annealing
    dict(total_steps=11, max_rate=1.0, annealing_steps=0),
    dict(total_steps=10, max_rate=1.0, annealing_steps=0),  # the cycle ends at total_steps
]


def regression_model(schedule):
    model = keras.Sequential(
        [
            keras.Input((10,)),
            keras.layers.Dense(8, activation="relu"),
            keras.layers.Dense(1),
        ]
    )
    model.compile(optimizer=keras.optimizers.SGD(schedule), loss="mse")
    return model


def current_rate(model):
    # On JAX, fit keeps the optimizer's iteration count in its own state: sync it back first.
    if hasattr(model, "jax_state_sync"):
        model.jax_state_sync()
    return float(model.optimizer.learning_rate)


class OneCycleTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_matches_reference_at_every_step(self):
        for settings in SETTINGS:
            schedule = OneCycle(**settings)
            steps = range(settings["total_steps"] + 6)
            expected = [reference_one_cycle(step, **settings) for step in steps]
            actual = [float(schedule(step)) for step in steps]
            self.assertAllClose(actual, expected, rtol=1e-6, atol=1e-7, msg=str(settings))

    def test_accepts_tensor_steps(self):
        schedule = OneCycle(50, 0.2)
        for step in [0, 7, 23, 46, 49, 50, 80]:
            expected = reference_one_cycle(step, 50, 0.2)
            self.assertAllClose(schedule(tf.constant(step, "int64")), expected, rtol=1e-6)
            self.assertAllClose(schedule(np.int32(step)), expected, rtol=1e-6)

    def test_landmarks(self):
        # Worked example: 100 steps, 11 annealing steps, halves of 44 steps.
        schedule = OneCycle(100, max_rate=0.1)
        self.assertEqual(schedule.annealing_steps, 11)
        self.assertAllClose(schedule.start_rate, 0.01)
        self.assertAllClose(schedule.last_rate, 1e-5)
        self.assertAllClose(schedule(0), 0.01)
        self.assertAllClose(schedule(44), 0.1)
        self.assertAllClose(schedule(88), 0.01)
        self.assertAllClose(schedule(100), 1e-5)
        self.assertAllClose(schedule(10_000), 1e-5)

    def test_shortest_run_shortens_the_default_annealing(self):
        # total_steps=2 leaves no room for the book's default annealing
        # (2 // 10 + 1 = 1 step would leave a 1-step cycle): up, then last_rate.
        schedule = OneCycle(2, max_rate=1.0)
        self.assertEqual(schedule.annealing_steps, 0)
        rates = [float(schedule(step)) for step in range(4)]
        self.assertAllClose(rates, [0.1, 1.0, 1e-4, 1e-4], rtol=1e-5)

    def test_optimizer_rate_follows_schedule_in_fit(self):
        x, y = diabetes()  # 442 samples: 14 batches of 32 per epoch
        total_steps = 40
        settings = dict(total_steps=total_steps, max_rate=0.05)
        model = regression_model(OneCycle(**settings))
        used = []
        recorder = keras.callbacks.LambdaCallback(
            on_train_batch_begin=lambda batch, logs: used.append(current_rate(model))
        )
        model.fit(x, y, batch_size=32, epochs=2, callbacks=[recorder], verbose=0)
        self.assertEqual(int(model.optimizer.iterations), 28)
        self.assertAllClose(
            used, [reference_one_cycle(k, **settings) for k in range(28)], rtol=1e-6
        )
        self.assertAllClose(
            float(model.optimizer.learning_rate), reference_one_cycle(28, **settings), rtol=1e-6
        )
        # Past the end of the run the rate stays at last_rate.
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)
        self.assertEqual(int(model.optimizer.iterations), 42)
        self.assertAllClose(float(model.optimizer.learning_rate), 0.005 / 1000, rtol=1e-6)

    @rejects_bad_input(OneCycle)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(
            ValueError,
            r"Invalid value received for argument `total_steps`\. Expected an integer >= 2\. "
            r"Received: total_steps=1",
        ):
            OneCycle(1, 0.1)
        with self.assertRaisesRegex(
            TypeError, r"argument `total_steps`.*Received: total_steps=10\.0"
        ):
            OneCycle(10.0, 0.1)
        with self.assertRaisesRegex(
            TypeError, r"argument `total_steps`.*Received: total_steps=True"
        ):
            OneCycle(True, 0.1)
        with self.assertRaisesRegex(ValueError, r"argument `max_rate`.*> 0.*Received: max_rate=0"):
            OneCycle(100, 0)
        with self.assertRaisesRegex(ValueError, r"argument `max_rate`.*Received: max_rate=-0\.1"):
            OneCycle(100, -0.1)
        with self.assertRaisesRegex(ValueError, r"argument `max_rate`.*Received: max_rate=nan"):
            OneCycle(100, float("nan"))
        with self.assertRaisesRegex(TypeError, r"argument `max_rate`.*Received: max_rate='0\.1'"):
            OneCycle(100, "0.1")
        with self.assertRaisesRegex(
            ValueError, r"argument `start_rate`.*\[0\.0, 0\.1\].*Received: start_rate=0\.2"
        ):
            OneCycle(100, 0.1, start_rate=0.2)
        with self.assertRaisesRegex(
            ValueError, r"argument `start_rate`.*Received: start_rate=-0\.01"
        ):
            OneCycle(100, 0.1, start_rate=-0.01)
        with self.assertRaisesRegex(
            ValueError, r"argument `last_rate`.*\[0\.0, 0\.01\].*Received: last_rate=0\.02"
        ):
            OneCycle(100, 0.1, start_rate=0.01, last_rate=0.02)
        with self.assertRaisesRegex(
            ValueError, r"argument `last_rate`.*Received: last_rate=0\.02"
        ):  # default start_rate is max_rate / 10 = 0.01
            OneCycle(100, 0.1, last_rate=0.02)
        with self.assertRaisesRegex(
            ValueError, r"argument `annealing_steps`.*at least 2 of the 10 steps.*annealing_steps=9"
        ):
            OneCycle(10, 0.1, annealing_steps=9)
        with self.assertRaisesRegex(ValueError, r"argument `annealing_steps`.*annealing_steps=-1"):
            OneCycle(10, 0.1, annealing_steps=-1)
        with self.assertRaisesRegex(TypeError, r"argument `annealing_steps`.*annealing_steps=2\.0"):
            OneCycle(10, 0.1, annealing_steps=2.0)
        # The limits themselves are accepted.
        OneCycle(10, 0.1, annealing_steps=8)
        OneCycle(10, 0.1, start_rate=0.1, last_rate=0.1)

    def test_numpy_scalars_give_a_json_config(self):
        schedule = OneCycle(np.int64(30), np.float32(0.5), annealing_steps=np.int32(4))
        config = json.loads(json.dumps(schedule.get_config()))
        self.assertEqual(config["total_steps"], 30)
        self.assertEqual(config["annealing_steps"], 4)
        self.assertAllClose(config["max_rate"], 0.5)

    def test_serialization(self):
        schedule = OneCycle(
            30, 0.02, start_rate=0.004, last_rate=1e-5, annealing_steps=4, name="cycle"
        )
        clone = assert_config_round_trip(self, schedule)
        for step in range(35):
            self.assertAllClose(
                clone(step),
                reference_one_cycle(
                    step, 30, 0.02, start_rate=0.004, last_rate=1e-5, annealing_steps=4
                ),
                rtol=1e-6,
            )

        x, y = diabetes()
        model = regression_model(OneCycle(30, 0.02, annealing_steps=4))
        model.fit(x, y, batch_size=32, epochs=1, verbose=0)  # 14 steps
        loaded = assert_model_round_trip(self, model, x, y)
        restored = loaded.optimizer._learning_rate
        self.assertIsInstance(restored, OneCycle)
        self.assertEqual(restored.get_config(), model.optimizer._learning_rate.get_config())
        self.assertEqual(int(loaded.optimizer.iterations), 14)
        self.assertAllClose(
            float(loaded.optimizer.learning_rate),
            reference_one_cycle(14, 30, 0.02, annealing_steps=4),
            rtol=1e-6,
        )
