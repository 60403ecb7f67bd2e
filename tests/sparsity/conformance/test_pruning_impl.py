"""tfmot's pruning_impl_test.py, ported: same inputs, same expected values.

Source: tensorflow/model-optimization,
tensorflow_model_optimization/python/core/sparsity/keras/pruning_impl_test.py.
tfmot's `Pruning` object is our wrapper's mask update (`tfx_ext.sparsity.masks`).
"""

import keras
import numpy as np
import tensorflow as tf
from keras import ops

from tfx_ext.sparsity import PrunableLayer, PruneLowMagnitude
from tfx_ext.sparsity.masks import m_by_n_mask, magnitude_mask, threshold_mask

# Passes on JAX too, but is left out of the JAX leg to keep it short: not backend_neutral.


def numpy(x):
    return ops.convert_to_numpy(x)


class Vector(keras.layers.Layer, PrunableLayer):
    """A layer holding one weight tensor, as tfmot's tests prune a bare variable."""

    def __init__(self, values, **kwargs):
        super().__init__(**kwargs)
        self.values = np.asarray(values, "float32")

    def build(self, input_shape):
        self.weight = self.add_weight(
            name="weights",
            shape=self.values.shape,
            initializer=keras.initializers.Constant(self.values),
        )

    def call(self, inputs):
        return inputs

    def get_prunable_weights(self):
        return [self.weight]


def wrapped_vector(values, sparsity_m_by_n=None, **kwargs):
    wrapper = PruneLowMagnitude(Vector(values), sparsity_m_by_n=sparsity_m_by_n, **kwargs)
    wrapper(np.zeros((1, 1), "float32"))
    return wrapper


