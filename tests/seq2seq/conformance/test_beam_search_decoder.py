"""TFA's seq2seq/tests/beam_search_decoder_test.py, ported (same inputs, expected values).

Not ported: `test_array_shape_dynamic_checks` and `test_array_shape_static_checks`
(they test TFA's private `_check_batch_beam` / `_check_static_batch_beam_maybe`
helpers, which have no counterpart here; see README).
"""

import itertools

import keras
import numpy as np
import tensorflow as tf

from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext import seq2seq
from tfx_ext.seq2seq import beam_search_step as bs
from tfx_ext.seq2seq import gather_tree, gather_tree_from_array


def beam_step(beam_state, logits, batch_size=2, beam_width=3):
    return bs.beam_search_step(
        time=2,
        logits=logits,
        next_cell_state=tf.zeros([batch_size, beam_width]),
        beam_state=beam_state,
        batch_size=tf.convert_to_tensor(batch_size),
        beam_width=beam_width,
        end_token=0,
        length_penalty_weight=0.6,
        coverage_penalty_weight=0.0,
        output_all_scores=False,
    )


class GatherTreeTest(tf.test.TestCase):
    def test_gather_tree(self):
        predicted_ids = np.array(
            [[[1, 2, 3], [4, 5, 6], [7, 8, 9]], [[2, 3, 4], [5, 6, 7], [8, 9, 10]]], dtype=np.int32
        ).transpose([1, 0, 2])
        parent_ids = np.array(
            [[[0, 0, 0], [0, 1, 1], [2, 1, 2]], [[0, 0, 0], [1, 2, 0], [2, 1, 1]]], dtype=np.int32
        ).transpose([1, 0, 2])
        expected = np.array(
            [[[2, 2, 2], [6, 5, 6], [7, 8, 9]], [[2, 4, 4], [7, 6, 6], [8, 9, 10]]]
        ).transpose([1, 0, 2])
        res = gather_tree(predicted_ids, parent_ids, max_sequence_lengths=[3, 3], end_token=11)
        np.testing.assert_equal(expected, np.asarray(res))

    def _gather_tree_from_array(self, depth_ndims=0, merged_batch_beam=False):
        array = np.array(
            [
                [[1, 2, 3], [4, 5, 6], [7, 8, 9], [0, 0, 0]],
                [[2, 3, 4], [5, 6, 7], [8, 9, 10], [11, 12, 0]],
            ]
        ).transpose([1, 0, 2])
        parent_ids = np.array(
            [
                [[0, 0, 0], [0, 1, 1], [2, 1, 2], [-1, -1, -1]],
                [[0, 0, 0], [1, 1, 0], [2, 0, 1], [0, 1, 0]],
            ]
        ).transpose([1, 0, 2])
        expected = np.array(
            [
                [[2, 2, 2], [6, 5, 6], [7, 8, 9], [0, 0, 0]],
                [[2, 3, 2], [7, 5, 7], [8, 9, 8], [11, 12, 0]],
            ]
        ).transpose([1, 0, 2])
        sequence_length = [[3, 3, 3], [4, 4, 3]]
        array = tf.convert_to_tensor(array, dtype=tf.float32)
        parent_ids = tf.convert_to_tensor(parent_ids, dtype=tf.int32)
        expected = tf.convert_to_tensor(expected, dtype=tf.float32)
        max_time, batch_size, beam_width = array.shape

        def tile_in_depth(tensor):
            for _ in range(depth_ndims):
                tensor = tf.stack([tensor, tensor + 1], -1)
            return tensor

        if merged_batch_beam:
            array = tf.reshape(array, [max_time, batch_size * beam_width])
            expected = tf.reshape(expected, [max_time, batch_size * beam_width])
        if depth_ndims > 0:
            array = tile_in_depth(array)
            expected = tile_in_depth(expected)
        sorted_array = gather_tree_from_array(array, parent_ids, sequence_length)
        np.testing.assert_equal(expected.numpy(), np.asarray(sorted_array))

    def test_gather_tree_from_array_scalar(self):
        self._gather_tree_from_array()

    def test_gather_tree_from_array_1d(self):
        self._gather_tree_from_array(depth_ndims=1)

    def test_gather_tree_from_array_1d_with_merged_batch_beam(self):
        self._gather_tree_from_array(depth_ndims=1, merged_batch_beam=True)

    def test_gather_tree_from_array_2d(self):
        self._gather_tree_from_array(depth_ndims=2)

    def test_gather_tree_from_array_complex_trajectory(self):
        array = np.expand_dims(
            np.array(
                [
                    [[25, 12, 114, 89, 97]],
                    [[9, 91, 64, 11, 162]],
                    [[34, 34, 34, 34, 34]],
                    [[2, 4, 2, 2, 4]],
                    [[2, 3, 6, 2, 2]],
                    [[2, 2, 2, 3, 2]],
                    [[2, 2, 2, 2, 2]],
                ]
            ),
            -1,
        )
        parent_ids = np.array(
            [
                [[0, 0, 0, 0, 0]],
                [[0, 0, 0, 0, 0]],
                [[0, 1, 2, 3, 4]],
                [[0, 0, 1, 2, 1]],
                [[0, 1, 1, 2, 3]],
                [[0, 1, 3, 1, 2]],
                [[0, 1, 2, 3, 4]],
            ]
        )
        expected = np.expand_dims(
            np.array(
                [
                    [[25, 25, 25, 25, 25]],
                    [[9, 9, 91, 9, 9]],
                    [[34, 34, 34, 34, 34]],
                    [[2, 4, 2, 4, 4]],
                    [[2, 3, 6, 3, 6]],
                    [[2, 2, 2, 3, 2]],
                    [[2, 2, 2, 2, 2]],
                ]
            ),
            -1,
        )
        sorted_array = gather_tree_from_array(
            tf.constant(array, tf.float32), tf.constant(parent_ids, tf.int32), [[4, 6, 4, 7, 6]]
        )
        np.testing.assert_equal(expected.astype(np.float32), np.asarray(sorted_array))


