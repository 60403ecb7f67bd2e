"""Cohen's kappa.

Replaces `tfa.metrics.CohenKappa`; Keras 3 core has no agreement metric.
"""

import keras
from keras import ops

from tfx_ext.arguments import check_choice
from tfx_ext.metrics.confusion_matrix import ConfusionMatrixMetric


@keras.saving.register_keras_serializable(package="tfx_ext")
class CohenKappa(ConfusionMatrixMetric):
    """Cohen's kappa: agreement between labels and predictions beyond chance.

    `kappa = 1 - sum(W * O) / sum(W * E)` over the confusion matrix `O`,
    the matrix `E` expected from its marginals, and disagreement weights `W`
    (as `sklearn.metrics.cohen_kappa_score`). Weighted kappa (linear or
    quadratic) is the usual metric for ordinal classes. Kappa is 0 when it is
    undefined (all examples in one class).

    Args:
        num_classes: Number of classes, an integer >= 2.
        weightage: `None` (unweighted), `"linear"` or `"quadratic"`.
        threshold: For binary problems given as one probability per example,
            the probability above which the class is 1. Defaults to `0.5`.
        name: Name of the metric instance.
        dtype: Dtype of the result.

    Labels and predictions may be class ids, one-hot rows or score rows of
    size `num_classes` (their argmax is the class).

    Example:

    >>> m = CohenKappa(num_classes=5, weightage="quadratic")
    >>> m.update_state([0, 1, 4, 2], [0, 2, 4, 2])
    >>> round(float(m.result()), 4)
    0.9412
    """

    def __init__(self, num_classes, weightage=None, threshold=0.5, name="cohen_kappa", dtype=None):
        super().__init__(num_classes, threshold=threshold, name=name, dtype=dtype)
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "up"
        self.weightage = check_choice("weightage", weightage, (None, "linear", "quadratic"))

    def result(self):
        observed = self.confusion
        total = ops.sum(observed)
        expected = ops.outer(ops.sum(observed, axis=1), ops.sum(observed, axis=0)) / ops.maximum(total, 1.0)
        classes = ops.arange(self.num_classes, dtype="float64")
        gap = ops.abs(classes[:, None] - classes[None, :])
        if self.weightage is None:
            weights = ops.cast(gap > 0, "float64")
        elif self.weightage == "linear":
            weights = gap
        else:
            weights = ops.square(gap)
        chance = ops.sum(weights * expected)
        disagreement = ops.sum(weights * observed)
        kappa = ops.where(chance > 0, 1.0 - disagreement / ops.where(chance > 0, chance, 1.0), 0.0)
        return ops.cast(kappa, self.dtype)

    def get_config(self):
        return {**super().get_config(), "weightage": self.weightage}
