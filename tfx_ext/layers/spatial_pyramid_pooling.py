"""SpatialPyramidPooling2D layer.

Replaces `tfa.layers.SpatialPyramidPooling2D` (same bins, same cropping of
the rows and columns that do not fill a bin). Keras 3 core has no equivalent.
"""

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_int_tuple, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class SpatialPyramidPooling2D(keras.layers.Layer):
    """Spatial pyramid pooling (He et al., 2014): a fixed-length output for any image size.

    For each bin `(rows, cols)` the feature map is cropped to a multiple of
    `(rows, cols)` (the last `height % rows` rows and `width % cols` columns
    are dropped, as TFA did) and averaged over a `rows x cols` grid of equal
    cells. The cells of all bins are concatenated.

    Args:
        bins: A list of integers or of `(rows, cols)` pairs, e.g. `[1, 3, 5]`
            (1x1, 3x3 and 5x5 grids: 35 cells).
        data_format: `"channels_last"` or `"channels_first"`; defaults to
            `keras.config.image_data_format()`.
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A 4-D feature map.

    Returns:
        `(batch, cells, channels)` (channels_last) or `(batch, channels, cells)`.

    Example:

    >>> SpatialPyramidPooling2D([1, 2])(keras.Input((None, None, 8))).shape
    (None, 5, 8)
    """

    def __init__(self, bins, data_format=None, **kwargs):
        super().__init__(**kwargs)
        try:
            bins = list(bins)
        except TypeError:
            raise invalid(
                "bins", "a list of integers or of (rows, cols) pairs", bins, TypeError
            ) from None
        if not bins:
            raise invalid("bins", "a non-empty list of integers or of (rows, cols) pairs", bins)
        self.bins = [check_int_tuple("bins", b, 2) for b in bins]
        self.data_format = check_choice(
            "data_format",
            data_format or keras.config.image_data_format(),
            ("channels_last", "channels_first"),
        )
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def call(self, inputs):
        x = inputs if self.data_format == "channels_last" else ops.transpose(inputs, (0, 2, 3, 1))
        shape = ops.shape(x)
        height, width = shape[1], shape[2]
        channels = x.shape[-1] if x.shape[-1] is not None else shape[3]
        outputs = []
        for rows, cols in self.bins:
            cell_h, cell_w = height // rows, width // cols
            cropped = x[:, : cell_h * rows, : cell_w * cols, :]
            cells = ops.reshape(cropped, (-1, rows, cell_h, cols, cell_w, channels))
            outputs.append(ops.reshape(ops.mean(cells, axis=(2, 4)), (-1, rows * cols, channels)))
        outputs = ops.concatenate(outputs, axis=1)
        return outputs if self.data_format == "channels_last" else ops.transpose(outputs, (0, 2, 1))

    def compute_output_shape(self, input_shape):
        cells = sum(rows * cols for rows, cols in self.bins)
        if self.data_format == "channels_last":
            return (input_shape[0], cells, input_shape[-1])
        return (input_shape[0], input_shape[1], cells)

    def get_config(self):
        return {
            **super().get_config(),
            "bins": [list(b) for b in self.bins],
            "data_format": self.data_format,
        }
