import math
import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.roundtrip import assert_config_round_trip
from tfx_ext.callbacks import LearningRateFinder
from tfx_ext.schedules import OneCycle

BATCH_SIZE = 32


def mlp(learning_rate=0.01, momentum=0.0):
    model = keras.Sequential(
        [
            keras.Input((64,)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    return model


def reference_batch_losses(weights, x, y, batch_size=BATCH_SIZE):
    """Mean cross-entropy of each batch of the MLP with `weights`, in float64 NumPy."""
    w1, b1, w2, b2 = [np.asarray(w, "float64") for w in weights]
    hidden = np.maximum(x.astype("float64") @ w1 + b1, 0.0)
    logits = hidden @ w2 + b2
    top = logits.max(axis=1, keepdims=True)
    log_sum_exp = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
    per_sample = log_sum_exp - logits[np.arange(len(y)), y]
    return [per_sample[i : i + batch_size].mean() for i in range(0, len(y), batch_size)]


def reference_smoothed(losses, smoothing):
    """Bias-corrected exponential moving average (as in Adam's moments)."""
    average, smoothed = 0.0, []
    for step, loss in enumerate(losses):
        average = smoothing * average + (1 - smoothing) * loss
        smoothed.append(average / (1 - smoothing ** (step + 1)))
    return smoothed


def snapshot(variables):
    return [np.array(keras.ops.convert_to_numpy(v)) for v in variables]


class LearningRateFinderTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.x, self.y, _, _ = digits()
        self.steps = math.ceil(len(self.x) / BATCH_SIZE)  # 43 (the last batch has 3 samples)

    def fit(self, model, finder, extra_callbacks=()):
        return model.fit(
            self.x,
            self.y,
            batch_size=BATCH_SIZE,
            epochs=1,
            shuffle=False,
            callbacks=[finder, *extra_callbacks],
            verbose=0,
        )

    def test_rates_sweep_geometrically_over_the_epoch(self):
        model = mlp()
        initial_weights = snapshot(model.weights)
        used = []
        recorder = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: used.append(float(model.optimizer.learning_rate))
        )
        finder = LearningRateFinder(min_rate=1e-4, max_rate=1.0)
        self.fit(model, finder, [recorder])

        n = self.steps
        expected = [1e-4 * (1.0 / 1e-4) ** (k / (n - 1)) for k in range(n)]
        self.assertLen(finder.rates, n)
        self.assertLen(finder.losses, n)
        self.assertLen(finder.smoothed_losses, n)
        self.assertAllClose(finder.rates, expected, rtol=1e-12, atol=0)
        self.assertAllClose(finder.rates[0], 1e-4, rtol=1e-12)
        self.assertAllClose(finder.rates[-1], 1.0, rtol=1e-12)
        # The optimizer really trained with those rates (float32 variable).
        self.assertAllClose(used, expected, rtol=1e-6, atol=0)
        # The first batch's loss is computed with the initial weights.
        first = reference_batch_losses(initial_weights, self.x[:BATCH_SIZE], self.y[:BATCH_SIZE])
        self.assertAllClose(finder.losses[0], first[0], rtol=1e-5)

    def test_num_steps_shortens_the_sweep(self):
        model = mlp()
        batches = []
        counter = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: batches.append(batch)
        )
        finder = LearningRateFinder(min_rate=1e-3, max_rate=0.1, num_steps=10)
        self.fit(model, finder, [counter])
        self.assertLen(batches, 10)
        self.assertAllClose(
            finder.rates, [1e-3 * 100 ** (k / 9) for k in range(10)], rtol=1e-12, atol=0
        )

    def test_losses_are_the_losses_of_each_batch(self):
        # Rates of ~1e-30 leave the weights unchanged in float32, so every batch's
        # loss is the initial model's loss on that batch (and differs from Keras's
        # running mean, which `logs["loss"]` reports).
        model = mlp()
        initial_weights = snapshot(model.weights)
        running_means = []
        recorder = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: running_means.append(float(logs["loss"]))
        )
        finder = LearningRateFinder(min_rate=1e-30, max_rate=1e-29, restore=False)
        self.fit(model, finder, [recorder])

        expected = reference_batch_losses(initial_weights, self.x, self.y)
        self.assertLen(expected, self.steps)
        self.assertAllClose(finder.losses, expected, rtol=1e-4, atol=1e-4)
        # The last batch holds 3 samples: the per-batch loss must weigh them right.
        self.assertAllClose(finder.losses[-1], expected[-1], rtol=1e-4, atol=1e-4)
        self.assertNotAllClose(running_means[1:], expected[1:], rtol=1e-3, atol=1e-3)

    def test_stops_when_the_loss_explodes(self):
        model = mlp()
        batches = []
        counter = keras.callbacks.LambdaCallback(
            on_train_batch_end=lambda batch, logs: batches.append(batch)
        )
        finder = LearningRateFinder(min_rate=1e-4, max_rate=100.0)
        history = self.fit(model, finder, [counter])

        n = len(finder.rates)
        self.assertLess(n, self.steps)
        self.assertLen(batches, n)
        self.assertLen(history.epoch, 1)
        smoothed = reference_smoothed(finder.losses, 0.9)

        def explodes(k):
            return not math.isfinite(finder.losses[k]) or smoothed[k] > 4.0 * min(smoothed[: k + 1])

        self.assertTrue(explodes(n - 1))
        self.assertFalse(any(explodes(k) for k in range(n - 1)))

    def test_restores_weights_optimizer_state_and_rate(self):
        model = mlp(learning_rate=0.01, momentum=0.9)
        model.fit(self.x, self.y, batch_size=BATCH_SIZE, epochs=1, verbose=0)  # non-trivial state
        weights = snapshot(model.weights)
        optimizer_state = snapshot(model.optimizer.variables)
        self.assertEqual(int(model.optimizer.iterations), self.steps)

        finder = LearningRateFinder(min_rate=1e-4, max_rate=10.0)
        self.fit(model, finder)
        self.assertGreater(len(finder.rates), 1)
        for after, before in zip(snapshot(model.weights), weights):
            self.assertAllEqual(after, before)
        self.assertLen(model.optimizer.variables, len(optimizer_state))
        for after, before in zip(snapshot(model.optimizer.variables), optimizer_state):
            self.assertAllEqual(after, before)
        self.assertEqual(float(model.optimizer.learning_rate), float(np.float32(0.01)))
        self.assertEqual(int(model.optimizer.iterations), self.steps)

        # Training resumes with the original rate.
        model.fit(self.x, self.y, batch_size=BATCH_SIZE, epochs=1, verbose=0)
        self.assertEqual(float(model.optimizer.learning_rate), float(np.float32(0.01)))

    def test_without_restore_keeps_the_trained_state(self):
        model = mlp(learning_rate=0.01)
        weights = snapshot(model.weights)
        finder = LearningRateFinder(min_rate=1e-4, max_rate=1.0, restore=False)
        self.fit(model, finder)
        changed = [not np.array_equal(a, b) for a, b in zip(snapshot(model.weights), weights)]
        self.assertTrue(all(changed))
        self.assertEqual(int(model.optimizer.iterations), len(finder.rates))
        self.assertAllClose(float(model.optimizer.learning_rate), finder.rates[-1], rtol=1e-6)

    def test_smoothed_losses_and_suggested_rate(self):
        self.assertIsNone(LearningRateFinder().suggested_rate)
        model = mlp()
        finder = LearningRateFinder(min_rate=1e-4, max_rate=100.0, smoothing=0.8)
        self.fit(model, finder)
        smoothed = reference_smoothed(finder.losses, 0.8)
        self.assertAllClose(finder.smoothed_losses, smoothed, rtol=1e-12)
        best = int(np.argmin(smoothed))
        self.assertGreater(best, 0)
        self.assertAllClose(finder.suggested_rate, finder.rates[best] / 10, rtol=1e-12)

    def test_no_smoothing(self):
        model = mlp()
        finder = LearningRateFinder(min_rate=1e-3, max_rate=1.0, num_steps=5, smoothing=0.0)
        self.fit(model, finder)
        self.assertAllClose(finder.smoothed_losses, finder.losses, rtol=1e-12)

    @rejects_bad_input(LearningRateFinder)
    def test_rejects_a_schedule(self):
        model = keras.Sequential([keras.Input((64,)), keras.layers.Dense(10)])
        model.compile(
            optimizer=keras.optimizers.SGD(OneCycle(100, 0.1)),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        )
        with self.assertRaisesRegex(ValueError, r"constant learning rate.*OneCycle schedule"):
            self.fit(model, LearningRateFinder())

    def test_needs_num_steps_without_known_length(self):
        def batches():
            for i in range(0, 320, BATCH_SIZE):
                yield self.x[i : i + BATCH_SIZE], self.y[i : i + BATCH_SIZE]

        dataset = tf.data.Dataset.from_generator(
            batches,
            output_signature=(
                tf.TensorSpec((None, 64), tf.float32),
                tf.TensorSpec((None,), tf.int32),
            ),
        )
        model = mlp()
        with self.assertRaisesRegex(ValueError, r"argument `num_steps`.*no known length"):
            model.fit(dataset, epochs=1, shuffle=False, callbacks=[LearningRateFinder()], verbose=0)
        finder = LearningRateFinder(min_rate=1e-3, max_rate=0.1, num_steps=6)
        model.fit(dataset, epochs=1, shuffle=False, callbacks=[finder], verbose=0)
        self.assertAllClose(
            finder.rates, [1e-3 * 100 ** (k / 5) for k in range(6)], rtol=1e-12, atol=0
        )

    def test_plot_writes_a_png(self):
        import matplotlib.pyplot as plt

        model = mlp()
        finder = LearningRateFinder(min_rate=1e-4, max_rate=1.0, num_steps=8)
        self.fit(model, finder)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "lr_finder.png")
            ax = finder.plot(path)
            self.assertTrue(os.path.isfile(path))
            self.assertGreater(os.path.getsize(path), 0)
            with open(path, "rb") as f:
                self.assertEqual(f.read(8), b"\x89PNG\r\n\x1a\n")
        self.assertEqual(ax.get_xscale(), "log")
        plt.close(ax.figure)

    @rejects_bad_input(LearningRateFinder)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `min_rate`.*> 0.*Received: min_rate=0"):
            LearningRateFinder(min_rate=0)
        with self.assertRaisesRegex(TypeError, r"argument `min_rate`.*Received: min_rate='1e-5'"):
            LearningRateFinder(min_rate="1e-5")
        with self.assertRaisesRegex(
            ValueError, r"argument `max_rate`.*> 0\.1.*Received: max_rate=0\.1"
        ):
            LearningRateFinder(min_rate=0.1, max_rate=0.1)
        with self.assertRaisesRegex(ValueError, r"argument `max_rate`.*Received: max_rate=0\.01"):
            LearningRateFinder(min_rate=0.1, max_rate=0.01)
        with self.assertRaisesRegex(
            ValueError, r"argument `num_steps`.*>= 2.*Received: num_steps=1"
        ):
            LearningRateFinder(num_steps=1)
        with self.assertRaisesRegex(TypeError, r"argument `num_steps`.*Received: num_steps=10\.0"):
            LearningRateFinder(num_steps=10.0)
        with self.assertRaisesRegex(ValueError, r"argument `stop_factor`.*> 1.*stop_factor=1"):
            LearningRateFinder(stop_factor=1)
        with self.assertRaisesRegex(
            ValueError, r"argument `smoothing`.*\[0\.0, 1\.0\).*smoothing=1"
        ):
            LearningRateFinder(smoothing=1)
        with self.assertRaisesRegex(ValueError, r"argument `smoothing`.*smoothing=-0\.1"):
            LearningRateFinder(smoothing=-0.1)

    def test_serialization(self):
        finder = LearningRateFinder(
            min_rate=1e-5,
            max_rate=10.0,
            num_steps=50,
            stop_factor=3.0,
            smoothing=0.8,
            restore=False,
        )
        clone = assert_config_round_trip(self, finder)
        self.assertEqual(
            clone.get_config(),
            dict(
                min_rate=1e-5,
                max_rate=10.0,
                num_steps=50,
                stop_factor=3.0,
                smoothing=0.8,
                restore=False,
            ),
        )
        assert_config_round_trip(self, LearningRateFinder())