@tensorflow_only
class BeamStepTest(tf.test.TestCase):
    def test_eos_masking(self):
        probs = tf.constant(
            [
                [[-0.2, -0.2, -0.2, -0.2, -0.2], [-0.3, -0.3, -0.3, 3, 0], [5, 6, 0, 0, 0]],
                [[-0.2, -0.2, -0.2, -0.2, 0], [-0.3, -0.3, -0.1, 3, 0], [5, 6, 3, 0, 0]],
            ]
        )
        previously_finished = np.array([[0, 1, 0], [0, 1, 1]], dtype=bool)
        masked = np.asarray(bs.mask_probs(probs, 0, previously_finished))
        np.testing.assert_equal(probs[0][0], masked[0][0])
        np.testing.assert_equal(probs[0][2], masked[0][2])
        np.testing.assert_equal(probs[1][0], masked[1][0])
        np.testing.assert_equal(masked[0][1][0], 0)
        np.testing.assert_equal(masked[1][1][0], 0)
        np.testing.assert_equal(masked[1][2][0], 0)
        for i in range(1, 5):
            np.testing.assert_allclose(masked[0][1][i], np.finfo("float32").min)
            np.testing.assert_allclose(masked[1][1][i], np.finfo("float32").min)
            np.testing.assert_allclose(masked[1][2][i], np.finfo("float32").min)

    def test_missing_embedding_fn(self):
        batch_size, beam_width = 6, 4
        cell = keras.layers.LSTMCell(5)
        decoder = seq2seq.BeamSearchDecoder(cell, beam_width=beam_width)
        initial_state = cell.get_initial_state(batch_size=batch_size * beam_width)
        with self.assertRaises(ValueError):
            decoder(
                None,
                tf.ones([batch_size], dtype=tf.int32),
                tf.constant(2, dtype=tf.int32),
                initial_state,
            )

    def _logits(self, large_eos_case=False):
        logits_ = np.full([2, 3, 5], 0.0001)
        logits_[0, 0, 2] = 1.9
        logits_[0, 0, 3] = 2.1
        logits_[0, 1, 3] = 3.1
        logits_[0, 1, 4] = 0.9
        logits_[1, 0, 1] = 0.5
        logits_[1, 1, 2] = 5.7 if large_eos_case else 2.7
        logits_[1, 2, 2] = 1.0 if large_eos_case else 10.0
        logits_[1, 2, 3] = 0.2
        return tf.convert_to_tensor(logits_, dtype=tf.float32)

    def test_beam_step(self):
        beam_state = bs.BeamSearchDecoderState(
            cell_state=tf.zeros([2, 3]),
            log_probs=tf.nn.log_softmax(tf.ones([2, 3])),
            lengths=tf.constant(2, shape=[2, 3], dtype=tf.int64),
            finished=tf.zeros([2, 3], dtype=tf.bool),
            accumulated_attention_probs=(),
        )
        logits = self._logits()
        log_probs = tf.nn.log_softmax(logits)
        outputs, next_state = beam_step(beam_state, logits)
        np.testing.assert_equal(np.asarray(outputs.predicted_ids), [[3, 3, 2], [2, 2, 1]])
        np.testing.assert_equal(np.asarray(outputs.parent_ids), [[1, 0, 0], [2, 1, 0]])
        np.testing.assert_equal(np.asarray(next_state.lengths), [[3, 3, 3], [3, 3, 3]])
        np.testing.assert_equal(np.asarray(next_state.finished), [[False] * 3, [False] * 3])
        expected = [beam_state.log_probs[0].numpy(), beam_state.log_probs[1].numpy()]
        expected[0][0] += log_probs[0, 1, 3]
        expected[0][1] += log_probs[0, 0, 3]
        expected[0][2] += log_probs[0, 0, 2]
        expected[1][0] += log_probs[1, 2, 2]
        expected[1][1] += log_probs[1, 1, 2]
        expected[1][2] += log_probs[1, 0, 1]
        np.testing.assert_equal(np.asarray(next_state.log_probs), np.asarray(expected))

    def test_step_with_eos(self):
        beam_state = bs.BeamSearchDecoderState(
            cell_state=tf.zeros([2, 3]),
            log_probs=tf.nn.log_softmax(tf.ones([2, 3])),
            lengths=tf.convert_to_tensor([[2, 1, 2], [2, 2, 1]], dtype=tf.int64),
            finished=tf.convert_to_tensor(
                [[False, True, False], [False, False, True]], dtype=tf.bool
            ),
            accumulated_attention_probs=(),
        )
        logits = self._logits(large_eos_case=True)
        log_probs = tf.nn.log_softmax(logits)
        outputs, next_state = beam_step(beam_state, logits)
        np.testing.assert_equal(np.asarray(outputs.parent_ids), [[1, 0, 0], [1, 2, 0]])
        np.testing.assert_equal(np.asarray(outputs.predicted_ids), [[0, 3, 2], [2, 0, 1]])
        np.testing.assert_equal(np.asarray(next_state.lengths), [[1, 3, 3], [3, 1, 3]])
        np.testing.assert_equal(
            np.asarray(next_state.finished), [[True, False, False], [False, True, False]]
        )
        expected = [beam_state.log_probs[0].numpy(), beam_state.log_probs[1].numpy()]
        expected[0][1] += log_probs[0, 0, 3]
        expected[0][2] += log_probs[0, 0, 2]
        expected[1][0] += log_probs[1, 1, 2]
        expected[1][2] += log_probs[1, 0, 1]
        np.testing.assert_equal(np.asarray(next_state.log_probs), np.asarray(expected))

    def test_large_beam_step(self):
        batch_size, beam_width = 2, 8
        first = tf.one_hot(
            tf.zeros([batch_size], tf.int32),
            depth=beam_width,
            on_value=True,
            off_value=False,
            dtype=tf.bool,
        )
        log_probs = tf.where(
            first, tf.zeros([batch_size, beam_width]), tf.fill([batch_size, beam_width], -np.inf)
        )
        lengths = np.zeros([batch_size, beam_width], dtype=np.int64)
        lengths[:, 0] = 2
        beam_state = bs.BeamSearchDecoderState(
            cell_state=tf.zeros([batch_size, beam_width]),
            log_probs=log_probs,
            lengths=tf.constant(lengths),
            finished=tf.logical_not(first),
            accumulated_attention_probs=(),
        )
        logits_ = np.full([batch_size, beam_width, 5], 0.0001)
        logits_[0, 0, 2] = 1.9
        logits_[0, 0, 3] = 2.1
        logits_[0, 1, 3] = 3.1
        logits_[0, 1, 4] = 0.9
        logits_[1, 0, 1] = 0.5
        logits_[1, 1, 2] = 2.7
        logits_[1, 2, 2] = 10.0
        logits_[1, 2, 3] = 0.2
        outputs, next_state = beam_step(
            beam_state,
            tf.constant(logits_, dtype=tf.float32),
            batch_size=batch_size,
            beam_width=beam_width,
        )
        ids = np.asarray(outputs.predicted_ids)
        self.assertEqual(ids[0, 0], 3)
        self.assertEqual(ids[0, 1], 2)
        self.assertEqual(ids[1, 0], 1)
        next_log_probs = np.asarray(next_state.log_probs)
        np.testing.assert_equal(next_log_probs[:, -3:], np.full([2, 3], -np.inf))
        self.assertTrue(np.all(next_log_probs[:, :-3] > -np.inf))
        self.assertTrue(np.all(np.asarray(next_state.lengths)[:, :-3] > 0))
        np.testing.assert_equal(np.asarray(next_state.lengths)[:, -3:], np.zeros([2, 3]))


