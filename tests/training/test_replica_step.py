"""The replica step's gradient finiteness check, against `tf.math.is_finite`."""

import numpy as np
import tensorflow as tf

from tfx_ext.training.replica_step import _all_finite


def _reference(grads):
    present = [g.values if isinstance(g, tf.IndexedSlices) else g for g in grads if g is not None]
    return all(bool(tf.reduce_all(tf.math.is_finite(g))) for g in present)


class AllFiniteTest(tf.test.TestCase):
    def _check(self, grads):
        expected = _reference(grads)
        self.assertEqual(bool(_all_finite(grads)), expected)
        # Inside a compiled function too (graph optimizations must not fold g * 0 away),
        # and in the form used under XLA.
        self.assertEqual(bool(tf.function(_all_finite)(grads)), expected)
        xla = tf.function(lambda g: _all_finite(g, jit_compile=True), jit_compile=True)
        self.assertEqual(bool(xla(grads)), expected)

    def test_finite_gradients_of_any_size_are_finite(self):
        big = np.finfo(np.float32).max
        self._check([tf.constant([[big, big], [big, -big]]), tf.constant([big] * 1000)])
        self._check([tf.constant([1e-45, -0.0, 0.0])])

    def test_each_non_finite_value_is_caught_in_any_gradient(self):
        for bad in (np.nan, np.inf, -np.inf):
            for position in range(3):
                grads = [tf.ones([4, 3]), tf.ones([3]), tf.ones([2, 2, 2])]
                values = grads[position].numpy()
                values.flat[-1] = bad
                grads[position] = tf.constant(values)
                self._check(grads)
                self.assertFalse(bool(_all_finite(grads)))

    def test_none_gradients_are_ignored(self):
        self._check([None, tf.ones([2])])
        self.assertTrue(bool(_all_finite([None, None])))

    def test_sparse_gradients_check_their_rows(self):
        finite = tf.IndexedSlices(tf.ones([2, 3]), tf.constant([0, 4]), tf.constant([10, 3]))
        poisoned = tf.IndexedSlices(
            tf.constant([[1.0, np.nan, 1.0]]), tf.constant([7]), tf.constant([10, 3])
        )
        self._check([finite])
        self._check([finite, poisoned])
        self.assertFalse(bool(_all_finite([finite, poisoned])))

    def test_half_precision_gradients(self):
        self._check([tf.constant([1.0, 65504.0], tf.float16)])
        self._check([tf.constant([1.0, np.inf], tf.float16), tf.ones([2])])
        self._check([tf.constant([1.0, 2.0], tf.bfloat16)])
