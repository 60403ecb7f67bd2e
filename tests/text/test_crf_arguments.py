"""Bad input to the CRF ops: each error names the argument and the expected shape."""

import numpy as np
import pytest
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tfx_ext import text

pytestmark = pytest.mark.backend_neutral

POTENTIALS = np.zeros((2, 4, 3), "float32")
TAGS = np.zeros((2, 4), "int32")
LENGTHS = np.array([4, 2], "int32")
TRANSITIONS = np.zeros((3, 3), "float32")
BITMAP = np.ones((2, 4, 3), bool)


class CrfArgumentsTest(tf.test.TestCase):
    @rejects_bad_input(
        text.crf_sequence_score,
        text.crf_log_likelihood,
        text.crf_log_norm,
        text.crf_multitag_sequence_score,
    )
    def test_scores_name_the_bad_argument(self):
        with self.assertRaisesRegex(ValueError, "`inputs`.*rank-3"):
            text.crf_sequence_score(TAGS, TAGS, LENGTHS, TRANSITIONS)
        with self.assertRaisesRegex(ValueError, "`transition_params`.*\\[3, 3\\]"):
            text.crf_log_likelihood(POTENTIALS, TAGS, LENGTHS, np.zeros((4, 4), "float32"))
        with self.assertRaisesRegex(ValueError, "`sequence_lengths`.*rank-1"):
            text.crf_log_norm(POTENTIALS, LENGTHS[:, None], TRANSITIONS)
        with self.assertRaisesRegex(ValueError, "`tag_bitmap`.*rank-3"):
            text.crf_multitag_sequence_score(POTENTIALS, TAGS, LENGTHS, TRANSITIONS)

    @rejects_bad_input(
        text.crf_unary_score,
        text.crf_binary_score,
        text.crf_forward,
        text.crf_filtered_inputs,
    )
    def test_parts_name_the_bad_argument(self):
        with self.assertRaisesRegex(ValueError, "`tag_indices`.*rank-2"):
            text.crf_unary_score(POTENTIALS, LENGTHS, POTENTIALS)
        with self.assertRaisesRegex(ValueError, "`transition_params`.*rank-2"):
            text.crf_binary_score(TAGS, LENGTHS, POTENTIALS)
        with self.assertRaisesRegex(ValueError, "`state`.*rank-2"):
            text.crf_forward(POTENTIALS, LENGTHS, TRANSITIONS, LENGTHS)
        with self.assertRaisesRegex(ValueError, "`inputs`.*rank-3"):
            text.crf_filtered_inputs(TAGS, BITMAP)

    @rejects_bad_input(
        text.crf_decode,
        text.crf_constrained_decode,
        text.crf_decode_forward,
        text.crf_decode_backward,
        text.viterbi_decode,
        text.CrfDecodeForwardRnnCell,
    )
    def test_decoders_name_the_bad_argument(self):
        with self.assertRaisesRegex(ValueError, "`potentials`.*rank-3"):
            text.crf_decode(TAGS, TRANSITIONS, LENGTHS)
        with self.assertRaisesRegex(ValueError, "`potentials`.*at least one time step"):
            text.crf_decode(np.zeros((2, 0, 3), "float32"), TRANSITIONS, LENGTHS)
        with self.assertRaisesRegex(ValueError, "`sequence_length`.*rank-1"):
            text.crf_constrained_decode(POTENTIALS, BITMAP, TRANSITIONS, TAGS)
        with self.assertRaisesRegex(ValueError, "`transition_params`"):
            text.crf_decode_forward(
                POTENTIALS, POTENTIALS[:, 0], np.zeros((2, 2), "float32"), LENGTHS
            )
        with self.assertRaisesRegex(ValueError, "`state`.*\\[batch_size, 1\\]"):
            text.crf_decode_backward(TAGS[:, :, None], LENGTHS)
        with self.assertRaisesRegex(ValueError, "`transition_params`.*\\[3, 3\\]"):
            text.viterbi_decode(POTENTIALS[0], np.zeros((2, 2)))
        with self.assertRaisesRegex(ValueError, "`score`"):
            text.viterbi_decode(POTENTIALS, TRANSITIONS)
        with self.assertRaisesRegex(ValueError, "`transition_params`.*square"):
            text.CrfDecodeForwardRnnCell(np.zeros((2, 3)))

    def test_decode_forward_cell_matches_crf_decode_forward(self):
        # The cell under keras.layers.RNN and the scan give the same pointers and scores.
        import keras

        rng = np.random.default_rng(0)
        potentials = rng.normal(size=(2, 6, 3)).astype("float32")
        transitions = rng.normal(size=(3, 3)).astype("float32")
        rnn = keras.layers.RNN(
            text.CrfDecodeForwardRnnCell(transitions),
            return_sequences=True,
            return_state=True,
        )
        pointers, score = rnn(potentials[:, 1:], initial_state=potentials[:, 0])
        expected_pointers, expected_score = text.crf_decode_forward(
            potentials[:, 1:], potentials[:, 0], transitions, [5, 5]
        )
        self.assertAllEqual(
            keras.ops.convert_to_numpy(pointers),
            keras.ops.convert_to_numpy(expected_pointers),
        )
        self.assertAllClose(
            keras.ops.convert_to_numpy(score),
            keras.ops.convert_to_numpy(expected_score),
        )
        cell = text.CrfDecodeForwardRnnCell.from_config(
            text.CrfDecodeForwardRnnCell(transitions).get_config()
        )
        self.assertAllClose(np.asarray(cell.get_config()["transition_params"]), transitions)
