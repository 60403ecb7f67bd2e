"""TFA's seq2seq/tests/loss_test.py, ported (same inputs, expected values and tolerances)."""

import itertools

import keras
import numpy as np
import tensorflow as tf

from tfx_ext.seq2seq import SequenceLoss, sequence_loss


def get_test_data():
    batch_size, sequence_length, number_of_classes = 2, 3, 5
    logits = np.stack(
        [
            np.full([batch_size, number_of_classes], i + 0.5, np.float32)
            for i in range(sequence_length)
        ],
        axis=1,
    )
    targets = np.stack([np.full([batch_size], i, np.int32) for i in range(sequence_length)], axis=1)
    weights = np.ones([batch_size, sequence_length], np.float32)
    # sparse softmax cross-entropy of targets [0, 1, 2] for logits
    # [[0.5] * 5, [1.5] * 5, [2.5] * 5]
    expected_loss = 1.60944
    return batch_size, sequence_length, number_of_classes, logits, targets, weights, expected_loss


class SequenceLossTest(tf.test.TestCase):
    def test_sequence_loss(self):
        for average_across_timesteps, average_across_batch, zero_weights in itertools.product(
            [True, False], repeat=3
        ):
            batch_size, sequence_length, _, logits, targets, weights, expected_loss = (
                get_test_data()
            )
            if zero_weights:
                weights = np.zeros_like(weights)
            computed = np.asarray(
                sequence_loss(
                    logits,
                    targets,
                    weights,
                    average_across_timesteps=average_across_timesteps,
                    average_across_batch=average_across_batch,
                )
            )
            value = 0.0 if zero_weights else expected_loss
            if average_across_timesteps and average_across_batch:
                expected = value
            elif average_across_batch:
                expected = np.full(sequence_length, value)
            elif average_across_timesteps:
                expected = np.full(batch_size, value)
            else:
                expected = np.full((batch_size, sequence_length), value)
            np.testing.assert_allclose(computed, expected, rtol=1e-6, atol=1e-6)

    def test_sequence_loss_class(self):
        for average_across_timesteps, average_across_batch in itertools.product(
            [True, False], repeat=2
        ):
            batch_size, sequence_length, _, logits, targets, weights, expected_loss = (
                get_test_data()
            )
            seq_loss = SequenceLoss(
                average_across_timesteps=average_across_timesteps,
                average_across_batch=average_across_batch,
                sum_over_timesteps=False,
                sum_over_batch=False,
            )
            res = np.asarray(seq_loss(targets, logits, weights))
            if average_across_timesteps and average_across_batch:
                expected = expected_loss
            elif average_across_batch:
                expected = np.full(sequence_length, expected_loss)
            elif average_across_timesteps:
                expected = np.full(batch_size, expected_loss)
            else:
                expected = np.full((batch_size, sequence_length), expected_loss)
            np.testing.assert_allclose(res, expected, atol=1e-6, rtol=1e-6)

    def _sum_cases(self, weights, last_zero):
        batch_size, sequence_length, _, logits, targets, _, expected_loss = get_test_data()

        def loss(sum_over_timesteps, sum_over_batch):
            return np.asarray(
                SequenceLoss(
                    average_across_timesteps=False,
                    average_across_batch=False,
                    sum_over_timesteps=sum_over_timesteps,
                    sum_over_batch=sum_over_batch,
                )(targets, logits, weights)
            )

        np.testing.assert_allclose(expected_loss, loss(True, True), atol=1e-6, rtol=1e-6)
        per_sequence = np.full(sequence_length, expected_loss)
        if last_zero:
            per_sequence[-1] = 0.0
        np.testing.assert_allclose(per_sequence, loss(False, True), atol=1e-6, rtol=1e-6)
        np.testing.assert_allclose(
            np.full(batch_size, expected_loss), loss(True, False), atol=1e-6, rtol=1e-6
        )
        total = np.full((batch_size, sequence_length), expected_loss)
        if last_zero:
            total[:, -1] = 0
        np.testing.assert_allclose(total, loss(False, False), atol=1e-6, rtol=1e-6)

    def test_sum_reduction(self):
        self._sum_cases(get_test_data()[5], last_zero=False)

    def test_weighted_sum_reduction(self):
        weights = get_test_data()[5].copy()
        weights[:, -1] = 0.0
        self._sum_cases(weights, last_zero=True)

    def test_ambiguous_order(self):
        with self.assertRaisesRegex(ValueError, "because of ambiguous order"):
            _, _, _, logits, targets, weights, _ = get_test_data()
            seq_loss = SequenceLoss(
                average_across_timesteps=False,
                average_across_batch=True,
                sum_over_timesteps=True,
                sum_over_batch=False,
            )
            seq_loss(targets, logits, weights)

    def test_keras_compatibility(self):
        batch_size, sequence_length, number_of_classes, logits, targets, weights, expected_loss = (
            get_test_data()
        )
        targets = np.eye(number_of_classes, dtype=np.float32)[targets]
        row = logits[0]

        inp = keras.Input(shape=(sequence_length,))
        out = keras.layers.Lambda(
            lambda x: keras.ops.tile(
                keras.ops.convert_to_tensor(row)[None], [keras.ops.shape(x)[0], 1, 1]
            ),
            output_shape=(sequence_length, number_of_classes),
        )(inp)
        model = keras.Model(inp, out)
        model.compile(optimizer="adam", loss=SequenceLoss())
        x = np.ones((batch_size, sequence_length), np.float32)
        history = model.fit(
            x, targets, sample_weight=weights, batch_size=batch_size, epochs=1, verbose=0
        )
        np.testing.assert_allclose(history.history["loss"][0], expected_loss, rtol=1e-6, atol=1e-6)
