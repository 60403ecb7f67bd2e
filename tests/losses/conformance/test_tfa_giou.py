"""TFA's tests of GIoULoss and giou_loss (tensorflow_addons/losses/tests/giou_loss_test.py,
and the doctest of losses/giou_loss.py), ported to tfx_ext. TFA's dtype
parametrization is a loop of subtests; Keras 3 spells the reductions None and
"sum_over_batch_size". TFA's Keras-model test evaluated an empty
`Sequential`, which Keras 3 cannot build: here it is an identity model."""

import keras
import numpy as np
import tensorflow as tf

from tests.losses.conformance.tfa_tolerance import assert_allclose_according_to_type
from tfx_ext.losses import GIoULoss, giou_loss

DTYPES = (np.float16, np.float32, np.float64)
BOXES1 = [[4.0, 3.0, 7.0, 5.0], [5.0, 6.0, 10.0, 7.0]]
BOXES2 = [[3.0, 4.0, 6.0, 8.0], [14.0, 14.0, 15.0, 15.0]]


class TFAGIoUTest(tf.test.TestCase):
    def test_config(self):
        gl_obj = GIoULoss(reduction=None, name="giou_loss")
        self.assertEqual(gl_obj.name, "giou_loss")
        self.assertIsNone(gl_obj.reduction)

    def test_iou(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype.__name__):
                loss = giou_loss(
                    tf.constant(BOXES1, dtype=dtype), tf.constant(BOXES2, dtype=dtype), mode="iou"
                )
                assert_allclose_according_to_type(loss, tf.constant([0.875, 1.0], dtype=dtype))

    def test_giou_loss(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype.__name__):
                loss = giou_loss(tf.constant(BOXES1, dtype=dtype), tf.constant(BOXES2, dtype=dtype))
                assert_allclose_according_to_type(
                    loss, tf.constant([1.07500000298023224, 1.9333333373069763], dtype=dtype)
                )

    def test_different_shapes(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype.__name__):
                expand_boxes1 = tf.expand_dims(tf.constant(BOXES1, dtype=dtype), -2)
                expand_boxes2 = tf.expand_dims(tf.constant([[3.0, 4.0, 6.0, 8.0]], dtype=dtype), 0)
                loss = giou_loss(expand_boxes1, expand_boxes2)
                assert_allclose_according_to_type(
                    loss, tf.constant([1.07500000298023224, 1.366071], dtype=dtype)
                )

    def test_one_bbox(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype.__name__):
                loss = giou_loss(
                    tf.constant([4.0, 3.0, 7.0, 5.0], dtype=dtype),
                    tf.constant([3.0, 4.0, 6.0, 8.0], dtype=dtype),
                )
                assert_allclose_according_to_type(
                    loss, tf.constant(1.07500000298023224, dtype=dtype)
                )

    def test_keras_model(self):
        for dtype in DTYPES:
            with self.subTest(dtype=dtype.__name__):
                model = keras.Sequential(
                    [
                        keras.Input((4,), dtype=dtype.__name__),
                        keras.layers.Identity(dtype=dtype.__name__),
                    ]
                )
                model.compile(
                    optimizer="adam",
                    loss=GIoULoss(reduction="sum_over_batch_size"),
                    jit_compile=False,
                )
                loss = model.evaluate(
                    np.array(BOXES1, dtype),
                    np.array(BOXES2, dtype),
                    batch_size=2,
                    steps=1,
                    verbose=0,
                )
                # The loss object computes in float32 (Keras 3); the inputs' precision sets the tolerance.
                assert_allclose_according_to_type(
                    np.float32(loss), np.float32(1.5041667222976685), input_dtype=dtype
                )

    def test_with_integer(self):
        boxes1 = tf.constant([[4, 3, 7, 5], [5, 6, 10, 7]], dtype=tf.int32)
        boxes2 = tf.constant([[3, 4, 6, 8], [14, 14, 15, 15]], dtype=tf.int32)
        loss = giou_loss(boxes1, boxes2)
        assert_allclose_according_to_type(
            loss, tf.constant([1.07500000298023224, 1.9333333373069763], dtype=tf.float32)
        )

    def test_doctest(self):
        loss = GIoULoss()(tf.constant(BOXES1), tf.constant(BOXES2))
        np.testing.assert_allclose(loss, 1.5041667, rtol=1e-6)
