"""TFA's seq2seq/tests/basic_decoder_test.py, ported (same inputs and checks)."""

import itertools

import keras
import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq
from tfx_ext.seq2seq import basic_decoder
from tfx_ext.seq2seq import sampler as sampler_py
from tfx_ext.seq2seq.training_sampler import _check_sequence_is_right_padded


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
                my_decoder = seq2seq.BasicDecoder(
                    cell=cell, sampler=sampler, output_layer=output_layer
                )
                first_finished, first_inputs, first_state = my_decoder.initialize(
                    tf.constant(inputs),
                    initial_state=initial_state,
                    sequence_length=sequence_length,
                )
                self.assertEqual(
                    basic_decoder.BasicDecoderOutput(expected_output_depth, tf.TensorShape([])),
                    my_decoder.output_size,
                )
                self.assertEqual(
                    basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype
                )
                step_outputs, step_state, _, step_finished = my_decoder.step(
                    tf.constant(0), first_inputs, first_state
                )
                self.assertLen(first_state, len(step_state))
                for first, step in zip(first_state, step_state):
                    self.assertEqual((batch_size, cell_depth), tuple(first.shape))
                    self.assertEqual((batch_size, cell_depth), tuple(step.shape))
                self.assertIs(type(step_outputs), basic_decoder.BasicDecoderOutput)
                self.assertEqual((batch_size, expected_output_depth), tuple(step_outputs[0].shape))
                self.assertEqual((batch_size,), tuple(step_outputs[1].shape))
                if use_output_layer:
                    self.assertLen(output_layer.variables, 1)
                np.testing.assert_equal(
                    [False, False, False, False, True], np.asarray(first_finished)
                )
                np.testing.assert_equal(
                    [False, False, False, True, True], np.asarray(step_finished)
                )
                self.assertEqual(tf.int32, step_outputs.sample_id.dtype)
                np.testing.assert_equal(
                    np.argmax(step_outputs.rnn_output, -1), np.asarray(step_outputs.sample_id)
                )

    def test_step_with_training_helper_masked_input(self):
        for use_mask in (True, False, None):
            with self.subTest(use_mask=use_mask):
                batch_size, max_time = 5, 8
                sequence_length = [max_time] * batch_size if use_mask is None else [3, 4, 3, 1, 0]
                sequence_length = np.array(sequence_length, dtype=np.int32)
                mask = [[True] * sl + [False] * (max_time - sl) for sl in sequence_length]
                input_depth, cell_depth, output_layer_depth = 7, 10, 3
                inputs = tf.constant(
                    np.random.randn(batch_size, max_time, input_depth).astype(np.float32)
                )
                cell = keras.layers.LSTMCell(cell_depth)
                output_layer = keras.layers.Dense(output_layer_depth, use_bias=False)
                initial_state = cell.get_initial_state(batch_size=batch_size)
                my_decoder = seq2seq.BasicDecoder(
                    cell=cell,
                    sampler=seq2seq.TrainingSampler(time_major=False),
                    output_layer=output_layer,
                )
                if use_mask is None:
                    first = my_decoder.initialize(inputs, initial_state=initial_state)
                elif use_mask:
                    first = my_decoder.initialize(inputs, initial_state=initial_state, mask=mask)
                else:
                    first = my_decoder.initialize(
                        inputs, initial_state=initial_state, sequence_length=sequence_length
                    )
                first_finished, first_inputs, first_state = first
                step_outputs, step_state, _, step_finished = my_decoder.step(
                    tf.constant(0), first_inputs, first_state
                )
                self.assertLen(first_state, 2)
                self.assertLen(step_state, 2)
                self.assertEqual((batch_size, output_layer_depth), tuple(step_outputs[0].shape))
                self.assertLen(output_layer.variables, 1)
                np.testing.assert_equal(sequence_length == 0, np.asarray(first_finished))
                np.testing.assert_equal(
                    np.maximum(sequence_length - 1, 0) == 0, np.asarray(step_finished)
                )
                np.testing.assert_equal(
                    np.argmax(step_outputs.rnn_output, -1), np.asarray(step_outputs.sample_id)
                )

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
            tf.constant(embeddings),
            start_tokens=start_tokens,
            end_token=end_token,
            initial_state=initial_state,
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(vocabulary_size, tf.TensorShape([])),
            my_decoder.output_size,
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype
        )
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

    def _step_checks(
        self, first_state, step_state, step_outputs, batch_size, depth, sample_shape=()
    ):
        self.assertLen(first_state, 2)
        self.assertLen(step_state, 2)
        self.assertIsInstance(step_outputs, basic_decoder.BasicDecoderOutput)
        self.assertEqual((batch_size, depth), tuple(step_outputs[0].shape))
        self.assertEqual((batch_size,) + sample_shape, tuple(step_outputs[1].shape))
        for state in (*first_state, *step_state):
            self.assertEqual((batch_size, depth), tuple(state.shape))

    def test_step_with_scheduled_embedding_training_helper(self):
        sequence_length = [3, 4, 3, 1, 0]
        batch_size, max_time, input_depth, vocabulary_size = 5, 8, 7, 10
        inputs = np.random.randn(batch_size, max_time, input_depth).astype(np.float32)
        embeddings = np.random.randn(vocabulary_size, input_depth).astype(np.float32)
        cell = keras.layers.LSTMCell(vocabulary_size)
        sampler = sampler_py.ScheduledEmbeddingTrainingSampler(
            sampling_probability=tf.constant(0.5), time_major=False
        )
        initial_state = cell.get_initial_state(batch_size=batch_size)
        my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler)
        first_finished, first_inputs, first_state = my_decoder.initialize(
            tf.constant(inputs),
            sequence_length=sequence_length,
            embedding=embeddings,
            initial_state=initial_state,
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(vocabulary_size, tf.TensorShape([])),
            my_decoder.output_size,
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype
        )
        step_outputs, step_state, step_next_inputs, step_finished = my_decoder.step(
            tf.constant(0), first_inputs, first_state
        )
        self._step_checks(first_state, step_state, step_outputs, batch_size, vocabulary_size)
        self.assertEqual((batch_size, input_depth), tuple(step_next_inputs.shape))
        np.testing.assert_equal(
            np.asanyarray([False, False, False, False, True]), np.asarray(first_finished)
        )
        np.testing.assert_equal(
            np.asanyarray([False, False, False, True, True]), np.asarray(step_finished)
        )
        sample_ids = np.asarray(step_outputs.sample_id)
        self.assertEqual(np.int32, sample_ids.dtype)
        batch_where_not_sampling = np.where(sample_ids == -1)
        batch_where_sampling = np.where(sample_ids > -1)
        np.testing.assert_equal(
            np.asarray(step_next_inputs)[batch_where_sampling],
            embeddings[sample_ids[batch_where_sampling]],
        )
        np.testing.assert_equal(
            np.asarray(step_next_inputs)[batch_where_not_sampling],
            np.squeeze(inputs[batch_where_not_sampling, 1], axis=0),
        )

    def test_step_with_scheduled_output_training_helper(self):
        for sampling_probability, use_next_inputs_fn, use_auxiliary_inputs in itertools.product(
            [0.0, 0.5], [True, False], [True, False]
        ):
            with self.subTest(
                p=sampling_probability, next_inputs_fn=use_next_inputs_fn, aux=use_auxiliary_inputs
            ):
                self._scheduled_output_case(
                    sampling_probability, use_next_inputs_fn, use_auxiliary_inputs
                )

    def _scheduled_output_case(
        self, sampling_probability, use_next_inputs_fn, use_auxiliary_inputs
    ):
        sequence_length = [3, 4, 3, 1, 0]
        batch_size, max_time, input_depth = 5, 8, 7
        cell_depth = input_depth
        auxiliary_inputs = None
        if use_auxiliary_inputs:
            auxiliary_inputs = np.random.randn(batch_size, max_time, 4).astype(np.float32)
        inputs = np.random.randn(batch_size, max_time, input_depth).astype(np.float32)
        cell = keras.layers.LSTMCell(cell_depth)

        def next_inputs_fn(outputs):  # deterministic, as TFA's test
            return tf.one_hot(tf.argmax(outputs, axis=1), cell_depth, dtype=tf.float32)

        sampler = sampler_py.ScheduledOutputTrainingSampler(
            sampling_probability=tf.constant(sampling_probability),
            time_major=False,
            next_inputs_fn=next_inputs_fn if use_next_inputs_fn else None,
        )
        initial_state = cell.get_initial_state(batch_size=batch_size)
        my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler)
        first_finished, first_inputs, first_state = my_decoder.initialize(
            tf.constant(inputs),
            sequence_length=sequence_length,
            initial_state=initial_state,
            auxiliary_inputs=auxiliary_inputs,
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(cell_depth, tf.TensorShape([])), my_decoder.output_size
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype
        )
        step_outputs, step_state, step_next_inputs, step_finished = my_decoder.step(
            tf.constant(0), first_inputs, first_state
        )
        self._step_checks(first_state, step_state, step_outputs, batch_size, cell_depth)
        np.testing.assert_equal(
            np.asanyarray([False, False, False, False, True]), np.asarray(first_finished)
        )
        np.testing.assert_equal(
            np.asanyarray([False, False, False, True, True]), np.asarray(step_finished)
        )
        sample_ids = np.asarray(step_outputs.sample_id)
        if sampling_probability == 0.0:
            self.assertFalse(sample_ids.any())
        batch_where_not_sampling = np.where(np.logical_not(sample_ids))
        batch_where_sampling = np.where(sample_ids)
        auxiliary = (
            auxiliary_inputs[:, 1]
            if use_auxiliary_inputs
            else np.array([]).reshape(batch_size, 0).astype(np.float32)
        )
        rnn_output = np.asarray(step_outputs.rnn_output)
        sampled = np.asarray(next_inputs_fn(rnn_output)) if use_next_inputs_fn else rnn_output
        expected_sampling = np.concatenate(
            (sampled[batch_where_sampling], auxiliary[batch_where_sampling]), axis=-1
        )
        np.testing.assert_equal(
            np.asarray(step_next_inputs)[batch_where_sampling], expected_sampling
        )
        np.testing.assert_equal(
            np.asarray(step_next_inputs)[batch_where_not_sampling],
            np.concatenate(
                (
                    np.squeeze(inputs[batch_where_not_sampling, 1], axis=0),
                    auxiliary[batch_where_not_sampling],
                ),
                axis=-1,
            ),
        )

    def test_step_with_inference_helper_categorical(self):
        batch_size, vocabulary_size, start_token, end_token = 5, 7, 0, 6
        cell_depth = vocabulary_size
        start_inputs = tf.one_hot(
            np.ones(batch_size, dtype=np.int32) * start_token, vocabulary_size
        )
        cell = keras.layers.LSTMCell(vocabulary_size)
        sampler = sampler_py.InferenceSampler(
            lambda x: sampler_py.categorical_sample(logits=x),
            sample_shape=(),
            sample_dtype=tf.int32,
            end_fn=lambda sample_ids: tf.equal(sample_ids, end_token),
            next_inputs_fn=lambda x: tf.one_hot(x, vocabulary_size, dtype=tf.float32),
        )
        initial_state = cell.get_initial_state(batch_size=batch_size)
        my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler)
        first_finished, first_inputs, first_state = my_decoder.initialize(
            start_inputs, initial_state=initial_state
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(cell_depth, tf.TensorShape([])), my_decoder.output_size
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(tf.float32, tf.int32), my_decoder.output_dtype
        )
        step_outputs, step_state, step_next_inputs, step_finished = my_decoder.step(
            tf.constant(0), first_inputs, first_state
        )
        self._step_checks(first_state, step_state, step_outputs, batch_size, cell_depth)
        sample_ids = np.asarray(step_outputs.sample_id)
        self.assertEqual(np.int32, sample_ids.dtype)
        expected_next_inputs = np.zeros((batch_size, vocabulary_size))
        expected_next_inputs[np.arange(batch_size), sample_ids] = 1.0
        np.testing.assert_equal(sample_ids == end_token, np.asarray(step_finished))
        np.testing.assert_equal(expected_next_inputs, np.asarray(step_next_inputs))

    def test_step_with_inference_helper_multilabel(self):
        batch_size, vocabulary_size, start_token, end_token = 5, 7, 0, 6
        cell_depth = vocabulary_size
        start_inputs = tf.one_hot(
            np.ones(batch_size, dtype=np.int32) * start_token, vocabulary_size
        )
        cell = keras.layers.LSTMCell(vocabulary_size)
        sampler = sampler_py.InferenceSampler(
            lambda x: sampler_py.bernoulli_sample(logits=x, dtype=tf.bool),
            sample_shape=[cell_depth],
            sample_dtype=tf.bool,
            end_fn=lambda sample_ids: sample_ids[:, end_token],
            next_inputs_fn=lambda x: tf.cast(x, tf.float32),
        )
        initial_state = cell.get_initial_state(batch_size=batch_size)
        my_decoder = seq2seq.BasicDecoder(cell=cell, sampler=sampler)
        first_finished, first_inputs, first_state = my_decoder.initialize(
            start_inputs, initial_state=initial_state
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(cell_depth, cell_depth), my_decoder.output_size
        )
        self.assertEqual(
            basic_decoder.BasicDecoderOutput(tf.float32, tf.bool), my_decoder.output_dtype
        )
        step_outputs, step_state, step_next_inputs, step_finished = my_decoder.step(
            tf.constant(0), first_inputs, first_state
        )
        self._step_checks(
            first_state,
            step_state,
            step_outputs,
            batch_size,
            cell_depth,
            sample_shape=(cell_depth,),
        )
        sample_ids = np.asarray(step_outputs.sample_id)
        self.assertEqual(np.bool_, sample_ids.dtype)
        np.testing.assert_equal(sample_ids[:, end_token], np.asarray(step_finished))
        np.testing.assert_equal(sample_ids.astype(np.float32), np.asarray(step_next_inputs))

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
