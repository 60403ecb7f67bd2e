"""Weighted kappa loss for ordinal classes (de la Torre, Puig & Valls, 2018).

Replaces `tfa.losses.WeightedKappaLoss` (same arguments, defaults and
results). Keras 3 core has no kappa loss; `tfx_ext.metrics.CohenKappa` is the
matching metric.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_int, check_number, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class WeightedKappaLoss(keras.losses.Loss):
    """`log(1 - kappa + epsilon)`, a differentiable weighted kappa over the batch.

    `kappa` is Cohen's weighted kappa computed on predicted probabilities
    instead of counts; the loss lies in `[-inf, log 2]`, `log 2` being a random
    prediction. It is one value for the batch: weight examples by scaling
    their `y_pred` rows, as TFA advised.

    Args:
        num_classes: Number of ordinal classes, an integer >= 1.
        weightage: `"quadratic"` (default) or `"linear"` disagreement weights.
        name: Optional name for the loss instance. Defaults to `"cohen_kappa_loss"`.
        epsilon: Added before the log, a float > 0 (`None` or 0 mean
            `keras.backend.epsilon()`, as TFA). Defaults to `1e-6`.
        reduction: Type of reduction. Defaults to `None` (the loss is already
            one value).
        dtype: The dtype of the loss's computations.

    Call arguments:
        y_true: One-hot rows, shape `(batch, num_classes)`.
        y_pred: Probabilities (softmax outputs), same shape.

    Example:

    >>> WeightedKappaLoss(num_classes=4)(
    ...     [[0, 0, 1, 0], [0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]],
    ...     [[0.1, 0.2, 0.6, 0.1], [0.1, 0.5, 0.3, 0.1], [0.8, 0.05, 0.05, 0.1], [0.01, 0.09, 0.1, 0.8]])
    -1.1611925
    """

    def __init__(
        self,
        num_classes,
        weightage="quadratic",
        name="cohen_kappa_loss",
        epsilon=1e-6,
        reduction=None,
        dtype=None,
    ):
        super().__init__(name=name, reduction=reduction, dtype=dtype)
        self.num_classes = check_int("num_classes", num_classes, minimum=1)
        self.weightage = check_choice("weightage", weightage, ("linear", "quadratic"))
        if epsilon is not None:
            epsilon = check_number("epsilon", epsilon, low=0.0)
        self.epsilon = epsilon or keras.backend.epsilon()

    def _disagreement(self, gap):
        return ops.abs(gap) if self.weightage == "linear" else ops.square(gap)

    def call(self, y_true, y_pred):
        y_pred = ops.convert_to_tensor(y_pred)
        dtype = y_pred.dtype if "float" in str(y_pred.dtype) else keras.backend.floatx()
        y_pred = ops.cast(y_pred, dtype)
        y_true = ops.cast(ops.convert_to_tensor(y_true), dtype)
        for argument, value in (("y_true", y_true), ("y_pred", y_pred)):
            if len(value.shape) != 2 or value.shape[-1] not in (None, self.num_classes):
                raise invalid(
                    argument,
                    f"rows of num_classes={self.num_classes} values, shape (batch, {self.num_classes})",
                    owner="WeightedKappaLoss",
                    received=f"{argument}.shape={tuple(value.shape)}",
                )
        classes = ops.arange(self.num_classes, dtype=dtype)
        true_class = ops.sum(y_true * classes, axis=1, keepdims=True)  # [batch, 1]
        numerator = ops.sum(self._disagreement(true_class - classes[None, :]) * y_pred)
        weights = self._disagreement(classes[:, None] - classes[None, :])
        label_dist = ops.sum(y_true, axis=0)
        pred_dist = ops.sum(y_pred, axis=0)
        denominator = ops.sum(label_dist[:, None] * weights * pred_dist[None, :])
        denominator = denominator / ops.cast(ops.shape(y_true)[0], dtype)
        safe = ops.where(ops.equal(denominator, 0.0), ops.ones_like(denominator), denominator)
        ratio = ops.where(ops.equal(denominator, 0.0), ops.zeros_like(numerator), numerator / safe)
        return ops.log(ratio + self.epsilon)

    def get_config(self):
        return {
            **super().get_config(),
            "dtype": self.dtype,
            "num_classes": self.num_classes,
            "weightage": self.weightage,
            "epsilon": self.epsilon,
        }
