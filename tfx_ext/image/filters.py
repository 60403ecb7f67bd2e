"""TFA's 2-D image filters (`tfa.image.mean_filter2d`, `median_filter2d`, `gaussian_filter2d`) on Keras 3.

Written with `keras.ops`: the mean filter is `keras.ops.average_pool` over the
explicitly padded image, the Gaussian one `keras.ops.depthwise_conv`, the
median a sort over the window. Keras core has no filter functions; for
augmentation `keras.layers.RandomGaussianBlur` blurs with a random sigma.
"""

import math
import numbers

from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.image.image_shapes import check_mode, from_4d, to_4d

PADDINGS = ("reflect", "constant", "symmetric")
FILTER_DTYPES = ("uint8", "int32", "int64", "float16", "float32", "float64")


def _filter_shape(filter_shape):
    expected = "an integer or a tuple/list of 2 positive integers"
    if isinstance(filter_shape, numbers.Integral) and not isinstance(filter_shape, bool):
        filter_shape = (filter_shape, filter_shape)
    if not isinstance(filter_shape, (list, tuple)):
        raise invalid("filter_shape", expected, filter_shape, TypeError)
    if len(filter_shape) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 1 for v in filter_shape
    ):
        raise invalid("filter_shape", expected, filter_shape)
    return int(filter_shape[0]), int(filter_shape[1])


def _pad(image, filter_shape, padding, constant_values):
    """Pads so a VALID filter keeps the size; an even filter gets the extra row/column bottom/right."""
    height, width = filter_shape
    top, left = (height - 1) // 2, (width - 1) // 2
    pad_width = [[0, 0], [top, height - 1 - top], [left, width - 1 - left], [0, 0]]
    if padding == "constant":
        if "int" in ops.dtype(image):
            constant_values = int(constant_values)
        return ops.pad(image, pad_width, mode="constant", constant_values=constant_values)
    return ops.pad(image, pad_width, mode=padding)


def _prepare(image, filter_shape, padding, constant_values):
    image, rank = to_4d("image", image, FILTER_DTYPES)
    filter_shape = _filter_shape(filter_shape)
    padding = check_mode("padding", padding, PADDINGS)
    try:
        constant_values = float(ops.convert_to_numpy(constant_values))
    except (TypeError, ValueError):
        raise invalid("constant_values", "a number", constant_values, TypeError) from None
    return image, rank, filter_shape, padding, constant_values


def _to_float(image):
    dtype = ops.dtype(image)
    return image if "float" in dtype else ops.cast(image, "float32")


def mean_filter2d(image, filter_shape=(3, 3), padding="REFLECT", constant_values=0, name=None):
    """Mean-filters image(s) over a `filter_shape` window.

    Args:
        image: an HW, HWC or NHWC image.
        filter_shape: an integer or 2 integers, the window's height and width.
        padding: `"REFLECT"`, `"CONSTANT"` or `"SYMMETRIC"` (as `tf.pad`, any case).
        constant_values: the padding value for `"CONSTANT"`.
        name: accepted for TFA compatibility.

    Returns:
        The filtered image, with the dtype and shape of `image` (integer
        images are averaged in float32 and truncated back, as TFA does).
    """
    image, rank, filter_shape, padding, constant_values = _prepare(
        image, filter_shape, padding, constant_values
    )
    dtype = ops.dtype(image)
    padded = _pad(_to_float(image), filter_shape, padding, constant_values)
    output = ops.average_pool(
        padded, filter_shape, strides=1, padding="valid", data_format="channels_last"
    )
    return from_4d(ops.cast(output, dtype), rank)


def median_filter2d(image, filter_shape=(3, 3), padding="REFLECT", constant_values=0, name=None):
    """Median-filters image(s) over a `filter_shape` window.

    For an even window the median is the mean of the two middle values,
    truncated for integer images (as TFA does).

    Args:
        image: an HW, HWC or NHWC image.
        filter_shape: an integer or 2 integers, the window's height and width.
        padding: `"REFLECT"`, `"CONSTANT"` or `"SYMMETRIC"` (any case).
        constant_values: the padding value for `"CONSTANT"`.
        name: accepted for TFA compatibility.
    """
    image, rank, filter_shape, padding, constant_values = _prepare(
        image, filter_shape, padding, constant_values
    )
    dtype = ops.dtype(image)
    height, width = image.shape[1], image.shape[2]
    padded = _pad(image, filter_shape, padding, constant_values)
    windows = [
        padded[:, i : i + height, j : j + width, :]
        for i in range(filter_shape[0])
        for j in range(filter_shape[1])
    ]
    ordered = ops.sort(ops.stack(windows, axis=-1), axis=-1)
    area = filter_shape[0] * filter_shape[1]
    if area % 2:
        median = ordered[..., area // 2]
    else:
        # In float: TFA adds in the image dtype, which overflows uint8.
        median = (_to_float(ordered[..., area // 2 - 1]) + _to_float(ordered[..., area // 2])) / 2
    return from_4d(ops.cast(median, dtype), rank)


def _gaussian_kernel(sigma, size, dtype):
    x = ops.cast(ops.arange(-size // 2 + 1, size // 2 + 1) ** 2, dtype)
    return ops.softmax(-x / (2.0 * sigma**2))


def gaussian_filter2d(
    image,
    filter_shape=(3, 3),
    sigma=1.0,
    padding="REFLECT",
    constant_values=0,
    name=None,
):
    """Gaussian-blurs image(s) with a `filter_shape` kernel of standard deviation `sigma`.

    Args:
        image: an HW, HWC or NHWC image.
        filter_shape: an integer or 2 integers, the kernel's height and width.
        sigma: a positive number, or 2 (for y and x).
        padding: `"REFLECT"`, `"CONSTANT"` or `"SYMMETRIC"` (any case).
        constant_values: the padding value for `"CONSTANT"`.
        name: accepted for TFA compatibility.
    """
    expected = "a positive number or a tuple/list of 2 positive numbers"
    sigmas = sigma if isinstance(sigma, (list, tuple)) else (sigma, sigma)
    if len(sigmas) != 2 or not all(
        isinstance(s, numbers.Real) and not isinstance(s, bool) for s in sigmas
    ):
        raise invalid("sigma", expected, sigma, TypeError if len(sigmas) == 2 else ValueError)
    if not all(math.isfinite(s) and s > 0 for s in sigmas):
        # TFA accepts 0, whose kernel is NaN (0 / 0 in the exponent).
        raise invalid("sigma", expected, sigma)
    image, rank, filter_shape, padding, constant_values = _prepare(
        image, filter_shape, padding, constant_values
    )
    dtype = ops.dtype(image)
    image = _to_float(image)
    compute = ops.dtype(image)
    kernel_y = _gaussian_kernel(float(sigmas[0]), filter_shape[0], compute)
    kernel_x = _gaussian_kernel(float(sigmas[1]), filter_shape[1], compute)
    kernel = kernel_y[:, None] * kernel_x[None, :]
    channels = image.shape[3]
    kernel = ops.tile(kernel[:, :, None, None], (1, 1, channels, 1))
    padded = _pad(image, filter_shape, padding, constant_values)
    output = ops.depthwise_conv(
        padded, kernel, strides=1, padding="valid", data_format="channels_last"
    )
    return from_4d(ops.cast(output, dtype), rank)
