"""FilterResponseNormalization layer.

Replaces `tfa.layers.FilterResponseNormalization`. Keras 3 core has no
equivalent. Pair it with `tfx_ext.layers.TLU`.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_number, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class FilterResponseNormalization(keras.layers.Layer):
    """Filter response normalization (Singh & Krishnan, 2019), batch-independent.

    `gamma * x / sqrt(mean(x**2 over H, W) + |epsilon|) + beta`, per example
    and channel, on `(batch, height, width, channels)` feature maps. With
    `learned_epsilon`, a trainable `|learned_epsilon|` (initial value 1e-4) is
    added to `|epsilon|`.

    Args:
        epsilon: Added to the mean square. Defaults to `1e-6`.
        axis: The spatial axes, `[1, 2]` (the only value TFA supported).
        beta_initializer, gamma_initializer: Default to `"zeros"` and `"ones"`.
        beta_regularizer, gamma_regularizer, beta_constraint,
        gamma_constraint: For the weights.
        learned_epsilon: Whether to learn an extra epsilon. Defaults to `False`.
        learned_epsilon_constraint: Constraint of the learned epsilon.
        name: The layer's name.
        **kwargs: Base layer keyword arguments, such as `dtype`.

    Call arguments:
        inputs: A 4-D tensor `(batch, height, width, channels)` with known
            height and width.

    Example:

    >>> FilterResponseNormalization()(keras.Input((8, 8, 3))).shape
    (None, 8, 8, 3)
    """

    def __init__(
        self,
        epsilon=1e-6,
        axis=(1, 2),
        beta_initializer="zeros",
        gamma_initializer="ones",
        beta_regularizer=None,
        gamma_regularizer=None,
        beta_constraint=None,
        gamma_constraint=None,
        learned_epsilon=False,
        learned_epsilon_constraint=None,
        name=None,
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.epsilon = check_number("epsilon", epsilon)
        if not isinstance(axis, (list, tuple)):
            raise invalid("axis", "the list [1, 2] of spatial axes", axis, TypeError)
        if list(axis) != [1, 2]:
            raise invalid(
                "axis", "the list [1, 2] of spatial axes (normalization is per channel)", axis
            )
        self.axis = [1, 2]
        check_bool("learned_epsilon", learned_epsilon)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.beta_regularizer = keras.regularizers.get(beta_regularizer)
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.beta_constraint = keras.constraints.get(beta_constraint)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.use_eps_learned = learned_epsilon
        self.supports_masking = True
        if learned_epsilon:
            self.eps_learned_constraint = keras.constraints.get(learned_epsilon_constraint)
            # Independent of the input shape: created here, as TFA did.
            self.eps_learned = self.add_weight(
                shape=(1,),
                name="learned_epsilon",
                initializer=keras.initializers.Constant(1e-4),
                constraint=self.eps_learned_constraint,
            )
        else:
            self.eps_learned_constraint = None

    def build(self, input_shape):
        if len(input_shape) != 4:
            raise ValueError(
                "FilterResponseNormalization supports 4-D inputs (batch, height, width, "
                f"channels) only. Received: input_shape={tuple(input_shape)}"
            )
        if input_shape[1] is None or input_shape[2] is None:
            raise ValueError(
                f"Axis {self.axis} of input tensor should have a defined dimension but "
                f"the layer received an input with shape {tuple(input_shape)}."
            )
        channels = input_shape[-1]
        self.input_spec = keras.layers.InputSpec(
            ndim=4, axes={1: input_shape[1], 2: input_shape[2]}
        )
        self.gamma = self.add_weight(
            shape=(1, 1, 1, channels),
            name="gamma",
            initializer=self.gamma_initializer,
            regularizer=self.gamma_regularizer,
            constraint=self.gamma_constraint,
        )
        self.beta = self.add_weight(
            shape=(1, 1, 1, channels),
            name="beta",
            initializer=self.beta_initializer,
            regularizer=self.beta_regularizer,
            constraint=self.beta_constraint,
        )

    def call(self, inputs):
        epsilon = ops.abs(ops.cast(self.epsilon, inputs.dtype))
        if self.use_eps_learned:
            epsilon = epsilon + ops.abs(self.eps_learned)
        nu2 = ops.mean(ops.square(inputs), axis=self.axis, keepdims=True)
        return self.gamma * (inputs * ops.rsqrt(nu2 + epsilon)) + self.beta

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "learned_epsilon": self.use_eps_learned,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "beta_regularizer": keras.regularizers.serialize(self.beta_regularizer),
            "gamma_regularizer": keras.regularizers.serialize(self.gamma_regularizer),
            "beta_constraint": keras.constraints.serialize(self.beta_constraint),
            "gamma_constraint": keras.constraints.serialize(self.gamma_constraint),
            "learned_epsilon_constraint": keras.constraints.serialize(self.eps_learned_constraint),
        }