@tensorflow_only
class BeamSearchDecoderTest(tf.test.TestCase):
    def test_beam_search_decoder(self):
        # TFA ran each case eagerly and as a tf.function; every case runs
        # eagerly here and two (with and without attention) are traced, to
        # keep the suite within its CPU budget.
        keras.utils.set_random_seed(0)
        self._decode(keras.layers.LSTMCell, False, True, True, True, traced=True)
        self._decode(keras.layers.GRUCell, True, False, False, False, traced=True)
        for (
            cell_class,
            time_major,
            has_attention,
            with_alignment_history,
            output_all_scores,
        ) in itertools.product(
            [keras.layers.LSTMCell, keras.layers.GRUCell],
            [True, False],
            [True, False],
            [True, False],
            [True, False],
        ):
            with self.subTest(
                cell=cell_class.__name__,
                time_major=time_major,
                attention=has_attention,
                history=with_alignment_history,
                all_scores=output_all_scores,
            ):
                self._decode(
                    cell_class, time_major, has_attention, with_alignment_history, output_all_scores
                )

    def _decode(
        self,
        cell_class,
        time_major,
        has_attention,
        with_alignment_history,
        output_all_scores,
        traced=False,
    ):
        encoder_sequence_length = np.array([3, 2, 3, 1, 1])
        batch_size, decoder_max_time, input_depth = 5, 4, 7
        cell_depth, attention_depth, vocab_size = 9, 6, 20
        end_token, start_token, embedding_dim = vocab_size - 1, 0, 50
        beam_width = 3
        output_layer = keras.layers.Dense(vocab_size, use_bias=True, activation=None)
        embedding = tf.random.normal([vocab_size, embedding_dim])
        cell = cell_class(cell_depth)
        if has_attention:
            attention_mechanism = seq2seq.BahdanauAttention(units=attention_depth)
            cell = seq2seq.AttentionWrapper(
                cell=cell,
                attention_mechanism=attention_mechanism,
                attention_layer_size=attention_depth,
                alignment_history=with_alignment_history,
            )
            coverage_penalty_weight = 0.2
        else:
            coverage_penalty_weight = 0.0
        bsd = seq2seq.BeamSearchDecoder(
            cell=cell,
            beam_width=beam_width,
            output_layer=output_layer,
            length_penalty_weight=0.0,
            coverage_penalty_weight=coverage_penalty_weight,
            output_time_major=time_major,
            maximum_iterations=3,
            output_all_scores=output_all_scores,
        )

        def beam_decode_from(memory, memory_sequence_length):
            batch = tf.shape(memory)[0]
            if has_attention:
                attention_mechanism.setup_memory(
                    seq2seq.tile_batch(memory, multiplier=beam_width),
                    memory_sequence_length=seq2seq.tile_batch(
                        memory_sequence_length, multiplier=beam_width
                    ),
                )
                cell_state = cell.get_initial_state(batch_size=batch * beam_width, dtype=tf.float32)
            else:
                cell_state = cell.get_initial_state(batch_size=batch * beam_width)
            return bsd(
                embedding,
                start_tokens=tf.fill([batch], start_token),
                end_token=end_token,
                initial_state=cell_state,
            )

        if traced:
            beam_decode_from = tf.function(
                beam_decode_from,
                input_signature=(
                    tf.TensorSpec([None, None, input_depth], dtype=tf.float32),
                    tf.TensorSpec([None], dtype=tf.int32),
                ),
            )
        memory = tf.random.normal([batch_size, decoder_max_time, input_depth])
        final_outputs, final_state, final_sequence_lengths = beam_decode_from(
            memory, tf.constant(encoder_sequence_length, dtype=tf.int32)
        )

        def t(shape):
            return (shape[1], shape[0]) + shape[2:] if time_major else shape

        self.assertIsInstance(final_outputs, seq2seq.FinalBeamSearchDecoderOutput)
        self.assertIsInstance(final_state, seq2seq.BeamSearchDecoderState)
        beam_output = final_outputs.beam_search_decoder_output
        max_sequence_length = np.max(final_sequence_lengths.numpy())
        self.assertEqual(
            t((batch_size, max_sequence_length, beam_width)),
            tuple(final_outputs.predicted_ids.shape),
        )
        if output_all_scores:
            self.assertEqual(
                t((batch_size, max_sequence_length, beam_width, vocab_size)),
                tuple(beam_output.scores.shape),
            )
            self.assertEqual((beam_width, vocab_size), tuple(bsd.output_size.scores.as_list()))
        else:
            self.assertEqual(
                t((batch_size, max_sequence_length, beam_width)), tuple(beam_output.scores.shape)
            )
            self.assertEqual((beam_width,), tuple(bsd.output_size.scores.as_list()))
