"""TFA's tests of MultiLabelConfusionMatrix
(tensorflow_addons/metrics/tests/multilabel_confusion_matrix_test.py, and the
doctests of metrics/multilabel_confusion_matrix.py), ported to tfx_ext. TFA's
dtype parametrization is a loop of subtests."""

import numpy as np
import tensorflow as tf

from tfx_ext.metrics import MultiLabelConfusionMatrix

DTYPES = ("int32", "int64", "float32", "float64")


def check_results(obj, value):
    np.testing.assert_allclose(value, np.asarray(obj.result()), atol=1e-6)


class TFAMultiLabelConfusionMatrixTest(tf.test.TestCase):
    def test_config(self):
        mcm_obj = MultiLabelConfusionMatrix(num_classes=3)
        self.assertEqual(mcm_obj.num_classes, 3)
        self.assertEqual(mcm_obj.dtype, "float32")
        mcm_obj2 = MultiLabelConfusionMatrix.from_config(mcm_obj.get_config())
        self.assertEqual(mcm_obj2.num_classes, 3)
        self.assertEqual(mcm_obj2.dtype, "float32")

    def test_mcm_3_classes(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                actuals = tf.constant([[1, 0, 1], [0, 1, 0], [1, 0, 1], [0, 1, 0]], dtype=dtype)
                preds = tf.constant([[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 1, 1]], dtype=dtype)
                mcm_obj = MultiLabelConfusionMatrix(num_classes=3, dtype=dtype)
                mcm_obj.update_state(actuals, preds)
                check_results(mcm_obj, [[[2, 0], [0, 2]], [[2, 0], [0, 2]], [[0, 2], [2, 0]]])

    def test_mcm_4_classes(self):
        actuals = [
            [1, 0, 0, 1],
            [0, 0, 1, 1],
            [1, 0, 0, 1],
            [1, 1, 0, 0],
            [0, 1, 0, 1],
            [1, 0, 0, 1],
            [0, 0, 1, 1],
            [1, 0, 0, 1],
            [0, 1, 1, 0],
            [0, 1, 0, 1],
        ]
        preds = [
            [1, 0, 1, 0],
            [0, 0, 1, 1],
            [0, 0, 0, 1],
            [1, 1, 0, 0],
            [1, 0, 0, 0],
            [1, 0, 0, 1],
            [0, 0, 1, 1],
            [1, 0, 0, 1],
            [0, 1, 0, 0],
            [0, 0, 0, 1],
        ]
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                mcm_obj = MultiLabelConfusionMatrix(num_classes=4, dtype=dtype)
                mcm_obj.update_state(
                    tf.constant(actuals, dtype=dtype), tf.constant(preds, dtype=dtype)
                )
                check_results(
                    mcm_obj,
                    [[[4, 1], [1, 4]], [[6, 0], [2, 2]], [[6, 1], [1, 2]], [[2, 0], [2, 6]]],
                )

    def test_multiclass(self):
        actuals = [
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
            [0, 1, 0, 0],
            [0, 1, 0, 0],
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
        ]
        preds = [
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [0, 0, 0, 1],
            [1, 0, 0, 0],
            [1, 0, 0, 0],
            [1, 0, 0, 0],
            [0, 0, 1, 0],
            [1, 0, 0, 0],
            [0, 1, 0, 0],
            [0, 0, 0, 1],
        ]
        for dtype in DTYPES:
            with self.subTest(dtype=dtype):
                mcm_obj = MultiLabelConfusionMatrix(num_classes=4, dtype=dtype)
                mcm_obj.update_state(
                    tf.constant(actuals, dtype=dtype), tf.constant(preds, dtype=dtype)
                )
                check_results(
                    mcm_obj,
                    [[[5, 2], [0, 3]], [[7, 1], [2, 0]], [[7, 0], [1, 2]], [[8, 0], [0, 2]]],
                )

    def test_doctests(self):
        metric = MultiLabelConfusionMatrix(num_classes=3)
        metric.update_state(
            np.array([[1, 0, 1], [0, 1, 0]], np.int32), np.array([[1, 0, 0], [0, 1, 1]], np.int32)
        )
        np.testing.assert_allclose(
            metric.result(), [[[1, 0], [0, 1]], [[1, 0], [0, 1]], [[0, 1], [1, 0]]]
        )
        metric = MultiLabelConfusionMatrix(num_classes=3)
        metric.update_state(
            np.array([[1, 0, 0], [0, 1, 0]], np.int32), np.array([[1, 0, 0], [0, 0, 1]], np.int32)
        )
        np.testing.assert_allclose(
            metric.result(), [[[1, 0], [0, 1]], [[1, 0], [1, 0]], [[1, 1], [0, 0]]]
        )
