"""MaxUnpooling2D and MaxUnpooling2DV2 layers.

Replace `tfa.layers.MaxUnpooling2D` and `tfa.layers.MaxUnpooling2DV2`. Keras 3
core has neither (nor a max pooling that returns its argmax: on TensorFlow,
`tf.nn.max_pool_with_argmax` gives the `mask` these layers take).
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_int_tuple


def _unpool(updates, mask, output_shape):
    """Scatters each update to its argmax position in a zero map of `output_shape`.

    `mask` holds flat indices into one example's `(height, width, channels)`
    map (`include_batch_in_index=False`); as in TFA the channel is the
    update's own and the row and column come from the index.
    """
    mask = ops.cast(mask, "int32")
    batch, out_h, out_w, channels = output_shape
    y = mask // (out_w * channels)
    x = (mask // channels) % out_w
    b = ops.reshape(ops.arange(batch, dtype="int32"), (-1, 1, 1, 1))
    f = ops.arange(channels, dtype="int32")
    flat = ((b * out_h + y) * out_w + x) * channels + f
    flat = ops.reshape(flat, (-1, 1))
    values = ops.reshape(updates, (-1,))
    total = batch * out_h * out_w * channels
    return ops.reshape(ops.scatter(flat, values, (total,)), (batch, out_h, out_w, channels))


def _dynamic_shape(tensor):
    dynamic = ops.shape(tensor)
    return [tensor.shape[i] if tensor.shape[i] is not None else dynamic[i] for i in range(4)]


@keras.saving.register_keras_serializable(package="tfx_ext")
class MaxUnpooling2D(keras.layers.Layer):
    """Unpools the outputs of a max pooling: each value back at its argmax, zeros elsewhere.

    The output size follows from `pool_size`, `strides` and `padding` (those
    of the pooling): `"SAME"` gives `input * strides`, `"VALID"` gives
    `(input - 1) * strides + pool_size`. As in TFA, the argmax must not count
    the batch (`include_batch_in_index=False`).

    Args:
        pool_size: The pooling window, an integer or 2 integers. Defaults to `(2, 2)`.
        strides: The pooling strides, an integer or 2 integers. Defaults to `(2, 2)`.
        padding: `"SAME"` (default) or `"VALID"`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        updates: The pooled values, `(batch, height, width, channels)`.
        mask: Their argmax indices, same shape.

    Example:

    >>> updates = np.array([13.0, 4.0]).reshape(1, 1, 2, 1)
    >>> mask = np.array([1, 6]).reshape(1, 1, 2, 1)
    >>> MaxUnpooling2D()(updates, mask)[0, :, :, 0]
    [[0, 13, 0, 0], [0, 0, 4, 0]]
    """

    def __init__(self, pool_size=(2, 2), strides=(2, 2), padding="SAME", **kwargs):
        super().__init__(**kwargs)
        self.pool_size = check_int_tuple("pool_size", pool_size, 2)
        self.strides = check_int_tuple("strides", strides, 2)
        self.padding = check_choice("padding", padding, ("SAME", "VALID"))

    def _output_shape(self, shape):
        def grow(size, i):
            if size is None:
                return None
            if self.padding == "VALID":
                return (size - 1) * self.strides[i] + self.pool_size[i]
            return size * self.strides[i]

        return (shape[0], grow(shape[1], 0), grow(shape[2], 1), shape[3])

    def call(self, updates, mask):
        updates = ops.convert_to_tensor(updates, dtype=self.compute_dtype)
        return _unpool(updates, mask, self._output_shape(_dynamic_shape(updates)))

    def compute_output_shape(self, updates_shape, mask_shape=None):
        if mask_shape is None and isinstance(updates_shape[0], (list, tuple)):
            updates_shape = updates_shape[0]  # TFA's form: a list of the two shapes
        return self._output_shape(tuple(updates_shape))

    def get_config(self):
        return {
            **super().get_config(),
            "pool_size": self.pool_size,
            "strides": self.strides,
            "padding": self.padding,
        }


@keras.saving.register_keras_serializable(package="tfx_ext")
class MaxUnpooling2DV2(keras.layers.Layer):
    """Unpools the outputs of a max pooling into a map of the given `output_size`.

    Like `MaxUnpooling2D`, but the output size is given, since several input
    sizes pool to the same size.

    Args:
        output_size: 4 positive integers `(batch, height, width, channels)`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        updates: The pooled values, `(batch, height, width, channels)`.
        mask: Their argmax indices, same shape.

    Example:

    >>> updates = np.array([13.0, 4.0]).reshape(1, 1, 2, 1)
    >>> mask = np.array([1, 6]).reshape(1, 1, 2, 1)
    >>> MaxUnpooling2DV2((1, 2, 4, 1))(updates, mask)[0, :, :, 0]
    [[0, 13, 0, 0], [0, 0, 4, 0]]
    """

    def __init__(self, output_size, **kwargs):
        super().__init__(**kwargs)
        self.output_size = check_int_tuple("output_size", output_size, 4)

    def call(self, updates, mask):
        updates = ops.convert_to_tensor(updates, dtype=self.compute_dtype)
        return _unpool(updates, mask, self.output_size)

    def compute_output_shape(self, updates_shape=None, mask_shape=None):
        return self.output_size

    def get_config(self):
        return {**super().get_config(), "output_size": self.output_size}
