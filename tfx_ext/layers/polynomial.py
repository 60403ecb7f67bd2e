"""PolynomialCrossing layer (Deep & Cross Network).

Replaces `tfa.layers.PolynomialCrossing`. Keras 3 core has no equivalent
(keras-rs has a `FeatureCross` layer with other argument names).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_bool, check_int, check_number


@keras.saving.register_keras_serializable(package="tfx_ext")
class PolynomialCrossing(keras.layers.Layer):
    """One cross layer: `x0 * (W x + diag_scale * x) + bias + x` (Wang et al., 2017).

    Called on `[x0, x]`: `x0` is the input of the first cross layer of the
    stack, `x` the output of the previous one. `W` is full (`input_dim` by
    `input_dim`) or, with `projection_dim`, the low-rank product `U V`.

    Args:
        projection_dim: Rank of `W = U V`, at most `input_dim / 2`; `None`
            (default) for a full matrix.
        diag_scale: A non-negative number added to the diagonal of `W`.
            Defaults to `0.0`.
        use_bias: Whether to add a bias. Defaults to `True`.
        kernel_initializer: Defaults to `"truncated_normal"`.
        bias_initializer: Defaults to `"zeros"`.
        kernel_regularizer, bias_regularizer: Optional regularizers.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list `[x0, x]` of two tensors of shape `(batch, input_dim)`.

    Example:

    >>> x0 = np.array([[0.1, 0.2, 0.3]]); x = np.array([[0.4, 0.5, 0.6]])
    >>> PolynomialCrossing(kernel_initializer="ones")([x0, x])
    [[0.55, 0.8, 1.05]]
    """

    def __init__(
        self,
        projection_dim=None,
        diag_scale=0.0,
        use_bias=True,
        kernel_initializer="truncated_normal",
        bias_initializer="zeros",
        kernel_regularizer=None,
        bias_regularizer=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.projection_dim = (
            None
            if projection_dim is None
            else check_int("projection_dim", projection_dim, minimum=0)
        )
        self.diag_scale = check_number("diag_scale", diag_scale, low=0)
        check_bool("use_bias", use_bias)
        self.use_bias = use_bias
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.bias_regularizer = keras.regularizers.get(bias_regularizer)
        self.supports_masking = True

    @staticmethod
    def _check_pair(value, what):
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            raise ValueError(f"{what} must be a tuple or list of size 2, got {value}")

    def build(self, input_shape):
        self._check_pair(input_shape, "Input shapes")
        if not all(isinstance(shape, (tuple, list)) for shape in input_shape):
            # One tensor of shape (batch, 2) would pass the size check above.
            raise ValueError(f"Input shapes must be a tuple or list of size 2, got {input_shape}")
        last_dim = input_shape[-1][-1]
        if self.projection_dim is None:
            self.kernel = self.add_weight(
                name="kernel",
                shape=(last_dim, last_dim),
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
            )
        else:
            if self.projection_dim > last_dim / 2:
                # TFA's message.
                raise ValueError(
                    "`projection_dim` should be smaller than last_dim / 2 to improve "
                    "the model efficiency, and should be positive. Got "
                    f"`projection_dim` {self.projection_dim}, and last dimension of input {last_dim}"
                )
            self.kernel_u = self.add_weight(
                name="kernel_u",
                shape=(last_dim, self.projection_dim),
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
            )
            self.kernel_v = self.add_weight(
                name="kernel_v",
                shape=(self.projection_dim, last_dim),
                initializer=self.kernel_initializer,
                regularizer=self.kernel_regularizer,
            )
        if self.use_bias:
            self.bias = self.add_weight(
                name="bias",
                shape=(last_dim,),
                initializer=self.bias_initializer,
                regularizer=self.bias_regularizer,
            )

    def call(self, inputs):
        self._check_pair(inputs, "Inputs to the layer")
        x0, x = (ops.convert_to_tensor(t, dtype=self.compute_dtype) for t in inputs)
        if self.projection_dim is None:
            prod = ops.matmul(x, self.kernel)
        else:
            prod = ops.matmul(ops.matmul(x, self.kernel_u), self.kernel_v)
        if self.diag_scale:
            prod = prod + self.diag_scale * x
        outputs = x0 * prod + x
        if self.use_bias:
            outputs = outputs + self.bias
        return outputs

    def compute_mask(self, inputs, mask=None):
        return None if mask is None else mask[-1]

    def compute_output_shape(self, input_shape):
        self._check_pair(input_shape, "Input shapes")
        return tuple(input_shape[0])

    def get_config(self):
        return {
            **super().get_config(),
            "projection_dim": self.projection_dim,
            "diag_scale": self.diag_scale,
            "use_bias": self.use_bias,
            "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
            "bias_initializer": keras.initializers.serialize(self.bias_initializer),
            "kernel_regularizer": keras.regularizers.serialize(self.kernel_regularizer),
            "bias_regularizer": keras.regularizers.serialize(self.bias_regularizer),
        }
