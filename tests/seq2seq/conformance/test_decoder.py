"""TFA's seq2seq/tests/decoder_test.py, ported (same inputs and checks).

Not ported: `test_dynamic_decode_tflite_conversion` (`enable_tflite_convertible`
is not supported); see README.
"""

import itertools

import keras
import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq


@tensorflow_only
class DynamicDecodeTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_dynamic_decode_rnn(self):
        for time_major, maximum_iterations in itertools.product(
            [True, False], [None, 1, tf.constant(1, dtype=tf.int32)]
        ):
            with self.subTest(time_major=time_major, maximum_iterations=maximum_iterations):
                sequence_length = [3, 4, 3, 1, 0]
                batch_size, max_time, input_depth, cell_depth = 5, 8, 7, 10
                max_out = max(sequence_length)
                cell = keras.layers.LSTMCell(cell_depth)
                my_decoder = seq2seq.BasicDecoder(
                    cell=cell,
                    sampler=seq2seq.TrainingSampler(time_major=time_major),
                    output_time_major=time_major,
                    maximum_iterations=maximum_iterations,
                )

                @tf.function(
                    input_signature=(
                        tf.TensorSpec([None, None, input_depth], dtype=tf.float32),
                        tf.TensorSpec([None], dtype=tf.int32),
                    )
                )
                def decode(inputs, sequence_length):
                    initial_state = cell.get_initial_state(batch_size=tf.shape(sequence_length)[0])
                    return my_decoder(
                        inputs, initial_state=initial_state, sequence_length=sequence_length
                    )

                inputs = tf.random.normal([batch_size, max_time, input_depth])
                if time_major:
                    inputs = tf.transpose(inputs, perm=[1, 0, 2])
                final_outputs, _, final_sequence_length = decode(inputs, sequence_length)

                def t(shape):
                    return (shape[1], shape[0]) + shape[2:] if time_major else shape

                self.assertEqual((batch_size,), tuple(final_sequence_length.shape))
                time_steps, expected_length = max_out, sequence_length
                if maximum_iterations is not None:
                    time_steps = min(max_out, int(maximum_iterations))
                    expected_length = [min(x, int(maximum_iterations)) for x in expected_length]
                self.assertEqual(
                    t((batch_size, time_steps, cell_depth)), tuple(final_outputs.rnn_output.shape)
                )
                self.assertEqual(t((batch_size, time_steps)), tuple(final_outputs.sample_id.shape))
                np.testing.assert_array_equal(expected_length, final_sequence_length)

    def test_dynamic_decode_rnn_with_training_helper_matches_dynamic_rnn(self):
        for use_sequence_length in (True, False):
            with self.subTest(use_sequence_length=use_sequence_length):
                sequence_length = [3, 4, 3, 1, 0]
                batch_size, max_time, input_depth, cell_depth = 5, 8, 7, 10
                max_out = max(sequence_length)
                inputs = tf.constant(
                    np.random.randn(batch_size, max_time, input_depth).astype(np.float32)
                )
                cell = keras.layers.LSTMCell(cell_depth)
                zero_state = cell.get_initial_state(batch_size=batch_size)
                my_decoder = seq2seq.BasicDecoder(
                    cell=cell,
                    sampler=seq2seq.TrainingSampler(),
                    impute_finished=use_sequence_length,
                )
                final_decoder_outputs, final_decoder_state, _ = my_decoder(
                    inputs, initial_state=zero_state, sequence_length=sequence_length
                )
                rnn = keras.layers.RNN(cell, return_sequences=True, return_state=True)
                mask = (
                    tf.sequence_mask(sequence_length, maxlen=max_time)
                    if use_sequence_length
                    else None
                )
                outputs = rnn(inputs, mask=mask, initial_state=zero_state)
                final_rnn_outputs = outputs[0]
                final_rnn_state = outputs[1:]
                if use_sequence_length:
                    final_rnn_outputs *= tf.cast(tf.expand_dims(mask, -1), final_rnn_outputs.dtype)
                np.testing.assert_allclose(
                    final_decoder_outputs.rnn_output,
                    final_rnn_outputs[:, 0:max_out, :],
                    rtol=1e-6,
                    atol=1e-6,
                )
                if use_sequence_length:
                    np.testing.assert_allclose(
                        final_decoder_state, final_rnn_state, rtol=1e-6, atol=1e-6
                    )


@tensorflow_only
class ScheduledEmbeddingDecodeTest(tf.test.TestCase):
    def test_dynamic_decode_rnn_with_scheduled_embedding_training_sampler(self):
        for policy in ("float32", "mixed_float16"):
            with self.subTest(policy=policy):
                previous = keras.config.dtype_policy()
                keras.config.set_dtype_policy(policy)
                try:
                    sequence_length = [3, 4, 3, 1]
                    batch_size, input_depth, cell_depth, vocab_size = 4, 7, 10, 12
                    max_time = max(sequence_length)
                    embedding = keras.layers.Embedding(vocab_size, input_depth)
                    cell = keras.layers.LSTMCell(cell_depth)
                    sampler = seq2seq.ScheduledEmbeddingTrainingSampler(
                        sampling_probability=tf.constant(1.0), embedding_fn=embedding
                    )
                    my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler)
                    inputs = tf.random.uniform([batch_size, max_time, input_depth])
                    initial_state = cell.get_initial_state(batch_size=batch_size)
                    final_outputs, _, _ = my_decoder(
                        inputs, initial_state=initial_state, sequence_length=sequence_length
                    )
                    self.assertEqual(
                        final_outputs.rnn_output.dtype, keras.config.dtype_policy().compute_dtype
                    )
                finally:
                    keras.config.set_dtype_policy(previous)
