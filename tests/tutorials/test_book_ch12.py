"""Replay of "Hands-On Machine Learning" (2nd ed.), ch. 12, with tfx_ext's components.

The book writes `HuberLoss(threshold)` and `HuberMetric(threshold)` itself;
tfx_ext ships both, so a model using them reloads with no `custom_objects`
(the book passes `custom_objects={"HuberLoss": HuberLoss}`). California
housing (`fetch_california_housing` downloads) is replaced by scikit-learn's
diabetes data. The custom training loop is the book's, with tfx_ext's loss
and metric where the book uses its own.
"""

import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.datasets import diabetes
from tfx_ext.losses import HuberLoss
from tfx_ext.metrics import HuberMetric


def huber(y_true, y_pred, threshold):
    """The book's formula, in NumPy: per example, mean over the last axis."""
    error = np.asarray(y_true, "float64") - np.asarray(y_pred, "float64")
    small = np.abs(error) < threshold
    return np.where(small, error**2 / 2, threshold * np.abs(error) - threshold**2 / 2).mean(axis=-1)


def split():
    x, y = diabetes()
    y = y[:, None]
    return x[:300], y[:300], x[300:], y[300:]


def build_model(input_shape):
    return keras.models.Sequential(
        [
            keras.Input(input_shape),
            keras.layers.Dense(30, activation="selu", kernel_initializer="lecun_normal"),
            keras.layers.Dense(1),
        ]
    )


class BookChapter12Test(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(42)

    def test_custom_loss_and_metric_save_and_reload_without_custom_objects(self):
        x_train, y_train, x_test, y_test = split()
        model = build_model(x_train.shape[1:])
        model.compile(loss=HuberLoss(2.0), optimizer="nadam", metrics=[HuberMetric(2.0)])
        model.fit(x_train, y_train, epochs=2, verbose=0)
        before = model.evaluate(x_test, y_test, verbose=0, return_dict=True)
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "my_model_with_a_custom_loss_class.keras")
            model.save(path)
            loaded = keras.models.load_model(path)  # the book needs custom_objects here
        self.assertIsInstance(loaded.loss, HuberLoss)
        self.assertEqual(loaded.loss.threshold, 2.0)
        after = loaded.evaluate(x_test, y_test, verbose=0, return_dict=True)
        expected = huber(y_test, model.predict(x_test, verbose=0), 2.0).mean()
        for results in (before, after):
            self.assertAllClose(results["loss"], expected, rtol=1e-5)
            self.assertAllClose(results["huber_metric"], expected, rtol=1e-5)
        loaded.fit(x_train, y_train, epochs=2, verbose=0)  # "continue training", as the book does

    def test_streaming_metric_as_the_book_calls_it(self):
        # The book's streaming-metric walk-through: call, call again, result, variables, reset.
        rng = np.random.default_rng(0)
        y1, p1 = rng.standard_normal((5, 1)), 3 * rng.standard_normal((5, 1))
        y2, p2 = rng.standard_normal((7, 1)), 3 * rng.standard_normal((7, 1))
        metric = HuberMetric(2.0)
        self.assertAllClose(metric(y1, p1), huber(y1, p1, 2.0).mean(), rtol=1e-5)
        self.assertAllClose(
            metric(y2, p2), huber(np.vstack([y1, y2]), np.vstack([p1, p2]), 2.0).mean(), rtol=1e-5
        )
        both = huber(np.vstack([y1, y2]), np.vstack([p1, p2]), 2.0).mean()
        self.assertAllClose(metric.result(), both, rtol=1e-5)
        self.assertLen(metric.variables, 2)  # the total and the count, as the book's HuberMetric
        metric.reset_state()
        self.assertAllClose(metric.result(), 0.0)

    def test_custom_training_loop(self):
        x_train, y_train, x_test, y_test = split()
        l2_reg = keras.regularizers.l2(0.05)
        model = keras.models.Sequential(
            [
                keras.Input(x_train.shape[1:]),
                keras.layers.Dense(
                    30, activation="elu", kernel_initializer="he_normal", kernel_regularizer=l2_reg
                ),
                keras.layers.Dense(1, kernel_regularizer=l2_reg),
            ]
        )

        def random_batch(x, y, batch_size=32):
            idx = np.random.randint(len(x), size=batch_size)
            return x[idx], y[idx]

        n_epochs = 3
        batch_size = 32
        n_steps = len(x_train) // batch_size
        optimizer = keras.optimizers.Nadam(learning_rate=0.01)
        loss_fn = HuberLoss(1.5)  # the book: keras.losses.mean_squared_error
        mean_loss = keras.metrics.Mean()
        metrics = [HuberMetric(1.5)]  # the book: [keras.metrics.MeanAbsoluteError()]
        epoch_losses, seen = [], []
        for epoch in range(1, n_epochs + 1):
            seen.clear()
            for step in range(1, n_steps + 1):
                x_batch, y_batch = random_batch(x_train, y_train)
                with tf.GradientTape() as tape:
                    y_pred = model(x_batch, training=True)
                    main_loss = tf.reduce_mean(loss_fn(y_batch, y_pred))
                    loss = tf.add_n([main_loss] + model.losses)
                gradients = tape.gradient(loss, model.trainable_variables)
                optimizer.apply_gradients(zip(gradients, model.trainable_variables))
                mean_loss(loss)
                for metric in metrics:
                    metric(y_batch, y_pred)
                seen.append((y_batch, y_pred.numpy()))
                # The loss the loop minimized is the book's formula plus the l2 penalty.
                self.assertAllClose(main_loss, huber(y_batch, y_pred, 1.5).mean(), rtol=1e-5)
            # Over the epoch, the streaming metric is the mean over every example seen.
            y_seen = np.vstack([y for y, _ in seen])
            p_seen = np.vstack([p for _, p in seen])
            self.assertAllClose(metrics[0].result(), huber(y_seen, p_seen, 1.5).mean(), rtol=1e-5)
            epoch_losses.append(float(mean_loss.result()))
            for metric in [mean_loss] + metrics:
                metric.reset_state()
        self.assertLess(epoch_losses[-1], epoch_losses[0])
        test_loss = huber(y_test, model.predict(x_test, verbose=0), 1.5).mean()
        self.assertLess(test_loss, huber(y_test, np.zeros_like(y_test), 1.5).mean())
