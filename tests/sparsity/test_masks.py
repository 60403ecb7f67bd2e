import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow_model_optimization.python.core.sparsity.keras import pruning_utils

from tfx_ext.sparsity.masks import fraction_zero, m_by_n_mask, magnitude_mask

pytestmark = pytest.mark.backend_neutral


def distinct_weights(rng, shape):
    """Random weights with distinct magnitudes (no ties), random signs."""
    size = int(np.prod(shape))
    magnitudes = rng.permutation(size).astype("float32") + 1.0
    signs = rng.choice([-1.0, 1.0], size)
    return (magnitudes * signs / size).reshape(shape).astype("float32")


def reference_mask(weight, sparsity):
    """Keeps the max(round((1 - s) * n), 1) largest magnitudes."""
    keep = max(int(round((1.0 - sparsity) * weight.size)), 1)
    mask = np.zeros(weight.size, "float32")
    if keep:
        mask[np.argsort(np.abs(weight), axis=None)[-keep:]] = 1.0
    return mask.reshape(weight.shape)


def reference_block_mask(weight, sparsity, block):
    a, b = block
    *lead, rows, cols = weight.shape
    scores = np.abs(weight).reshape((-1, rows // a, a, cols // b, b)).mean(axis=(2, 4))
    kept_blocks = reference_mask(scores, sparsity)
    mask = np.repeat(np.repeat(kept_blocks, a, axis=1), b, axis=2)
    return mask.reshape(weight.shape)


def tfmot_m_by_n_mask(weight, m, n):
    """tfmot's m-by-n mask (for rank 2 and 4 weights): m zeros in every n."""
    prepared = pruning_utils.weights_rearrange(tf.constant(weight))
    mask = pruning_utils.generate_m_by_n_mask(prepared, (m, n))
    return pruning_utils.m_by_n_sparsity_mask_prepare(mask, tf.TensorShape(weight.shape)).numpy()


class MagnitudeMaskTest(tf.test.TestCase):
    def setUp(self):
        keras.utils.set_random_seed(0)
        self.rng = np.random.default_rng(0)

    def test_keeps_largest_magnitudes(self):
        for shape in [(32, 24), (300,), (3, 3, 8, 16), (7, 5)]:
            weight = distinct_weights(self.rng, shape)
            for sparsity in (0.0, 0.5, 0.8, 0.99):
                with self.subTest(shape=shape, sparsity=sparsity):
                    mask = keras.ops.convert_to_numpy(magnitude_mask(weight, sparsity))
                    self.assertEqual(mask.shape, weight.shape)
                    self.assertAllEqual(mask, reference_mask(weight, sparsity))
                    self.assertEqual(
                        int(mask.sum()), max(int(round((1.0 - sparsity) * weight.size)), 1)
                    )

    def test_rounds_the_kept_count_like_tfmot(self):
        # 35 * 0.5 = 17.5: tfmot keeps round(17.5) = 18 (round half to even).
        weight = distinct_weights(self.rng, (7, 5))
        mask = keras.ops.convert_to_numpy(magnitude_mask(weight, 0.5))
        self.assertEqual(int(mask.sum()), 18)
        threshold = np.sort(np.abs(weight), axis=None)[-18]
        self.assertAllEqual(mask, (np.abs(weight) >= threshold).astype("float32"))

    def test_negative_weights_ranked_by_magnitude(self):
        weight = np.array([[-5.0, 0.1], [0.2, 4.0], [-0.3, -3.0]], "float32")
        mask = keras.ops.convert_to_numpy(magnitude_mask(weight, 0.5))
        self.assertAllEqual(mask, [[1, 0], [0, 1], [0, 1]])

    def test_block_mask(self):
        cases = [((16, 12), (2, 3), 0.5), ((64, 32), (4, 4), 0.8), ((3, 3, 8, 16), (2, 2), 0.75)]
        for shape, block, sparsity in cases:
            with self.subTest(shape=shape, block=block):
                weight = self.rng.standard_normal(shape).astype("float32")
                mask = keras.ops.convert_to_numpy(
                    magnitude_mask(weight, sparsity, block_size=block)
                )
                self.assertAllEqual(mask, reference_block_mask(weight, sparsity, block))
                a, b = block
                *_, rows, cols = shape
                blocks = mask.reshape((-1, rows // a, a, cols // b, b))
                per_block = blocks.sum(axis=(2, 4))
                self.assertTrue(np.all((per_block == 0) | (per_block == a * b)))
                n_blocks = per_block.size
                self.assertEqual(
                    int((per_block > 0).sum()), int(round((1.0 - sparsity) * n_blocks))
                )

    def test_block_mask_on_rank_one_weight_is_unstructured(self):
        weight = distinct_weights(self.rng, (40,))
        mask = keras.ops.convert_to_numpy(magnitude_mask(weight, 0.5, block_size=(2, 2)))
        self.assertAllEqual(mask, reference_mask(weight, 0.5))

    def assert_m_by_n(self, weight, mask, zeros, n):
        """`zeros` zeros in every n consecutive weights along axis -2, the smallest ones."""
        kept = n - zeros
        groups_w = np.moveaxis(np.abs(weight), -2, -1).reshape((-1, n))
        groups_m = np.moveaxis(mask, -2, -1).reshape((-1, n))
        self.assertTrue(np.all(groups_m.sum(axis=1) == kept))
        largest = np.argsort(groups_w, axis=1)[:, -kept:]
        expected = np.zeros_like(groups_m)
        np.put_along_axis(expected, largest, 1.0, axis=1)
        self.assertAllEqual(groups_m, expected)

    def test_m_by_n_on_dense_kernel(self):
        weight = distinct_weights(self.rng, (16, 6))
        mask = keras.ops.convert_to_numpy(m_by_n_mask(weight, 2, 4))
        self.assert_m_by_n(weight, mask, 2, 4)
        # Each column, read in runs of 4 input rows, keeps 2.
        self.assertAllEqual(mask.reshape(4, 4, 6).sum(axis=1), np.full((4, 6), 2.0))
        self.assertAllEqual(mask, tfmot_m_by_n_mask(weight, 2, 4))

    def test_m_by_n_on_conv_kernel(self):
        weight = distinct_weights(self.rng, (3, 3, 8, 5))
        mask = keras.ops.convert_to_numpy(m_by_n_mask(weight, 2, 4))
        self.assert_m_by_n(weight, mask, 2, 4)
        self.assertAllEqual(mask, tfmot_m_by_n_mask(weight, 2, 4))

    def test_m_is_the_number_of_zeros(self):
        # tfmot's (1, 4): one zero in every four weights, 25% sparsity.
        weight = distinct_weights(self.rng, (12, 8))
        mask = keras.ops.convert_to_numpy(m_by_n_mask(weight, 1, 4))
        self.assert_m_by_n(weight, mask, 1, 4)
        self.assertAllClose(1.0 - mask.mean(), 0.25)
        self.assertAllEqual(mask, tfmot_m_by_n_mask(weight, 1, 4))
        mask = keras.ops.convert_to_numpy(m_by_n_mask(weight, 3, 4))
        self.assertAllClose(1.0 - mask.mean(), 0.75)
        self.assertAllEqual(mask, tfmot_m_by_n_mask(weight, 3, 4))

    def test_m_by_n_pads_a_partial_group_like_tfmot(self):
        for shape in [(10, 6), (3, 3, 7, 4), (5, 3)]:
            with self.subTest(shape=shape):
                weight = distinct_weights(self.rng, shape)
                mask = keras.ops.convert_to_numpy(m_by_n_mask(weight, 2, 4))
                self.assertAllEqual(mask, tfmot_m_by_n_mask(weight, 2, 4))

    def test_block_mask_pads_partial_blocks(self):
        # 10 x 7 in 4 x 3 blocks: the last row and column of blocks are partial,
        # scored by the mean (or max) of their real weights, as tfmot's SAME pooling.
        weight = self.rng.standard_normal((10, 7)).astype("float32")
        for pooling, pool in (("AVG", np.mean), ("MAX", np.max)):
            with self.subTest(pooling=pooling):
                scores = np.array(
                    [
                        [pool(np.abs(weight[r : r + 4, c : c + 3])) for c in range(0, 7, 3)]
                        for r in range(0, 10, 4)
                    ]
                )
                kept_blocks = reference_mask(scores, 0.5)
                expected = np.repeat(np.repeat(kept_blocks, 4, axis=0), 3, axis=1)[:10, :7]
                mask = keras.ops.convert_to_numpy(magnitude_mask(weight, 0.5, (4, 3), pooling))
                self.assertAllEqual(mask, expected)

    def test_ties_at_the_threshold_are_kept(self):
        weight = np.array([1.0, 2.0, 2.0, 2.0, 3.0], "float32")
        # Keep round(5 * 0.6) = 3: the threshold is 2, and all three 2s stay.
        mask = keras.ops.convert_to_numpy(magnitude_mask(weight, 0.4))
        self.assertAllEqual(mask, [0, 1, 1, 1, 1])

    def test_fraction_zero(self):
        weight = np.array([[0.0, 1.0, 0.0], [2.0, 0.0, -0.0]], "float32")
        self.assertAllClose(fraction_zero(weight), 4 / 6)
