import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.datasets import digits
from tests.gradients import assert_gradients_match
from tests.roundtrip import assert_config_round_trip, assert_model_round_trip
from tfx_ext.losses import SampledSoftmaxLoss


def sample(labels, num_sampled, num_classes, seed=0):
    return tf.random.log_uniform_candidate_sampler(
        true_classes=tf.reshape(tf.constant(labels, tf.int64), (-1, 1)),
        num_true=1,
        num_sampled=num_sampled,
        unique=True,
        range_max=num_classes,
        seed=seed,
    )


def reference_sampled_softmax(h, labels, kernel, bias, sampled, true_count, sampled_count):
    """Cross-entropy of the true class among [true] + sampled, logits corrected by log Q."""
    logits = h @ kernel.T + bias
    true_logit = logits[np.arange(len(h)), labels] - np.log(true_count[:, 0])
    sampled_logits = logits[:, sampled] - np.log(sampled_count)[None, :]
    sampled_logits = np.where(sampled[None, :] == labels[:, None], -np.inf, sampled_logits)
    all_logits = np.concatenate([true_logit[:, None], sampled_logits], axis=1)
    top = all_logits.max(axis=1, keepdims=True)
    log_norm = top[:, 0] + np.log(np.exp(all_logits - top).sum(axis=1))
    return log_norm - true_logit


def trainer_and_predictor(num_sampled=3):
    x = keras.Input((64,), name="pixels")
    y = keras.Input((), dtype="int32", name="label")
    h = keras.layers.Dense(64, activation="relu")(x)
    output = SampledSoftmaxLoss(num_classes=10, num_sampled=num_sampled, seed=1, name="output")
    return keras.Model([x, y], output(h, labels=y)), keras.Model(x, output(h)), output


class SampledSoftmaxLossBackendTest(tf.test.TestCase):
    """Runs on every backend: elsewhere than TensorFlow the layer refuses to be built."""

    def test_other_backends_are_refused_with_a_clear_message(self):
        backend = keras.backend.backend()
        if backend == "tensorflow":
            self.assertEqual(SampledSoftmaxLoss(10, num_sampled=5).num_sampled, 5)
        else:
            with self.assertRaisesRegex(
                RuntimeError, rf"needs the TensorFlow backend.*Current backend: {backend}"
            ):
                SampledSoftmaxLoss(10, num_sampled=5)


@pytest.mark.tf_only("SampledSoftmaxLoss is built on tf.nn.sampled_softmax_loss")
class SampledSoftmaxLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_loss_matches_reference_for_given_samples(self):
        layer = SampledSoftmaxLoss(num_classes=50, num_sampled=8)
        h = self.rng.standard_normal((6, 4)).astype("float32")
        layer(h)
        labels = np.array([0, 3, 7, 3, 49, 1])
        sampled, true_count, sampled_count = sample(labels, 8, 50)
        loss = layer.sampled_loss(h, labels, (sampled, true_count, sampled_count))
        expected = reference_sampled_softmax(
            h.astype("float64"),
            labels,
            np.asarray(layer.kernel, "float64"),
            np.asarray(layer.bias, "float64"),
            sampled.numpy(),
            true_count.numpy(),
            sampled_count.numpy(),
        )
        self.assertAllClose(loss, expected, rtol=1e-4, atol=1e-5)

    def test_inference_is_full_softmax_and_adds_no_loss(self):
        layer = SampledSoftmaxLoss(num_classes=12, num_sampled=4, bias_initializer="random_normal")
        h = self.rng.standard_normal((5, 3)).astype("float32")
        probabilities = np.asarray(layer(h, labels=np.zeros(5), training=False))
        logits = h @ np.asarray(layer.kernel).T + np.asarray(layer.bias)
        expected = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
        self.assertAllClose(probabilities, expected, atol=1e-6)
        self.assertEmpty(layer.losses)
        layer(h, labels=np.zeros(5, "int32"), training=True)
        self.assertLen(layer.losses, 1)

    def test_trains_a_classifier_on_digits(self):
        x_train, y_train, x_test, y_test = digits()
        trainer, predictor, _ = trainer_and_predictor()
        trainer.compile(optimizer=keras.optimizers.Adam(1e-3))
        history = trainer.fit([x_train, y_train], epochs=8, batch_size=32, verbose=0)
        self.assertLess(history.history["loss"][-1], 0.5 * history.history["loss"][0])
        accuracy = (predictor.predict(x_test, verbose=0).argmax(axis=1) == y_test).mean()
        self.assertGreater(accuracy, 0.9)

    def test_gradients_for_fixed_samples(self):
        layer = SampledSoftmaxLoss(num_classes=6, num_sampled=3, dtype="float64")
        h = self.rng.standard_normal((4, 3))
        layer(h)
        labels = np.array([0, 2, 5, 1])
        sampled, true_count, sampled_count = sample(labels, 3, 6)
        values = (sampled, tf.cast(true_count, tf.float64), tf.cast(sampled_count, tf.float64))
        assert_gradients_match(self, lambda inputs: layer.sampled_loss(inputs, labels, values), h)

    @rejects_bad_input(SampledSoftmaxLoss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, r"argument `num_classes`.*Received: num_classes=1"):
            SampledSoftmaxLoss(num_classes=1, num_sampled=1)
        with self.assertRaisesRegex(
            ValueError, r"argument `num_sampled`.*smaller than num_classes=10.*num_sampled=10"
        ):
            SampledSoftmaxLoss(num_classes=10, num_sampled=10)
        with self.assertRaisesRegex(TypeError, r"argument `num_sampled`"):
            SampledSoftmaxLoss(num_classes=10, num_sampled="5")
        with self.assertRaisesRegex(ValueError, r"shape \(batch, dim\)"):
            SampledSoftmaxLoss(num_classes=10, num_sampled=2)(np.zeros((2, 3, 4), "float32"))

    def test_serialization(self):
        layer = SampledSoftmaxLoss(num_classes=10, num_sampled=3, seed=4, name="output")
        assert_config_round_trip(self, layer)
        x_train, y_train = digits()[0][:64], digits()[1][:64]
        trainer, predictor, _ = trainer_and_predictor()
        trainer.compile(optimizer="adam")
        trainer.fit([x_train, y_train], epochs=1, verbose=0)
        assert_model_round_trip(self, predictor, x_train[:8])
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "trainer.keras")
            trainer.save(path)
            loaded = keras.models.load_model(path)
        self.assertAllClose(
            loaded.predict([x_train, y_train], verbose=0),
            trainer.predict([x_train, y_train], verbose=0),
            atol=1e-6,
        )
        loaded.fit([x_train, y_train], epochs=1, verbose=0)  # the loss comes back with the layer
