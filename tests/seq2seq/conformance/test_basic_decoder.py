"""TFA's seq2seq/tests/basic_decoder_test.py, ported (same inputs and checks).

Not ported: the ScheduledEmbeddingTrainingSampler, ScheduledOutputTrainingSampler
and InferenceSampler cases (samplers not provided; see README).
"""

import itertools

import keras
import numpy as np
import tensorflow as tf

from tfx_ext import seq2seq
from tfx_ext.seq2seq import basic_decoder
from tfx_ext.seq2seq.training_sampler import _check_sequence_is_right_padded
from tests.seq2seq.tensorflow_only import tensorflow_only


@tensorflow_only
class BasicDecoderTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)

    def test_step_with_training_helper_output_layer(self):
        for cell_class, use_output_layer in itertools.product(
            [keras.layers.LSTMCell, keras.layers.GRUCell], [True, False]
        ):
            with self.subTest(cell=cell_class.__name__, output_layer=use_output_layer):
                sequence_length = [3, 4, 3, 1, 0]
                batch_size, max_time, input_depth, cell_depth, output_layer_depth = 5, 8, 7, 10, 3
                inputs = np.random.randn(batch_size, max_time, input_depth).astype(np.float32)
                cell = cell_class(cell_depth)
                sampler = seq2seq.TrainingSampler(time_major=False)
                if use_output_layer:
                    output_layer = keras.layers.Dense(output_layer_depth, use_bias=False)
                    expected_output_depth = output_layer_depth
                else:
                    output_layer = None
                    expected_output_depth = cell_depth
                initial_state = cell.get_initial_state(batch_size=batch_size)
                my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler, output_layer=output_layer)
                first_finished, first_inputs, first_state = my_decoder.initialize(
                    tf.constant(inputs), initial_state=initial_state, sequence_length=sequence_length
                )
                self.assertEqual(
                    basic_decoder.BasicDecoderOutput(expected_output_depth, tf.TensorShape([])),
                    my_decoder.output_size,
                )
                self.assertEqual(basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype)
                step_outputs, step_state, _, step_finished = my_decoder.step(tf.constant(0), first_inputs, first_state)
                self.assertLen(first_state, len(step_state))
                for first, step in zip(first_state, step_state):
                    self.assertEqual((batch_size, cell_depth), tuple(first.shape))
                    self.assertEqual((batch_size, cell_depth), tuple(step.shape))
                self.assertIs(type(step_outputs), basic_decoder.BasicDecoderOutput)
                self.assertEqual((batch_size, expected_output_depth), tuple(step_outputs[0].shape))
                self.assertEqual((batch_size,), tuple(step_outputs[1].shape))
                if use_output_layer:
                    self.assertLen(output_layer.variables, 1)
                np.testing.assert_equal([False, False, False, False, True], np.asarray(first_finished))
                np.testing.assert_equal([False, False, False, True, True], np.asarray(step_finished))
                self.assertEqual(tf.int32, step_outputs.sample_id.dtype)
                np.testing.assert_equal(np.argmax(step_outputs.rnn_output, -1), np.asarray(step_outputs.sample_id))

    def test_step_with_training_helper_masked_input(self):
        for use_mask in (True, False, None):
            with self.subTest(use_mask=use_mask):
                batch_size, max_time = 5, 8
                sequence_length = [max_time] * batch_size if use_mask is None else [3, 4, 3, 1, 0]
                sequence_length = np.array(sequence_length, dtype=np.int32)
                mask = [[True] * sl + [False] * (max_time - sl) for sl in sequence_length]
                input_depth, cell_depth, output_layer_depth = 7, 10, 3
                inputs = tf.constant(np.random.randn(batch_size, max_time, input_depth).astype(np.float32))
                cell = keras.layers.LSTMCell(cell_depth)
                output_layer = keras.layers.Dense(output_layer_depth, use_bias=False)
                initial_state = cell.get_initial_state(batch_size=batch_size)
                my_decoder = seq2seq.BasicDecoder(
                    cell=cell, sampler=seq2seq.TrainingSampler(time_major=False), output_layer=output_layer
                )
                if use_mask is None:
                    first = my_decoder.initialize(inputs, initial_state=initial_state)
                elif use_mask:
                    first = my_decoder.initialize(inputs, initial_state=initial_state, mask=mask)
                else:
                    first = my_decoder.initialize(inputs, initial_state=initial_state, sequence_length=sequence_length)
                first_finished, first_inputs, first_state = first
                step_outputs, step_state, _, step_finished = my_decoder.step(tf.constant(0), first_inputs, first_state)
                self.assertLen(first_state, 2)
                self.assertLen(step_state, 2)
                self.assertEqual((batch_size, output_layer_depth), tuple(step_outputs[0].shape))
                self.assertLen(output_layer.variables, 1)
                np.testing.assert_equal(sequence_length == 0, np.asarray(first_finished))
                np.testing.assert_equal(np.maximum(sequence_length - 1, 0) == 0, np.asarray(step_finished))
                np.testing.assert_equal(np.argmax(step_outputs.rnn_output, -1), np.asarray(step_outputs.sample_id))

    def _embedding_step(self, sampler):
        batch_size, vocabulary_size, input_depth = 5, 7, 10
        np.random.seed(0)
        start_tokens = np.random.randint(0, vocabulary_size, size=batch_size)
        end_token = 1
        embeddings = np.random.randn(vocabulary_size, input_depth).astype(np.float32)
        cell = keras.layers.LSTMCell(vocabulary_size)
        initial_state = cell.get_initial_state(batch_size=batch_size)
        my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler)
        first_finished, first_inputs, first_state = my_decoder.initialize(
            tf.constant(embeddings), start_tokens=start_tokens, end_token=end_token, initial_state=initial_state
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(vocabulary_size, tf.TensorShape([])), my_decoder.output_size
        )
        self.assertEqual(basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype)
        step_outputs, step_state, step_next_inputs, step_finished = my_decoder.step(
            tf.constant(0), first_inputs, first_state
        )
        self.assertIsInstance(step_outputs, basic_decoder.BasicDecoderOutput)
        self.assertEqual((batch_size, vocabulary_size), tuple(step_outputs[0].shape))
        self.assertEqual((batch_size,), tuple(step_outputs[1].shape))
        for first, step in zip(first_state, step_state):
            self.assertEqual((batch_size, vocabulary_size), tuple(first.shape))
            self.assertEqual((batch_size, vocabulary_size), tuple(step.shape))
        np.testing.assert_equal(np.zeros(batch_size, bool), np.asarray(first_finished))
        return step_outputs, step_next_inputs, step_finished, embeddings, end_token

    def test_step_with_greedy_embedding_helper(self):
        outputs, next_inputs, finished, embeddings, end_token = self._embedding_step(
            seq2seq.GreedyEmbeddingSampler()
        )
        expected_sample_ids = np.argmax(outputs.rnn_output, -1)
        np.testing.assert_equal(expected_sample_ids == end_token, np.asarray(finished))
        self.assertEqual(tf.int32, outputs.sample_id.dtype)
        np.testing.assert_equal(expected_sample_ids, np.asarray(outputs.sample_id))
        np.testing.assert_equal(embeddings[expected_sample_ids], np.asarray(next_inputs))

    def test_step_with_sample_embedding_helper(self):
        outputs, next_inputs, finished, embeddings, end_token = self._embedding_step(
            seq2seq.SampleEmbeddingSampler(seed=0)
        )
        sample_ids = np.asarray(outputs.sample_id)
        self.assertEqual(np.int32, sample_ids.dtype)
        np.testing.assert_equal(sample_ids == end_token, np.asarray(finished))
        np.testing.assert_equal(embeddings[sample_ids, :], np.asarray(next_inputs))

    def test_basic_decoder_with_attention_wrapper(self):
        units, vocab_size = 32, 1000
        attention_mechanism = seq2seq.LuongAttention(units)
        cell = seq2seq.AttentionWrapper(keras.layers.LSTMCell(units), attention_mechanism)
        output_layer = keras.layers.Dense(vocab_size)
        # BasicDecoder accepts an AttentionWrapper whose memory is not set up yet.
        seq2seq.BasicDecoder(cell, seq2seq.TrainingSampler(), output_layer=output_layer)

    def test_right_padded_sequence_assertion(self):
        right_padded_sequence = [[True, True, False, False], [True, True, True, False]]
        left_padded_sequence = [[False, False, True, True], [False, True, True, True]]
        _check_sequence_is_right_padded(right_padded_sequence, False)
        with self.assertRaises(tf.errors.InvalidArgumentError):
            _check_sequence_is_right_padded(left_padded_sequence, False)