class PruningTest(tf.test.TestCase):
    def test_extremely_sparse_mask(self):
        wrapper = wrapped_vector(np.linspace(1.0, 100.0, 100))
        self.assertEqual(np.count_nonzero(numpy(wrapper.masks[0])), 100)
        wrapper.update_masks(0.9999)
        # We should always have a single connection remaining.
        self.assertEqual(np.count_nonzero(numpy(wrapper.masks[0])), 1)

    def test_update_single_mask(self):
        wrapper = wrapped_vector(np.linspace(1.0, 100.0, 100))
        self.assertEqual(np.count_nonzero(numpy(wrapper.masks[0])), 100)
        wrapper.update_masks(0.5)
        self.assertEqual(np.count_nonzero(numpy(wrapper.masks[0])), 50)

    def test_constructs_mask_and_threshold_correctly(self):
        # Sparsity math often returns values with small tolerances.
        weights = np.arange(1, 11).astype("float32")
        mask = numpy(threshold_mask(weights, 0.200000018))
        # The threshold is 3: [0, 0, 1, ..., 1].
        self.assertEqual(weights[mask > 0].min(), 3)
        self.assertAllEqual(np.concatenate((np.zeros(2), np.ones(8))), mask)

    def test_block_masking_avg(self):
        weight = np.array(
            [
                [0.1, 0.1, 0.2, 0.2],
                [0.1, 0.1, 0.2, 0.2],
                [0.3, 0.3, 0.4, 0.4],
                [0.3, 0.3, 0.4, 0.4],
            ],
            "float32",
        )
        expected = [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, 1.0],
        ]
        mask = numpy(magnitude_mask(weight, 0.5, (2, 2), "AVG"))
        self.assertEqual(mask.shape, weight.shape)
        self.assertAllEqual(mask, expected)

    def test_block_masking_max(self):
        weight = np.array(
            [
                [0.1, 0.0, 0.2, 0.0],
                [0.0, -0.1, 0.0, -0.2],
                [0.3, 0.0, 0.4, 0.0],
                [0.0, -0.3, 0.0, -0.4],
            ],
            "float32",
        )
        expected = [
            [0.0, 0.0, 0.0, 0.0],
            [0.0, 0.0, 0.0, 0.0],
            [1.0, 1.0, 1.0, 1.0],
            [1.0, 1.0, 1.0, 1.0],
        ]
        self.assertAllEqual(numpy(magnitude_mask(weight, 0.5, (2, 2), "MAX")), expected)

    def test_block_masking_with_higher_dimensions(self):
        # Deliberate difference (README): tfmot raises ValueError for block
        # sparsity on weights of rank > 2; we cut the last two axes into blocks
        # (e.g. per kernel position of a convolution). tfmot's weight, with
        # its expected mask for the 2-D case, gives that mask here.
        weight = np.array(
            [
                [
                    [0.1, 0.1, 0.2, 0.2],
                    [0.1, 0.1, 0.2, 0.2],
                    [0.3, 0.3, 0.4, 0.4],
                    [0.3, 0.3, 0.4, 0.4],
                ]
            ],
            "float32",
        )
        expected = [
            [[0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
        ]
        self.assertAllEqual(numpy(magnitude_mask(weight, 0.5, (2, 2), "AVG")), expected)

    def test_conditional_mask_update(self):
        weight = np.linspace(1.0, 100.0, 100).astype("float32")
        mask = np.ones_like(weight)
        sparsity_by_step = [0.0, 0.1, 0.1, 0.3, 0.3, 0.5, 0.5, 0.5, 0.5, 0.5]
        non_zero_count = []
        for step in range(10):
            mask = numpy(magnitude_mask(weight * mask, sparsity_by_step[step]))
            weight = weight * mask
            non_zero_count.append(np.count_nonzero(weight))
        # Weights pruned at steps 1, 3, 5.
        self.assertAllEqual([100, 90, 90, 70, 70, 50, 50, 50, 50, 50], non_zero_count)

    def test_sparsity_m_by_n_masking_simple(self):
        cases = [
            (
                "2d_2by4",
                [[0.74, 0.68], [-0.89, -0.45], [-1.68, 1.24], [0.31, -0.6]],
                [[0.0, 1.0], [1.0, 0.0], [1.0, 1.0], [0.0, 0.0]],
                (2, 4),
            ),
            (
                "4d_2by4",
                [[[[-0.36, -0.77], [-0.43, -0.18], [0.12, 1.36], [0.77, 0.96]]]],
                [[[[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]]]],
                (2, 4),
            ),
            (
                "4d_1by2",
                [[[[-0.36, -0.77], [-0.43, -0.18], [0.12, 1.36], [0.77, 0.96]]]],
                [[[[0.0, 1.0], [1.0, 0.0], [0.0, 1.0], [1.0, 0.0]]]],
                (1, 2),
            ),
            (
                "2d_2by4_pad",
                [[1.92, -0.21], [-0.19, 0.57], [1.1, -0.42]],
                [[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]],
                (2, 4),
            ),
            (
                "4d_2by4_pad",
                [[[[-0.37, 1.85], [0.82, 0.07], [1.17, 0.5]]]],
                [[[[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]]],
                (2, 4),
            ),
        ]
        for name, weights, expected, (m, n) in cases:
            with self.subTest(name):
                self.assertAllEqual(
                    numpy(m_by_n_mask(np.array(weights, "float32"), m, n)), expected
                )
                # The same through the wrapper, which sets m-by-n masks at its first training step.
                wrapper = wrapped_vector(weights, sparsity_m_by_n=(m, n))
                wrapper(np.zeros((1, 1), "float32"), training=True)
                self.assertAllEqual(numpy(wrapper.masks[0]), expected)

    def test_sparsity_m_by_n_masking_simple_raises(self):
        with self.assertRaises(ValueError):
            wrapped_vector(np.ones([4]), sparsity_m_by_n=(2, 4))
        # Deliberate difference (README): tfmot raises for rank-3 weights (a
        # Conv1D kernel); we group any rank >= 2 along its input axis.
        mask = numpy(m_by_n_mask(np.ones([4, 4, 4], "float32"), 2, 4))
        self.assertAllEqual(mask.sum(axis=-2), np.full((4, 4), 2.0))
