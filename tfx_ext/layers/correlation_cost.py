"""CorrelationCost layer (FlowNet's correlation).

Replaces `tfa.layers.CorrelationCost`, which was a C++/CUDA kernel; this one
is written with `keras.ops` (shifted products, then a strided box filter),
so it runs on every backend and is differentiated by autodiff. Keras 3 core
has no equivalent.
"""

import math

import keras
from keras import ops

from tfx_ext._core.arguments import check_choice, check_int, invalid


@keras.saving.register_keras_serializable(package="tfx_ext")
class CorrelationCost(keras.layers.Layer):
    """Correlates two feature maps over a grid of displacements (Dosovitskiy et al., 2015).

    For each output position and displacement `(dy, dx)` (multiples of
    `stride_2` up to `max_displacement`), the mean over a `kernel_size` square
    and over the channels of `a[y, x] * b[y + dy, x + dx]`, on inputs padded
    with `pad` zeros; positions step by `stride_1`. Output channel
    `(dy / stride_2 + r) * (2r + 1) + (dx / stride_2 + r)`, with
    `r = max_displacement // stride_2`, holds displacement `(dy, dx)` (TFA's
    order). The output's spatial size is
    `ceil((size + 2 * pad - 2 * border) / stride_1)` with
    `border = max_displacement + (kernel_size - 1) // 2`.

    Args:
        kernel_size: Odd size of the patch compared at each position.
        max_displacement: Largest displacement searched, in pixels.
        stride_1: Stride of the output positions in the input.
        stride_2: Stride of the displacements.
        pad: Zero padding of height and width.
        data_format: `"channels_last"` (`(batch, height, width, channels)`,
            output likewise) or `"channels_first"` (input and output NCHW).
        **kwargs: Base layer keyword arguments, such as `name` and `dtype`.

    Call arguments:
        inputs: A list `[a, b]` of two feature maps of the same shape.

    Example:

    >>> layer = CorrelationCost(1, 2, 1, 2, 4, "channels_last")
    >>> layer([keras.Input((2, 3, 4)), keras.Input((2, 3, 4))]).shape
    (None, 6, 7, 9)
    """

    def __init__(
        self, kernel_size, max_displacement, stride_1, stride_2, pad, data_format, **kwargs
    ):
        super().__init__(**kwargs)
        self.kernel_size = check_int("kernel_size", kernel_size, minimum=1)
        if self.kernel_size % 2 == 0:
            raise invalid("kernel_size", "an odd integer", kernel_size)
        self.max_displacement = check_int("max_displacement", max_displacement, minimum=0)
        self.stride_1 = check_int("stride_1", stride_1, minimum=1)
        self.stride_2 = check_int("stride_2", stride_2, minimum=1)
        self.pad = check_int("pad", pad, minimum=0)
        self.data_format = check_choice(
            "data_format", data_format, ("channels_last", "channels_first")
        )

    @property
    def _radius(self):
        return self.max_displacement // self.stride_2

    def _output_size(self, size):
        if size is None:
            return None
        border = self.max_displacement + (self.kernel_size - 1) // 2
        out = math.ceil((size + 2 * self.pad - 2 * border) / self.stride_1)
        if out < 1:
            raise ValueError(
                f"Neighborhood and kernel don't fit in input: a spatial size of {size} with pad={self.pad} "
                f"gives no output position (border {border}, stride_1={self.stride_1})."
            )
        return out

    def _dynamic_output_size(self, size):
        border = self.max_displacement + (self.kernel_size - 1) // 2
        # ceil((size + 2 * pad - 2 * border) / stride_1) in integers, for a static or dynamic size
        return (size + 2 * self.pad - 2 * border + self.stride_1 - 1) // self.stride_1

    @staticmethod
    def _check_pair(value):
        if not isinstance(value, (list, tuple)) or len(value) != 2:
            raise ValueError(f"Input must be a list of two Tensors to process. Received: {value!r}")

    def _spatial_axes(self):
        return (1, 2) if self.data_format == "channels_last" else (2, 3)

    def build(self, input_shape):
        self._check_pair(input_shape)
        if tuple(input_shape[0]) != tuple(input_shape[1]) or len(input_shape[0]) != 4:
            raise ValueError(
                f"Inputs must be two 4-D tensors of the same shape. Received: {input_shape}"
            )
        for axis in self._spatial_axes():
            self._output_size(input_shape[0][axis])

    def call(self, inputs):
        self._check_pair(inputs)
        a, b = (ops.convert_to_tensor(t, dtype=self.compute_dtype) for t in inputs)
        if self.data_format == "channels_first":
            a, b = ops.transpose(a, (0, 2, 3, 1)), ops.transpose(b, (0, 2, 3, 1))
        md, step, s1, ks = self.max_displacement, self.stride_2, self.stride_1, self.kernel_size
        rows, cols = ops.shape(a)[1], ops.shape(a)[2]
        out_rows, out_cols = self._dynamic_output_size(rows), self._dynamic_output_size(cols)
        # TFA's kernel centres output (h, w) on input row (h - pad) * stride_1 + border (zeros
        # outside): padding by pad * stride_1 puts the first kernel window at row max_displacement.
        pad = self.pad * s1
        reach = self._radius * step  # the largest shift actually used
        a = ops.pad(a, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
        b = ops.pad(b, ((0, 0), (pad + reach, pad + reach), (pad + reach, pad + reach), (0, 0)))
        height, width = rows + 2 * pad, cols + 2 * pad
        channels = a.shape[-1] if a.shape[-1] is not None else ops.shape(a)[-1]
        products = []
        for dy in range(-self._radius, self._radius + 1):
            for dx in range(-self._radius, self._radius + 1):
                y0, x0 = reach + dy * step, reach + dx * step
                shifted = b[:, y0 : y0 + height, x0 : x0 + width, :]
                products.append(ops.sum(a * shifted, axis=-1))
        corr = ops.stack(products, axis=-1)
        # Keep the rows and columns the output windows cover, then average each window with
        # stride_1; the channel sum then becomes a mean over channels, as TFA's 1 / K.
        corr = corr[:, md : md + (out_rows - 1) * s1 + ks, md : md + (out_cols - 1) * s1 + ks, :]
        out = ops.average_pool(corr, ks, strides=s1, padding="valid")
        out = out / ops.cast(channels, out.dtype)
        if self.data_format == "channels_first":
            out = ops.transpose(out, (0, 3, 1, 2))
        return out

    def compute_output_shape(self, input_shape):
        self._check_pair(input_shape)
        shape = tuple(input_shape[0])
        cells = (2 * self._radius + 1) ** 2
        if self.data_format == "channels_last":
            return (shape[0], self._output_size(shape[1]), self._output_size(shape[2]), cells)
        return (shape[0], cells, self._output_size(shape[2]), self._output_size(shape[3]))

    def get_config(self):
        return {
            **super().get_config(),
            "kernel_size": self.kernel_size,
            "max_displacement": self.max_displacement,
            "stride_1": self.stride_1,
            "stride_2": self.stride_2,
            "pad": self.pad,
            "data_format": self.data_format,
        }
