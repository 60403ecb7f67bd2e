import keras
import numpy as np
import tensorflow as tf

from tfx_ext.metrics import (
    BrierScore,
    CohenKappa,
    ExpectedCalibrationError,
    HammingLoss,
    HuberMetric,
    MatthewsCorrelationCoefficient,
)


class MetricDirectionTest(tf.test.TestCase):
    """EarlyStopping / ModelCheckpoint with mode="auto" must know which way is better."""

    def test_callbacks_infer_the_direction(self):
        keras.utils.set_random_seed(0)
        rng = np.random.default_rng(0)
        x = rng.standard_normal((64, 4)).astype("float32")
        y = rng.integers(0, 3, 64)
        cases = [
            (CohenKappa(3), keras.ops.greater),
            (MatthewsCorrelationCoefficient(3), keras.ops.greater),
            (HammingLoss("multiclass"), keras.ops.less),
            (ExpectedCalibrationError(), keras.ops.less),
            (BrierScore(), keras.ops.less),
            (HuberMetric(), keras.ops.less),
        ]
        for metric, better in cases:
            with self.subTest(metric=metric.name):
                model = keras.Sequential(
                    [keras.Input((4,)), keras.layers.Dense(3, activation="softmax")]
                )
                regression = isinstance(metric, HuberMetric)
                loss = "mse" if regression else "sparse_categorical_crossentropy"
                targets = np.eye(3)[y] if regression else y
                model.compile(optimizer="sgd", loss=loss, metrics=[metric])
                stopper = keras.callbacks.EarlyStopping(monitor=f"val_{metric.name}", patience=5)
                model.fit(
                    x, targets, validation_split=0.25, epochs=1, verbose=0, callbacks=[stopper]
                )
                self.assertIs(stopper.monitor_op, better)
