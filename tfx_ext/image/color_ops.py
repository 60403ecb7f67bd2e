"""TFA's colour ops (`tfa.image.blend`, `sharpness`, `equalize`) on Keras 3 (`keras.ops`).

They follow PIL (`ImageEnhance.Sharpness`, `ImageOps.equalize`), as TFA's do.
Keras core has `keras.ops.image` colour conversions and
`keras.layers.RandomSharpness` / `keras.layers.Equalization` for augmentation.
"""

import math
import numbers

from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.image.image_shapes import IMAGE_DTYPES, from_4d, to_4d


def _factor(factor):
    try:
        value = float(ops.convert_to_numpy(factor))
    except (TypeError, ValueError):
        raise invalid("factor", "a number", factor, TypeError) from None
    if math.isnan(value):
        raise invalid("factor", "a number", factor)
    return value


def blend(image1, image2, factor):
    """Blends `image1` (factor 0) and `image2` (factor 1); other factors interpolate or extrapolate.

    Args:
        image1: an image (any shape).
        image2: an image of the same shape.
        factor: a number; outside `[0, 1]` the result is clipped to `[0, 255]`.

    Returns:
        `image1` or `image2` unchanged for factor 0 or 1, otherwise the rounded
        blend as float32 (as TFA returns).
    """
    factor = _factor(factor)
    if factor == 0.0:
        return ops.convert_to_tensor(image1)
    if factor == 1.0:
        return ops.convert_to_tensor(image2)
    image1 = ops.cast(ops.convert_to_tensor(image1), "float32")
    image2 = ops.cast(ops.convert_to_tensor(image2), "float32")
    if tuple(image1.shape) != tuple(image2.shape):
        raise invalid(
            "image2",
            f"an image of the shape of image1 {tuple(image1.shape)}",
            f"shape {tuple(image2.shape)}",
        )
    blended = image1 + factor * (image2 - image1)
    if 0.0 < factor < 1.0:
        return ops.round(blended)
    return ops.round(ops.clip(blended, 0.0, 255.0))


def sharpness(image, factor, name=None):
    """Changes the sharpness of image(s) as PIL's `ImageEnhance.Sharpness`: 0 smooths, 1 keeps, above 1 sharpens.

    Args:
        image: an HWC or NHWC image (HW too, as TFA's rank conversion allows).
        factor: a number above 0.
        name: accepted for TFA compatibility.
    """
    factor = _factor(factor)
    images, rank = to_4d("image", image)
    dtype = ops.dtype(images)
    channels = images.shape[3]
    kernel = ops.convert_to_tensor([[1.0, 1.0, 1.0], [1.0, 5.0, 1.0], [1.0, 1.0, 1.0]]) / 13.0
    kernel = ops.tile(kernel[:, :, None, None], (1, 1, channels, 1))
    smooth = ops.depthwise_conv(ops.cast(images, "float32"), kernel, strides=1, padding="valid")
    smooth = ops.cast(smooth, dtype)
    # PIL keeps the one-pixel border of the original image.
    border = [[0, 0], [1, 1], [1, 1], [0, 0]]
    inner = ops.pad(ops.ones_like(smooth, dtype="bool"), border, constant_values=False)
    smooth = ops.where(inner, ops.pad(smooth, border), images)
    blended = ops.cast(blend(smooth, images, factor), dtype)
    return from_4d(blended, rank)


def _equalize_4d(images, bins):
    """PIL's equalize per image and channel: a lookup table built from the histogram's cumulative sum."""
    batch, _, _, channels = images.shape
    values = ops.cast(images, "int32")
    # TF's histogram_fixed_width over [0, bins - 1]: the bin of v is floor(v / (bins - 1) * bins).
    index = ops.cast(ops.floor(ops.cast(values, "float64") / (bins - 1) * bins), "int32")
    index = ops.clip(index, 0, bins - 1)
    series = ops.reshape(ops.arange(batch * channels, dtype="int32"), (batch, 1, 1, channels))
    flat = ops.reshape(index + series * bins, (-1,))
    histogram = ops.reshape(
        ops.bincount(flat, minlength=batch * channels * bins), (batch, channels, bins)
    )
    histogram = ops.cast(histogram, "int32")
    positions = ops.arange(bins, dtype="int32")
    last = ops.max(ops.where(histogram > 0, positions, -1), axis=-1, keepdims=True)
    last_count = ops.take_along_axis(histogram, last, axis=-1)[..., 0]
    step = (ops.sum(histogram, axis=-1) - last_count) // (bins - 1)
    safe_step = ops.maximum(step, 1)[..., None]
    lut = (ops.cumsum(histogram, axis=-1) - histogram + safe_step // 2) // safe_step
    lut = ops.clip(lut, 0, bins - 1)
    # lut is (batch, channels, bins); look up each pixel value in its series' table.
    lut = ops.reshape(lut, (-1,))
    looked_up = ops.take(lut, ops.reshape(ops.clip(values, 0, bins - 1) + series * bins, (-1,)))
    looked_up = ops.reshape(looked_up, values.shape)
    equalized = ops.where(ops.reshape(step, (batch, 1, 1, channels)) == 0, values, looked_up)
    return ops.cast(equalized, images.dtype)


def equalize(image, bins=256, name=None):
    """Equalizes the histogram of image(s) per channel, as PIL's `ImageOps.equalize`.

    Args:
        image: an HW, HWC or NHWC image with values in `[0, bins - 1]`.
        bins: the number of histogram bins (an integer >= 2).
        name: accepted for TFA compatibility.
    """
    if isinstance(bins, bool) or not isinstance(bins, numbers.Integral):
        raise invalid("bins", "an integer >= 2", bins, TypeError)
    if bins < 2:
        raise invalid("bins", "an integer >= 2", bins)
    images, rank = to_4d("image", image, IMAGE_DTYPES)
    return from_4d(_equalize_4d(images, int(bins)), rank)
