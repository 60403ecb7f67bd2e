import os
import tempfile

import keras
import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.roundtrip import assert_config_round_trip
from tfx_ext.seq2seq import SequenceLoss, sequence_loss


def reference_crossent(logits, targets):
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    return -np.take_along_axis(log_probs, targets[..., None], -1)[..., 0]


class SequenceLossTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        self.logits = rng.normal(size=(4, 6, 7)).astype("float32")
        self.targets = rng.integers(0, 7, size=(4, 6)).astype("int32")
        self.weights = (rng.uniform(size=(4, 6)) > 0.3).astype("float32")
        self.ce = reference_crossent(self.logits.astype("float64"), self.targets) * self.weights

    def test_reductions_match_numpy(self):
        w = self.weights
        self.assertAllClose(
            sequence_loss(self.logits, self.targets, w), self.ce.sum() / w.sum(), atol=1e-5
        )
        self.assertAllClose(
            sequence_loss(self.logits, self.targets, w, average_across_batch=False),
            self.ce.sum(1) / w.sum(1),
            atol=1e-5,
        )
        self.assertAllClose(
            SequenceLoss()(self.targets, self.logits, w),
            self.ce.sum() / np.count_nonzero(w),
            atol=1e-5,
        )
        # One-hot targets give the same loss as ids.
        one_hot = np.eye(7, dtype="float32")[self.targets]
        self.assertAllClose(
            sequence_loss(self.logits, one_hot, w), sequence_loss(self.logits, self.targets, w)
        )

    def test_config_and_keras_round_trip(self):
        loss = SequenceLoss(
            average_across_timesteps=True,
            average_across_batch=True,
            sum_over_timesteps=False,
            sum_over_batch=False,
        )
        clone = assert_config_round_trip(self, loss)
        self.assertAllClose(
            clone(self.targets, self.logits, self.weights),
            loss(self.targets, self.logits, self.weights),
        )
        model = keras.Sequential([keras.Input((6, 7)), keras.layers.Dense(7)])
        model.compile("sgd", loss=SequenceLoss())
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "m.keras")
            model.save(path)
            loaded = keras.models.load_model(path)
        self.assertIsInstance(loaded.loss, SequenceLoss)

    @rejects_bad_input(SequenceLoss, sequence_loss)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`logits`"):
            sequence_loss(self.logits[0], self.targets, self.weights)
        with self.assertRaisesRegex(ValueError, "`targets`"):
            sequence_loss(self.logits, self.targets[0], self.weights)
        with self.assertRaisesRegex(ValueError, "`weights`"):
            sequence_loss(self.logits, self.targets, self.weights[0])
        with self.assertRaisesRegex(ValueError, "cannot be set to True at same time"):
            SequenceLoss(average_across_batch=True, sum_over_batch=True)
