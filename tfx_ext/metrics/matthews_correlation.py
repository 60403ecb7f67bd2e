"""Matthews correlation coefficient.

Replaces `tfa.metrics.MatthewsCorrelationCoefficient` (same arguments and
default name), for binary and multiclass problems. Keras 3 core has no MCC.
"""

import keras
from keras import ops

from tfx_ext.metrics.confusion_matrix import ConfusionMatrixMetric


@keras.saving.register_keras_serializable(package="tfx_ext")
class MatthewsCorrelationCoefficient(ConfusionMatrixMetric):
    """Matthews correlation coefficient (Gorodkin's multiclass form).

    A correlation in `[-1, 1]` between true and predicted classes that stays
    informative on imbalanced data; equal to `sklearn.metrics.matthews_corrcoef`.
    It is 0 when undefined (a single true or predicted class).

    Args:
        num_classes: Number of classes, an integer >= 1. `1` is TFA's binary
            form: one probability (or 0/1 label) per example, thresholded.
        name: Name of the metric instance. Defaults to
            `"MatthewsCorrelationCoefficient"` (TFA's).
        dtype: Dtype of the result.
        threshold: With `num_classes=1` (or one probability per example), the
            probability above which the class is 1. Defaults to `0.5`.

    Inputs take the same forms as `CohenKappa`'s: class ids, one-hot rows, or
    score rows of size `num_classes` (read through their argmax); a class id
    outside `[0, num_classes)` is an error, in `fit` too.

    Example:

    >>> model.compile(loss="binary_crossentropy",
    ...               metrics=[MatthewsCorrelationCoefficient(num_classes=1)])
    """

    def __init__(
        self, num_classes, name="MatthewsCorrelationCoefficient", dtype=None, threshold=0.5
    ):
        super().__init__(
            num_classes, threshold=threshold, name=name, dtype=dtype, minimum_classes=1
        )
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "up"

    def result(self):
        confusion = ops.convert_to_tensor(self.confusion)
        true_counts = ops.sum(confusion, axis=1)
        pred_counts = ops.sum(confusion, axis=0)
        total = ops.sum(confusion)
        correct = ops.trace(confusion)
        covariance = correct * total - ops.sum(true_counts * pred_counts)
        pred_variance = ops.square(total) - ops.sum(ops.square(pred_counts))
        true_variance = ops.square(total) - ops.sum(ops.square(true_counts))
        denominator = pred_variance * true_variance
        mcc = ops.where(
            denominator > 0,
            covariance / ops.sqrt(ops.where(denominator > 0, denominator, 1.0)),
            0.0,
        )
        return ops.cast(mcc, self.dtype)
