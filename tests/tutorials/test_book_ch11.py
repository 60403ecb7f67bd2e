""" "Hands-On ML" 2nd ed., ch. 11: training deep nets, replayed with tfx_ext.

The book trains on Fashion-MNIST (downloaded); here scikit-learn's 8x8 digits,
standardized with the training split's statistics (`tests.datasets.digits`),
with smaller nets and fewer epochs. Each number is checked against the book's
formula or an independent computation.
"""

import math

import keras
import numpy as np
import tensorflow as tf

from tests.datasets import digits
from tfx_ext.layers import MCAlphaDropout, MCDropout
from tfx_ext.schedules import OneCycle
from tfx_ext.selu import activation_statistics, check_self_normalizing, self_normalizing_mlp
from tfx_ext.uncertainty import enable_mc_dropout, mc_predict

SIGMAS = 5.0


def books_one_cycle(iterations, max_rate, start_rate=None, last_iterations=None, last_rate=None):
    """The rates the book's `OneCycleScheduler` callback sets, batch by batch (its own arithmetic)."""
    start_rate = start_rate or max_rate / 10
    last_iterations = last_iterations or iterations // 10 + 1
    half = (iterations - last_iterations) // 2
    last_rate = last_rate or start_rate / 1000

    def interpolate(i, iter1, iter2, rate1, rate2):
        return (rate2 - rate1) * (i - iter1) / (iter2 - iter1) + rate1

    rates = []
    for i in range(iterations):
        if i < half:
            rates.append(interpolate(i, 0, half, start_rate, max_rate))
        elif i < 2 * half:
            rates.append(interpolate(i, half, 2 * half, max_rate, start_rate))
        else:
            rates.append(interpolate(i, 2 * half, iterations, start_rate, last_rate))
    return np.array(rates)


def books_selu_net(depth, units=64, initializer="lecun_normal"):
    """The book's recipe: Dense(selu, lecun_normal) layers on standardized inputs."""
    return keras.Sequential(
        [keras.Input((64,))]
        + [
            keras.layers.Dense(units, activation="selu", kernel_initializer=initializer)
            for _ in range(depth)
        ]
        + [keras.layers.Dense(10, activation="softmax")]
    )


def reasons(report):
    return " | ".join(str(v) for v in report.violations)


class SeluTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(42)
        self.x_train, self.y_train, self.x_test, self.y_test = digits()

    def test_activations_keep_mean_0_std_1_through_depth(self):
        stats = activation_statistics(books_selu_net(40), self.x_train)[:-1]
        self.assertLen(stats, 40)
        # The digits have constant pixels (std 0 after standardizing): the first
        # layers pull the statistics to the fixed point, then they stay there.
        for s in stats[3:]:
            self.assertLess(abs(s.mean), 0.25, msg=s.name)
            self.assertBetween(s.std, 0.75, 1.25, msg=s.name)
        # Without LeCun init the same stack drifts away (the check can fail).
        he = activation_statistics(books_selu_net(40, initializer="he_normal"), self.x_train)[:-1]
        self.assertGreater(max(s.std for s in he), 2.0)

    def test_checker_rejects_what_the_book_forbids_and_accepts_alpha_dropout(self):
        ok = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(64, activation="selu", kernel_initializer="lecun_normal"),
                keras.layers.AlphaDropout(0.1),
                keras.layers.Dense(
                    64,
                    activation="selu",
                    kernel_initializer="lecun_normal",
                    kernel_constraint=keras.constraints.max_norm(1.0),
                ),
                MCAlphaDropout(0.1),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        report = check_self_normalizing(ok, sample=self.x_train)
        self.assertTrue(report.ok, msg=str(report))

        def dense(**kwargs):
            return keras.layers.Dense(
                64, activation="selu", kernel_initializer="lecun_normal", **kwargs
            )

        forbidden = {
            "batch_norm": [dense(), keras.layers.BatchNormalization(name="batch_norm")],
            "dropout": [dense(), keras.layers.Dropout(0.2, name="dropout")],
            "l2": [dense(kernel_regularizer=keras.regularizers.l2(0.01), name="l2")],
        }
        for name, layers in forbidden.items():
            with self.subTest(breaks=name):
                model = keras.Sequential([keras.Input((64,)), *layers, keras.layers.Dense(10)])
                report = check_self_normalizing(model)
                self.assertFalse(report.ok)
                self.assertIn(name, [v.layer for v in report.violations], msg=reasons(report))
        # A skip connection (ResNet-style Add).
        inputs = keras.Input((64,))
        hidden = dense()(inputs)
        merged = keras.layers.Add(name="skip")([inputs, dense()(hidden)])
        report = check_self_normalizing(keras.Model(inputs, keras.layers.Dense(10)(merged)))
        self.assertIn("skip", [v.layer for v in report.violations], msg=reasons(report))
        # Unstandardized inputs.
        report = check_self_normalizing(ok, sample=self.x_train * 5 + 3)
        self.assertIn("inputs", [v.layer for v in report.violations])

    def test_builder_trains_and_the_checker_accepts_it(self):
        model = self_normalizing_mlp(
            (64,), [64] * 4, 10, "softmax", dropout_rate=0.1, adapt_data=self.x_train
        )
        self.assertTrue(check_self_normalizing(model, sample=self.x_train).ok)
        model.compile(
            loss="sparse_categorical_crossentropy", optimizer="nadam", metrics=["accuracy"]
        )
        model.fit(self.x_train, self.y_train, epochs=5, batch_size=32, verbose=0)
        self.assertGreater(model.evaluate(self.x_test, self.y_test, verbose=0)[1], 0.9)


