"""Conditional Gradient (Frank-Wolfe), with TFA's arguments and trajectories.

Keras 3 has no conditional-gradient optimizer.
`tfa.optimizers.ConditionalGradient` → `tfx_ext.optimizers.ConditionalGradient`
(same arguments, `learning_rate` required as in TFA).
"""

import numbers

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_number, invalid
from tfx_ext.optimizers.sparse_gradients import densify, only_touched
from tfx_ext.optimizers.tfa_arguments import learning_rate_argument

_LAMBDA = "a number >= 0, a scalar tensor, or a callable returning one"


def _constraint(value):
    if callable(value) and not isinstance(value, keras.optimizers.schedules.LearningRateSchedule):
        return value
    if getattr(value, "shape", None) == () and hasattr(value, "dtype"):
        value = float(keras.ops.convert_to_numpy(value))  # TFA took a tensor
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise invalid("lambda_", _LAMBDA, value, TypeError)
    if not value >= 0:
        raise invalid("lambda_", _LAMBDA, value)
    return float(value)


def top_singular_vector(matrix):
    """`u₁ v₁ᵀ` of the top singular pair of `matrix` (rank 0 and 1 as a 1-row matrix)."""
    shape = ops.shape(matrix)
    rows = ops.reshape(matrix, (1, -1)) if len(shape) < 2 else matrix
    u, _, vh = ops.svd(rows, full_matrices=False)
    top = ops.outer(u[:, 0], vh[0, :])
    return ops.reshape(top, shape)


@keras.saving.register_keras_serializable(package="tfx_ext")
class ConditionalGradient(keras.optimizers.Optimizer):
    """Frank-Wolfe steps toward the ball of a norm constraint.

    Pokutta et al. / Lacoste-Julien et al.; TFA's update
    (https://arxiv.org/abs/1803.06453):
    `w = lr * w - (1 - lr) * lambda_ * s`, with `s = g / (||g||_F + epsilon)`
    for `ord="fro"` and `s` the top singular vector pair `u₁ v₁ᵀ` of the
    gradient for `ord="nuclear"` (scalars and vectors as one-row matrices).
    A sparse gradient moves only the rows it touches, with `s` computed on
    those rows.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable
            (required, as in TFA).
        lambda_: The constraint radius: a number >= 0 or a callable
            returning one. Defaults to `0.01`.
        epsilon: Guard against a zero gradient norm (`0` means
            `keras.backend.epsilon()`, as in TFA). Defaults to `1e-7`.
        ord: `"fro"` (Frobenius) or `"nuclear"`.
        name: Name of the optimizer. Defaults to `"ConditionalGradient"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `use_ema`, ...); TFA's `lr=` alias too.

    Example:

    >>> model.compile(optimizer=ConditionalGradient(0.99, lambda_=0.1), loss="mse")
    """

    def __init__(
        self,
        learning_rate,
        lambda_=0.01,
        epsilon=1e-7,
        ord="fro",
        name="ConditionalGradient",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        super().__init__(learning_rate=learning_rate, name=name, **kwargs)
        self.lambda_ = _constraint(lambda_)
        epsilon = check_number("epsilon", 0.0 if epsilon is None else epsilon, low=0.0)
        self.epsilon = epsilon or keras.backend.epsilon()
        self.ord = check_choice("ord", ord, ("fro", "nuclear"))

    def _lambda_value(self):
        return self.lambda_() if callable(self.lambda_) else self.lambda_

    def update_step(self, gradient, variable, learning_rate):
        dtype = variable.dtype
        grad, touched = densify(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        lambda_ = ops.cast(self._lambda_value(), dtype)
        if self.ord == "fro":
            norm = ops.sqrt(ops.sum(ops.square(grad)))  # a sparse gradient's zero rows add nothing
            s = grad / (norm + ops.cast(self.epsilon, dtype))
        else:
            # Zero rows of a densified sparse gradient get zero rows in u₁,
            # so the touched rows get the slice's own singular pair.
            s = top_singular_vector(grad)
        new_value = variable * lr - (1.0 - lr) * lambda_ * s
        self.assign(variable, only_touched(touched, new_value, variable))

    def get_config(self):
        config = super().get_config()
        lambda_ = self._lambda_value()  # TFA serialized a callable by its value
        config.update(
            {
                "lambda_": float(keras.ops.convert_to_numpy(lambda_)),
                "epsilon": self.epsilon,
                "ord": self.ord,
            }
        )
        return config
