"""KL-divergence sparsity regularizer for sparse autoencoders (HOML ch. 17).

Keras 3 core has l1/l2/orthogonal regularizers only; TensorFlow Addons had
none of this kind.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_number


@keras.saving.register_keras_serializable(package="tfx_ext")
class KLDivergenceRegularizer(keras.regularizers.Regularizer):
    """Pushes each unit's mean activation towards a target sparsity.

    Used as the `activity_regularizer` of a coding layer with sigmoid
    activations: with `p` the target and `q_j` unit `j`'s mean activation over
    the batch, the penalty is

        weight * sum_j [p log(p / q_j) + (1 - p) log((1 - p) / (1 - q_j))]

    (the KL divergence between Bernoulli(p) and Bernoulli(q_j), summed over
    units). `q_j` is clipped to `[epsilon, 1 - epsilon]` (Keras's fuzz
    factor) so a dead or saturated unit gives a large finite penalty.

    Args:
        weight: Factor of the penalty, a number >= 0 (the book: 0.05).
        target: Target mean activation, a number in (0, 1) (the book: 0.1).

    Example:

    >>> codings = keras.layers.Dense(
    ...     300, activation="sigmoid",
    ...     activity_regularizer=KLDivergenceRegularizer(weight=0.05, target=0.1))
    """

    def __init__(self, weight, target=0.1):
        self.weight = check_number("weight", weight, 0.0)
        self.target = check_number("target", target, 0.0, 1.0, low_open=True, high_open=True)

    def __call__(self, x):
        epsilon = keras.config.epsilon()
        x = ops.convert_to_tensor(x)
        q = ops.clip(ops.mean(x, axis=0), epsilon, 1.0 - epsilon)
        p = ops.cast(self.target, q.dtype)
        kl = p * ops.log(p / q) + (1.0 - p) * ops.log((1.0 - p) / (1.0 - q))
        return self.weight * ops.sum(kl)

    def get_config(self):
        return {"weight": self.weight, "target": self.target}
