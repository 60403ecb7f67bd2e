"""TFA's tests of GeometricMean and HarmonicMean
(tensorflow_addons/metrics/tests/geometric_mean_test.py and
harmonic_mean_test.py, and the doctests of metrics/geometric_mean.py and
harmonic_mean.py), ported to tfx_ext. TFA's parametrized cases are subtests."""

import numpy as np
import tensorflow as tf

from tfx_ext.metrics import GeometricMean, HarmonicMean

GMEAN_DATA = [
    ([0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 0),
    ([0, 0, 0, 0, 0, 0, 0, 1, 2, 6], 0),
    ([0.2, 0.5, 0.3, 0.6, 0.1, 0.7], 0.32864603),
    ([8, 4, 1, 7, 2, 11, 9, 22, 52], 7.1804023),
    ([8.2, 9.7, 9.1, 2.7, 1.1, 2.0], 4.0324492),
    ([0.6666666, 0.215213, 0.15167], 0.27918512),
]
HMEAN_DATA = [
    ([np.inf] * 2, 0),
    ([0, 0, 0, 0], 0),
    ([1, 4, 4], 2.0),
    ([0, 0, 0, 0, 0, 0, 0, 1, 2, 6], 0),
    ([0.2, 0.5, 0.3, 0.6, 0.1, 0.7], 0.25609756),
    ([8, 4, 1, 7, 2, 11, 9, 22, 52], 3.9394846),
    ([8.2, 9.7, 9.1, 2.7, 1.1, 2.0], 2.8376906),
    ([0.6666666, 0.215213, 0.15167], 0.23548213),
]
GMEAN_WEIGHTED = [
    ([1, 2, 3, 4, 5], 1, 2.6051712),
    ([2.1, 4.6, 7.1], [1, 2, 3], 5.014777),
    ([9.6, 1.8, 8.2], [0.2, 0.5, 0.3], 3.9649222),
]
HMEAN_WEIGHTED = [
    ([1, 2, 3, 4, 5], 1, 2.1897807),
    ([2.1, 4.6, 7.1], [1, 2, 3], 4.499409),
    ([9.6, 1.8, 8.2], [0.2, 0.5, 0.3], 2.9833248),
]


def assert_result(expected, result):
    np.testing.assert_allclose(expected, np.asarray(result), atol=1e-6)


def check_result(obj, expected_result, expected_count):
    assert_result(expected_result, obj.result())
    np.testing.assert_equal(expected_count, np.asarray(obj.count))


class TFAGeometricMeanTest(tf.test.TestCase):
    def test_config_gmean(self):
        def _check_config(obj, name):
            self.assertEqual(obj.name, name)
            self.assertEqual(obj.dtype, "float32")
            # TFA also checked `obj.stateful`, a tf_keras attribute Keras 3 metrics lack.
            self.assertLen(obj.variables, 2)

        obj1 = GeometricMean(name="my_gmean")
        _check_config(obj1, "my_gmean")
        _check_config(GeometricMean.from_config(obj1.get_config()), "my_gmean")

    def test_init_states_gmean(self):
        obj = GeometricMean()
        self.assertEqual(float(obj.total), 0.0)
        self.assertEqual(float(obj.count), 0.0)
        self.assertEqual((obj.total.dtype, obj.count.dtype), ("float32", "float32"))

    def test_scalar_update_state_gmean(self):
        for values, expected in GMEAN_DATA:
            with self.subTest(values=values):
                obj = GeometricMean()
                for v in tf.constant(values, tf.float32):
                    obj.update_state(v)
                check_result(obj, expected, len(values))

    def test_vector_update_state_gmean(self):
        for values, expected in GMEAN_DATA:
            with self.subTest(values=values):
                obj = GeometricMean()
                obj.update_state(tf.constant(values, tf.float32))
                check_result(obj, expected, len(values))

    def test_call_gmean(self):
        for values, expected in GMEAN_DATA:
            with self.subTest(values=values):
                obj = GeometricMean()
                assert_result(expected, obj(tf.constant(values, tf.float32)))
                np.testing.assert_equal(len(values), np.asarray(obj.count))

    def test_reset_state(self):
        obj = GeometricMean()
        obj.update_state([1, 2, 3, 4, 5])
        obj.reset_state()
        self.assertEqual(float(obj.total), 0.0)
        self.assertEqual(float(obj.count), 0.0)

    def test_sample_weight_gmean(self):
        for values, sample_weight, expected in GMEAN_WEIGHTED:
            with self.subTest(values=values):
                obj = GeometricMean()
                obj.update_state(values, sample_weight=sample_weight)
                assert_result(expected, obj.result())

    def test_doctest(self):
        metric = GeometricMean()
        metric.update_state([1, 3, 5, 7, 9])
        np.testing.assert_allclose(metric.result(), 3.9362833, rtol=1e-6)


class TFAHarmonicMeanTest(tf.test.TestCase):
    def test_vector_update_state_hmean(self):
        for values, expected in HMEAN_DATA:
            with self.subTest(values=values):
                obj = HarmonicMean()
                obj.update_state(tf.constant(values, tf.float32))
                check_result(obj, expected, len(values))

    def test_call_hmean(self):
        for values, expected in HMEAN_DATA:
            with self.subTest(values=values):
                obj = HarmonicMean()
                assert_result(expected, obj(tf.constant(values, tf.float32)))
                np.testing.assert_equal(len(values), np.asarray(obj.count))

    def test_sample_weight_hmean(self):
        for values, sample_weight, expected in HMEAN_WEIGHTED:
            with self.subTest(values=values):
                obj = HarmonicMean()
                obj.update_state(values, sample_weight=sample_weight)
                assert_result(expected, obj.result())

    def test_doctest(self):
        metric = HarmonicMean()
        metric.update_state([1, 4, 4])
        np.testing.assert_allclose(metric.result(), 2.0)
