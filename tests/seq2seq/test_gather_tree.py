import numpy as np
import tensorflow as tf

from tests.bad_input import rejects_bad_input
from tests.seq2seq.tensorflow_only import tensorflow_only
from tfx_ext.seq2seq import gather_tree, gather_tree_from_array, tile_batch


def reference_gather_tree(step_ids, parent_ids, lengths, end_token):
    """TFA's kernel, written as plain loops."""
    max_time, batch, beams = step_ids.shape
    out = np.full_like(step_ids, end_token)
    for b in range(batch):
        length = min(max_time, lengths[b])
        for w in range(beams):
            if length <= 0:
                continue
            out[length - 1, b, w] = step_ids[length - 1, b, w]
            parent = parent_ids[length - 1, b, w]
            for t in range(length - 2, -1, -1):
                out[t, b, w] = step_ids[t, b, parent]
                parent = parent_ids[t, b, parent]
            finished = False
            for t in range(length):
                if finished:
                    out[t, b, w] = end_token
                elif out[t, b, w] == end_token:
                    finished = True
    return out


class GatherTreeTest(tf.test.TestCase):
    def test_matches_reference_loops(self):
        rng = np.random.default_rng(0)
        step_ids = rng.integers(0, 6, size=(7, 4, 5)).astype("int32")
        parent_ids = rng.integers(0, 5, size=(7, 4, 5)).astype("int32")
        lengths = np.array([0, 3, 7, 9], "int32")
        self.assertAllEqual(
            gather_tree(step_ids, parent_ids, lengths, 5),
            reference_gather_tree(step_ids, parent_ids, lengths, 5),
        )

    @tensorflow_only
    def test_traced_with_unknown_shapes(self):
        spec = tf.TensorSpec([None, None, None], tf.int32)
        fn = tf.function(
            lambda s, p, n: gather_tree(s, p, n, 3),
            input_signature=[spec, spec, tf.TensorSpec([None], tf.int32)],
        )
        rng = np.random.default_rng(1)
        step_ids = rng.integers(0, 4, size=(5, 2, 3)).astype("int32")
        parent_ids = rng.integers(0, 3, size=(5, 2, 3)).astype("int32")
        lengths = np.array([5, 2], "int32")
        self.assertAllEqual(
            fn(step_ids, parent_ids, lengths),
            reference_gather_tree(step_ids, parent_ids, lengths, 3),
        )

    def test_tile_batch_repeats_each_entry(self):
        x = np.arange(6).reshape(3, 2)
        nested = tile_batch({"a": x, "b": [np.arange(3)]}, 2)
        self.assertAllEqual(nested["a"], np.repeat(x, 2, axis=0))
        self.assertAllEqual(nested["b"][0], [0, 0, 1, 1, 2, 2])

    @rejects_bad_input(tile_batch, gather_tree, gather_tree_from_array)
    def test_bad_arguments(self):
        with self.assertRaisesRegex(ValueError, "`multiplier`"):
            tile_batch(np.ones((2, 3)), 0)
        with self.assertRaisesRegex(ValueError, "`t`"):
            tile_batch(np.float32(1.0), 2)
        with self.assertRaisesRegex(ValueError, "`step_ids`"):
            gather_tree(np.ones((3, 2), "int32"), np.ones((3, 2), "int32"), [3], 0)
        # InvalidArgumentError on TensorFlow (as TFA), ValueError on other backends.
        with self.assertRaisesRegex((tf.errors.InvalidArgumentError, ValueError), "parent id"):
            gather_tree_from_array(
                np.ones((2, 1, 2), "float32"), np.full((2, 1, 2), 7, "int32"), [[2, 2]]
            )
