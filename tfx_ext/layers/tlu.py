"""Thresholded Linear Unit.

Replaces `tfa.layers.TLU`. Keras 3 core has no equivalent.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool


@keras.saving.register_keras_serializable(package="tfx_ext")
class TLU(keras.layers.Layer):
    """Thresholded linear unit, `max(x, tau)` (Singh & Krishnan, 2019), FRN's partner.

    With `affine=True`, TLU-Affine: `max(x, alpha * x + tau)`. `tau` (and
    `alpha`) have one value per input element (the input shape without the
    batch axis).

    Args:
        affine: Whether to learn `alpha` too. Defaults to `False`.
        tau_initializer, tau_regularizer, tau_constraint: For `tau`
            (initializer defaults to `"zeros"`).
        alpha_initializer, alpha_regularizer, alpha_constraint: For `alpha`,
            used when `affine` (initializer defaults to `"zeros"`).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A floating-point tensor whose non-batch sizes are known.

    Example:

    >>> TLU()(np.array([[-2.5, 0.0, 0.3]]))   # tau = 0
    [[0.0, 0.0, 0.3]]
    """

    def __init__(
        self,
        affine=False,
        tau_initializer="zeros",
        tau_regularizer=None,
        tau_constraint=None,
        alpha_initializer="zeros",
        alpha_regularizer=None,
        alpha_constraint=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        check_bool("affine", affine)
        self.supports_masking = True
        self.affine = affine
        self.tau_initializer = keras.initializers.get(tau_initializer)
        self.tau_regularizer = keras.regularizers.get(tau_regularizer)
        self.tau_constraint = keras.constraints.get(tau_constraint)
        self.alpha_initializer = keras.initializers.get(alpha_initializer)
        self.alpha_regularizer = keras.regularizers.get(alpha_regularizer)
        self.alpha_constraint = keras.constraints.get(alpha_constraint)

    def build(self, input_shape):
        param_shape = tuple(input_shape[1:])
        if any(d is None for d in param_shape):
            raise ValueError(
                f"TLU needs the input's non-batch sizes to be known (one threshold per "
                f"element). Received: input_shape={tuple(input_shape)}"
            )
        self.tau = self.add_weight(
            shape=param_shape,
            name="tau",
            initializer=self.tau_initializer,
            regularizer=self.tau_regularizer,
            constraint=self.tau_constraint,
        )
        if self.affine:
            self.alpha = self.add_weight(
                shape=param_shape,
                name="alpha",
                initializer=self.alpha_initializer,
                regularizer=self.alpha_regularizer,
                constraint=self.alpha_constraint,
            )
        self.input_spec = keras.layers.InputSpec(
            ndim=len(input_shape), axes={i: d for i, d in enumerate(input_shape) if i}
        )

    def call(self, inputs):
        v = self.alpha * inputs if self.affine else 0
        return ops.maximum(inputs, self.tau + v)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "affine": self.affine,
            "tau_initializer": keras.initializers.serialize(self.tau_initializer),
            "tau_regularizer": keras.regularizers.serialize(self.tau_regularizer),
            "tau_constraint": keras.constraints.serialize(self.tau_constraint),
            "alpha_initializer": keras.initializers.serialize(self.alpha_initializer),
            "alpha_regularizer": keras.regularizers.serialize(self.alpha_regularizer),
            "alpha_constraint": keras.constraints.serialize(self.alpha_constraint),
        }