class MCDropoutTest(tf.test.TestCase):
    """The book's recipe `np.stack([model(X, training=True) for _ in range(100)])`, and ours."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        keras.utils.set_random_seed(42)
        x_train, y_train, x_test, y_test = digits()
        cls.model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(64, activation="elu", kernel_initializer="he_normal"),
                keras.layers.Dropout(0.2),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        cls.model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam")
        cls.model.fit(x_train, y_train, epochs=4, batch_size=32, verbose=0)
        cls.x, cls.y = x_test[:100], y_test[:100]

    def setUp(self):
        keras.utils.set_random_seed(42)

    def test_mc_predict_agrees_with_the_books_loop(self):
        samples = 100
        y_probas = np.stack(
            [keras.ops.convert_to_numpy(self.model(self.x, training=True)) for _ in range(samples)]
        )
        mc_model = enable_mc_dropout(self.model)
        self.assertEqual(
            [type(l) for l in mc_model.layers if "dropout" in l.name], [MCDropout, MCDropout]
        )
        prediction = mc_predict(mc_model, self.x, samples=samples, seed=0)
        book_mean, book_std = y_probas.mean(axis=0), y_probas.std(axis=0)
        # Two independent estimates of one mean: their difference has sd sqrt(2) sigma / sqrt(n).
        sigma = np.sqrt((prediction.std.astype("float64") ** 2 + book_std**2) / 2)
        tolerance = SIGMAS * np.sqrt(2) * sigma / np.sqrt(samples) + 1e-6
        self.assertAllLessEqual(np.abs(prediction.mean - book_mean) - tolerance, 0.0)
        # Same spread overall (std averaged over 1,000 entries).
        self.assertAllClose(prediction.std.mean(), book_std.mean(), rtol=0.1)
        self.assertAllClose(prediction.predicted_class, np.argmax(prediction.mean, axis=1))
        self.assertGreater((prediction.predicted_class == self.y).mean(), 0.9)

    def test_dropout_stays_on_at_inference(self):
        mc_model = enable_mc_dropout(self.model)
        first, second = (mc_model.predict(self.x, verbose=0) for _ in range(2))
        self.assertGreater(np.abs(first - second).max(), 1e-3)
        # The original is deterministic at inference, and untouched.
        self.assertAllEqual(
            self.model.predict(self.x, verbose=0), self.model.predict(self.x, verbose=0)
        )
        self.assertEqual(
            [type(l) for l in self.model.layers if "dropout" in l.name], [keras.layers.Dropout] * 2
        )
        # Averaging the book's way (repeated predict) converges to mc_predict's mean.
        loop = np.mean([keras.ops.convert_to_numpy(mc_model(self.x)) for _ in range(20)], axis=0)
        vectorized = mc_predict(mc_model, self.x, samples=20, seed=1)
        self.assertLess(np.abs(loop - vectorized.mean).mean(), 0.02)

    def test_seeded_mc_predict_repeats(self):
        mc_model = enable_mc_dropout(self.model)
        a = mc_predict(mc_model, self.x, samples=10, seed=3)
        b = mc_predict(mc_model, self.x, samples=10, seed=3)
        c = mc_predict(mc_model, self.x, samples=10, seed=4)
        self.assertAllEqual(a.mean, b.mean)
        self.assertGreater(np.abs(a.mean - c.mean).max(), 1e-4)

    def test_books_mc_alpha_dropout_model(self):
        # The book: MCAlphaDropout(layer.rate) in place of each AlphaDropout, same weights.
        x_train, y_train, _, _ = digits()
        model = self_normalizing_mlp(
            (64,), [64, 64], 10, "softmax", dropout_rate=0.2, adapt_data=x_train
        )
        model.compile(loss="sparse_categorical_crossentropy", optimizer="nadam")
        model.fit(x_train, y_train, epochs=3, batch_size=32, verbose=0)
        mc_model = enable_mc_dropout(model)
        self.assertEqual(sum(isinstance(l, MCAlphaDropout) for l in mc_model.layers), 2)
        for original, copy in zip(model.weights, mc_model.weights):
            self.assertAllEqual(np.asarray(original), np.asarray(copy))
        prediction = mc_predict(mc_model, self.x, samples=50, seed=0)
        self.assertGreater(prediction.std.max(), 0.01)
        self.assertGreater((prediction.predicted_class == self.y).mean(), 0.85)


class LearningRateScheduleTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(42)
        self.x_train, self.y_train, _, _ = digits()

    def small_model(self, optimizer, **dense_kwargs):
        model = keras.Sequential(
            [
                keras.Input((64,)),
                keras.layers.Dense(
                    32, activation="selu", kernel_initializer="lecun_normal", **dense_kwargs
                ),
                keras.layers.Dense(10, activation="softmax"),
            ]
        )
        model.compile(loss="sparse_categorical_crossentropy", optimizer=optimizer)
        return model

    def test_one_cycle_matches_the_books_callback_every_batch(self):
        batch_size, n_epochs = 128, 3
        iterations = math.ceil(len(self.x_train) / batch_size) * n_epochs
        expected = books_one_cycle(iterations, max_rate=0.05)
        schedule = OneCycle(iterations, max_rate=0.05)
        self.assertAllClose(
            [float(schedule(i)) for i in range(iterations)], expected, rtol=1e-5, atol=1e-9
        )

        # In fit: the rate the optimizer applies at each batch (read before the update).
        seen = []
        recorder = keras.callbacks.LambdaCallback(
            on_train_batch_begin=lambda batch, logs: seen.append(
                float(model.optimizer.learning_rate)
            )
        )
        model = self.small_model(keras.optimizers.SGD(OneCycle(iterations, max_rate=0.05)))
        model.fit(
            self.x_train,
            self.y_train,
            epochs=n_epochs,
            batch_size=batch_size,
            callbacks=[recorder],
            verbose=0,
        )
        self.assertAllClose(seen, expected, rtol=1e-5, atol=1e-9)

    def test_exponential_and_piecewise_schedules(self):
        # Book: 0.01 * 0.1 ** (epoch / 20), by epoch and by step.
        epochs = 4
        scheduler = keras.callbacks.LearningRateScheduler(lambda epoch: 0.01 * 0.1 ** (epoch / 20))
        model = self.small_model(keras.optimizers.Nadam())
        history = model.fit(
            self.x_train, self.y_train, epochs=epochs, callbacks=[scheduler], verbose=0
        )
        # Keras 3 logs it as "learning_rate" (the book's Keras 2 printed "lr").
        expected = [0.01 * 0.1 ** (e / 20) for e in range(epochs)]
        self.assertAllClose(history.history["learning_rate"], expected, rtol=1e-6)

        steps_per_epoch = len(self.x_train) // 32
        s = 20 * steps_per_epoch
        exponential = keras.optimizers.schedules.ExponentialDecay(0.01, s, 0.1)
        piecewise = keras.optimizers.schedules.PiecewiseConstantDecay(
            boundaries=[5.0 * steps_per_epoch, 15.0 * steps_per_epoch], values=[0.01, 0.005, 0.001]
        )
        # Power scheduling: the book's SGD(learning_rate=0.01, decay=1e-4) meant
        # 0.01 / (1 + 1e-4 * step). Keras 3 only warns and ignores `decay`
        # (the rate would stay 0.01): InverseTimeDecay is the replacement.
        with self.assertWarnsRegex(UserWarning, "`decay` is no longer supported"):
            keras.optimizers.SGD(learning_rate=0.01, decay=1e-4)
        power = keras.optimizers.schedules.InverseTimeDecay(0.01, decay_steps=1, decay_rate=1e-4)
        landmarks = (0, 1, steps_per_epoch, 5 * steps_per_epoch - 1, 5 * steps_per_epoch + 1)
        for step in landmarks + (15 * steps_per_epoch + 1, 30 * steps_per_epoch):
            self.assertAllClose(float(exponential(step)), 0.01 * 0.1 ** (step / s), rtol=1e-5)
            expected = (
                0.01
                if step <= 5 * steps_per_epoch
                else 0.005
                if step <= 15 * steps_per_epoch
                else 0.001
            )
            self.assertAllClose(float(piecewise(step)), expected, rtol=1e-6)
            self.assertAllClose(float(power(step)), 0.01 / (1 + 1e-4 * step), rtol=1e-5)

    def test_max_norm_keeps_every_neurons_weights_inside_the_ball(self):
        model = self.small_model(
            keras.optimizers.SGD(1.0), kernel_constraint=keras.constraints.max_norm(1.0)
        )
        model.fit(self.x_train, self.y_train, epochs=2, batch_size=32, verbose=0)
        norms = np.linalg.norm(
            np.asarray(model.layers[0].kernel), axis=0
        )  # incoming weights of each unit
        self.assertAllLessEqual(norms, 1.0 + 1e-5)
        self.assertGreater(norms.max(), 0.99)  # the constraint was active, not vacuous
