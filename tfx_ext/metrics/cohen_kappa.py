"""Cohen's kappa.

Replaces `tfa.metrics.CohenKappa` (same arguments, `sparse_labels` and
`regression` included, and the same results); Keras 3 core has no agreement
metric.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_choice, invalid_prefix
from tfx_ext.metrics.confusion_matrix import ConfusionMatrixMetric, to_class_ids


def _one_per_example(values, argument, expected):
    """`values` as a tensor; refused when its last axis holds more than one value per example."""
    values = ops.convert_to_tensor(values)
    if len(values.shape) >= 2 and values.shape[-1] not in (None, 1):
        raise ValueError(
            f"{invalid_prefix(argument, 'CohenKappa')} {expected} "
            f"Received: {argument}.shape={tuple(values.shape)}"
        )
    return values


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
        name: Name of the metric instance. Defaults to `"cohen_kappa"`.
        weightage: `None` (unweighted), `"linear"` or `"quadratic"`.
        sparse_labels: Whether `y_true` holds class ids (`True`) rather than
            one-hot rows. Defaults to `False`, which also accepts class ids of
            shape `(batch,)` or `(batch, 1)`: only rows of `num_classes`
            values are read as one-hot.
        regression: Whether `y_pred` is a regressed score, one unit per
            example: it is rounded to the nearest class id (`abs` first, as
            TFA) and clipped to `[0, num_classes - 1]`. Defaults to `False`.
        dtype: Dtype of the result.
        threshold: For binary problems given as one probability per example,
            the probability above which the class is 1. Defaults to `0.5`.

    Labels and predictions may be class ids, one-hot rows or score rows of
    size `num_classes` (their argmax is the class). Class ids outside
    `[0, num_classes)` raise an error, in `fit` too.

    Example:

    >>> m = CohenKappa(num_classes=5, sparse_labels=True)
    >>> m.update_state([4, 4, 3, 4, 2, 4, 1, 1], [4, 4, 3, 4, 4, 2, 1, 1])
    >>> round(float(m.result()), 4)
    0.619
    """

    def __init__(
        self,
        num_classes,
        name="cohen_kappa",
        weightage=None,
        sparse_labels=False,
        regression=False,
        dtype=None,
        threshold=0.5,
    ):
        super().__init__(num_classes, threshold=threshold, name=name, dtype=dtype)
        # Lets EarlyStopping / ModelCheckpoint with mode="auto" know which way is better.
        self._direction = "up"
        self.weightage = check_choice("weightage", weightage, (None, "linear", "quadratic"))
        for argument, value in (("sparse_labels", sparse_labels), ("regression", regression)):
            check_bool(argument, value)
        self.sparse_labels = sparse_labels
        self.regression = regression

    def true_class_ids(self, y_true):
        if self.sparse_labels:
            y_true = _one_per_example(
                y_true,
                "y_true",
                "With sparse_labels=True, expected class ids of shape (batch,) or (batch, 1).",
            )
            if "float" in str(y_true.dtype):
                y_true = ops.round(y_true)
            return ops.reshape(ops.cast(y_true, "int32"), (-1,))
        return super().true_class_ids(y_true)

    def predicted_class_ids(self, y_pred):
        if self.regression and self.num_classes > 2:
            y_pred = _one_per_example(
                y_pred, "y_pred", "With regression=True, expected one regressed value per example."
            )
            ids = ops.clip(ops.round(ops.abs(ops.cast(y_pred, "float32"))), 0, self.num_classes - 1)
            return ops.reshape(ops.cast(ids, "int32"), (-1,))
        return to_class_ids(y_pred, self.num_classes, self.threshold)

    def result(self):
        observed = ops.convert_to_tensor(self.confusion)
        total = ops.sum(observed)
        expected = ops.outer(ops.sum(observed, axis=1), ops.sum(observed, axis=0)) / ops.maximum(
            total, 1.0
        )
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
        return {
            **super().get_config(),
            "weightage": self.weightage,
            "sparse_labels": self.sparse_labels,
            "regression": self.regression,
        }
