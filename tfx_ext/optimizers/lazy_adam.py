"""LazyAdam: Adam that updates only the embedding rows a batch touches.

Keras 3 has no LazyAdam. `tfa.optimizers.LazyAdam` → `tfx_ext.optimizers.LazyAdam`
(same arguments). On TensorFlow, an `Embedding` lookup's gradient reaches the
optimizer as `tf.IndexedSlices`: LazyAdam gathers the moments of those rows,
updates them and scatters them back, so a step costs O(rows touched) where
Keras's `Adam` rewrites the whole table. Dense gradients (and every gradient on
JAX and torch, which have no sparse gradients) get Keras's Adam step: there
LazyAdam *is* Adam.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.optimizers.sparse_gradients import (
    gather_rows,
    is_sparse,
    row_update,
    unique_rows,
)
from tfx_ext.optimizers.tfa_arguments import learning_rate_argument


@keras.saving.register_keras_serializable(package="tfx_ext")
class LazyAdam(keras.optimizers.Adam):
    """Adam whose moments move only on the rows a sparse gradient touches.

    Adam decays both moment estimates of every row at every step; LazyAdam
    leaves the rows a sparse gradient does not name untouched (moments and
    weights), which is much faster for large embedding tables and gives
    slightly different results than Adam (TFA's semantics). Repeated
    indices are summed first.

    Args:
        learning_rate: A float, a `LearningRateSchedule`, or a callable.
            Defaults to `0.001`.
        beta_1: Decay rate of the first-moment estimates. Defaults to `0.9`.
        beta_2: Decay rate of the second-moment estimates. Defaults to `0.999`.
        epsilon: Adam's "epsilon hat". Defaults to `1e-7`.
        name: Name of the optimizer. Defaults to `"LazyAdam"`.
        **kwargs: The Keras base optimizer's arguments (`clipnorm`,
            `weight_decay`, `use_ema`, ...); TFA's `lr=` alias too, and
            `amsgrad=False` (as in TFA, AMSGrad is not supported).

    Example:

    >>> model.compile(optimizer=LazyAdam(1e-3), loss="sparse_categorical_crossentropy")
    """

    def __init__(
        self,
        learning_rate=0.001,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        name="LazyAdam",
        **kwargs,
    ):
        learning_rate = learning_rate_argument(learning_rate, kwargs)
        # TFA's signature had `amsgrad=False`, and only False worked; Keras's
        # config of Adam carries it too.
        amsgrad = kwargs.pop("amsgrad", False)
        if amsgrad is not False:
            raise invalid("amsgrad", "False (LazyAdam does not support AMSGrad)", amsgrad)
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=False,
            name=name,
            **kwargs,
        )

    def update_step(self, gradient, variable, learning_rate):
        if not is_sparse(gradient):
            return super().update_step(gradient, variable, learning_rate)
        dtype = variable.dtype
        values, indices = unique_rows(gradient, dtype)
        lr = ops.cast(learning_rate, dtype)
        step = ops.cast(self.iterations + 1, dtype)
        beta_1 = ops.cast(self.beta_1, dtype)
        beta_2 = ops.cast(self.beta_2, dtype)
        alpha = lr * ops.sqrt(1.0 - ops.power(beta_2, step)) / (1.0 - ops.power(beta_1, step))

        index = self._get_variable_index(variable)
        m, v = self._momentums[index], self._velocities[index]
        m_rows = beta_1 * gather_rows(m, indices) + (1.0 - beta_1) * values
        v_rows = beta_2 * gather_rows(v, indices) + (1.0 - beta_2) * ops.square(values)
        self.assign(m, row_update(m_rows, indices, m))
        self.assign(v, row_update(v_rows, indices, v))
        step_rows = alpha * m_rows / (ops.sqrt(v_rows) + ops.cast(self.epsilon, dtype))
        self.assign_sub(variable, row_update(step_rows, indices, variable))
