"""The base of optimizers that wrap another one (`Lookahead`, `SWA`).

Follows Keras's own wrapper, `keras.optimizers.LossScaleOptimizer`: the
wrapped optimizer applies the gradients with everything it was configured
with (clipping, weight decay, EMA, gradient accumulation, its schedule and
its iteration counter), then the wrapper does its per-variable work. That work
runs through the backend's `_backend_update_step`, so on TensorFlow it goes
through `tf.distribute`'s cross-replica update like any optimizer step, and on
JAX it runs inside the base class's `stateless_apply` (which maps our
`variables`, the wrapped optimizer's included, and calls `apply`).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext._core.private_api import raw_iterations

_EXPECTED = (
    "a Keras optimizer or its name (not a MultiOptimizer or LossScaleOptimizer: "
    "wrap the optimizer of each part, or put the wrapper inside the LossScaleOptimizer)"
)


def wrapped_optimizer(optimizer):
    """Validates the optimizer to wrap; names become optimizers, as in TFA."""
    if isinstance(optimizer, str):
        try:
            optimizer = keras.optimizers.get(optimizer)
        except ValueError:
            raise invalid("optimizer", _EXPECTED, optimizer) from None
    if not isinstance(optimizer, keras.optimizers.Optimizer) or isinstance(
        optimizer, (keras.optimizers.MultiOptimizer, keras.optimizers.LossScaleOptimizer)
    ):
        raise invalid("optimizer", _EXPECTED, optimizer, TypeError)
    return optimizer


class OptimizerWrapper(keras.optimizers.Optimizer):
    """Applies `optimizer`'s step, then `update_step` on every updated variable.

    Subclasses create their per-variable state in `build_wrapper` and do their
    work in `update_step(gradient, variable, learning_rate)`, where
    `self.iterations` already counts the step just applied and
    `inner_step_applied()` tells whether it changed the weights. The learning
    rate, iterations, loss scale and `finalize_variable_values` are the
    wrapped optimizer's.

    Args:
        optimizer: The Keras optimizer (or its name) to wrap.
        name: Name of the wrapper.
    """

    def __init__(self, optimizer, name=None, **kwargs):
        if kwargs:
            names = ", ".join(f"`{key}`" for key in kwargs)
            raise ValueError(
                f"{type(self).__name__} does not take {names}: set "
                f"{'it' if len(kwargs) == 1 else 'them'} on the wrapped optimizer."
            )
        optimizer = wrapped_optimizer(optimizer)
        super().__init__(learning_rate=0.0, name=name)
        self.inner_optimizer = optimizer

    def build(self, var_list):
        if self.built:
            return
        if not self.inner_optimizer.built:
            self.inner_optimizer.build(var_list)
        super().build(var_list)
        self.build_wrapper(var_list)

    def build_wrapper(self, var_list):
        raise NotImplementedError

    @property
    def variables(self):
        return self._variables + self.inner_optimizer.variables

    def apply(self, grads, trainable_variables=None):
        if trainable_variables is None:
            if not self.built:
                raise ValueError(
                    "When passing `grads` without `variables`, the optimizer "
                    "must already be built on a list of variables. Call "
                    "`optimizer.build(trainable_variables)` first."
                )
            trainable_variables = self._trainable_variables
        trainable_variables = list(trainable_variables)
        if not self.built:
            with keras.name_scope(self.name, caller=self):
                self.build(trainable_variables)
        grads = list(grads)
        self.inner_optimizer.apply(grads, trainable_variables)
        updated = [v for g, v in zip(grads, trainable_variables) if g is not None]
        if updated:
            with keras.name_scope(self.name, caller=self):
                # No gradient is needed for our step; scalars stand in for
                # them in the backend's update path.
                placeholders = [ops.zeros((), dtype="float32") for _ in updated]
                self._backend_update_step(placeholders, updated, 0.0)

    def inner_step_applied(self):
        """Whether the wrapped optimizer updated the weights in this `apply`.

        Always, except under gradient accumulation, where only every
        `gradient_accumulation_steps`-th call updates (and `iterations`
        stays the same in between).
        """
        steps = self.inner_optimizer.gradient_accumulation_steps
        if not steps:
            return True
        return ops.equal(ops.mod(raw_iterations(self.inner_optimizer), steps), 0)

    @property
    def iterations(self):
        return self.inner_optimizer.iterations

    @property
    def learning_rate(self):
        return self.inner_optimizer.learning_rate

    @learning_rate.setter
    def learning_rate(self, learning_rate):
        self.inner_optimizer.learning_rate = learning_rate

    @property
    def loss_scale_factor(self):
        inner = self.__dict__.get("inner_optimizer")
        return None if inner is None else inner.loss_scale_factor

    @loss_scale_factor.setter
    def loss_scale_factor(self, value):
        # Set by the base constructor (before the wrapped optimizer exists),
        # by MultiOptimizer and by LossScaleOptimizer: the wrapped optimizer
        # is the one that unscales the gradients.
        inner = self.__dict__.get("inner_optimizer")
        if inner is not None:
            inner.loss_scale_factor = value

    def finalize_variable_values(self, var_list):
        self.inner_optimizer.finalize_variable_values(var_list)

    def get_config(self):
        # As `LossScaleOptimizer`: the base arguments (learning rate, clipping,
        # EMA...) belong to the wrapped optimizer, so they are not ours.
        return {
            "name": self.name,
            "optimizer": keras.saving.serialize_keras_object(self.inner_optimizer),
        }

    @classmethod
    def from_config(cls, config, custom_objects=None):
        config = dict(config)
        optimizer = config.pop("optimizer")
        if isinstance(optimizer, dict):
            optimizer = keras.saving.deserialize_keras_object(
                optimizer, custom_objects=custom_objects
            )
        return cls(optimizer, **config)
