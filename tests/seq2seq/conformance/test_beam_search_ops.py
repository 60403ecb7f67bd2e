"""TFA's seq2seq/tests/beam_search_ops_test.py, ported (same inputs and expected values).

Not ported: `test_bad_parent_values_on_gpu` (no GPU here).
"""

import itertools

import numpy as np
import tensorflow as tf

from tfx_ext.seq2seq import gather_tree


def _transpose_batch_time(x):
    return np.transpose(x, [1, 0, 2]).astype(np.int32)


class GatherTreeOpsTest(tf.test.TestCase):
    def test_gather_tree_one(self):
        end_token = 10
        step_ids = _transpose_batch_time([[[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -1, -1]]])
        parent_ids = _transpose_batch_time([[[0, 0, 0], [0, 1, 1], [2, 1, 2], [-1, -1, -1]]])
        expected = _transpose_batch_time([[[2, 2, 2], [6, 5, 6], [7, 8, 9], [10, 10, 10]]])
        beams = gather_tree(
            step_ids=step_ids, parent_ids=parent_ids, max_sequence_lengths=[3], end_token=end_token
        )
        np.testing.assert_equal(expected, np.asarray(beams))

    def test_bad_parent_values_on_cpu(self):
        step_ids = _transpose_batch_time([[[1, 2, 3], [4, 5, 6], [7, 8, 9], [-1, -1, -1]]])
        parent_ids = _transpose_batch_time([[[0, 0, 0], [0, -1, 1], [2, 1, 2], [-1, -1, -1]]])
        with self.assertRaisesRegex((tf.errors.InvalidArgumentError, ValueError), "parent id"):
            gather_tree(
                step_ids=step_ids, parent_ids=parent_ids, max_sequence_lengths=[3], end_token=10
            )

    def test_gather_tree_batch(self):
        np.random.seed(0)
        batch_size, beam_width, max_time = 10, 15, 8
        max_sequence_lengths = [0, 1, 2, 4, 7, 8, 9, 10, 11, 0]
        end_token = 5
        step_ids = np.random.randint(0, high=end_token + 1, size=(max_time, batch_size, beam_width))
        parent_ids = np.random.randint(
            0, high=beam_width - 1, size=(max_time, batch_size, beam_width)
        )
        beams = np.asarray(
            gather_tree(
                step_ids=step_ids.astype(np.int32),
                parent_ids=parent_ids.astype(np.int32),
                max_sequence_lengths=max_sequence_lengths,
                end_token=end_token,
            )
        )
        self.assertEqual((max_time, batch_size, beam_width), beams.shape)
        for b in range(batch_size):
            b_value = beams[max_sequence_lengths[b] :, b, :]
            np.testing.assert_allclose(b_value, end_token * np.ones_like(b_value))
        for batch, beam in itertools.product(range(batch_size), range(beam_width)):
            v = np.squeeze(beams[:, batch, beam])
            if end_token in v:
                self.assertEqual(0, len(np.where(v == -1)[0]))
                found = np.where(v == end_token)[0][0]
                if found > 0:
                    np.testing.assert_equal(
                        v[: found - 1] >= 0, np.ones_like(v[: found - 1], dtype=bool)
                    )
                np.testing.assert_allclose(v[found + 1 :], end_token * np.ones_like(v[found + 1 :]))
