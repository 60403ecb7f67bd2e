"""TFA's Euclidean distance transform (`tfa.image.euclidean_dist_transform`) on Keras 3 (`keras.ops`).

TFA runs a C++ kernel (Felzenszwalb and Huttenlocher's lower envelope). The
exact separable form is written here with `keras.ops`: squared distance to the
nearest zero down each column, then the minimum over each row of that plus the
squared horizontal offset. It holds `height * width * max(height, width)`
values per image and channel, so it suits images up to a few hundred pixels a side.
Keras core has no distance transform.
"""

import numpy as np
from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.image.image_shapes import from_4d, to_4d

OUTPUT_DTYPES = ("float16", "float32", "float64")


def _dtype_name(dtype):
    name = getattr(dtype, "name", dtype)
    return name if isinstance(name, str) else str(dtype)


def euclidean_dist_transform(images, dtype="float32", name=None):
    """Distance from each nonzero pixel to the nearest zero pixel, per image and channel.

    Args:
        images: a uint8 HW, HWC or NHWC image (zero is background).
        dtype: the output dtype, `float16`, `float32` or `float64` (a string or
            a `tf.DType`).
        name: accepted for TFA compatibility.

    Returns:
        Distances of dtype `dtype` and the shape of `images`; a channel with no
        zero is filled with the square root of `dtype`'s largest value, as TFA's
        kernel does.
    """
    dtype = _dtype_name(dtype)
    if dtype not in OUTPUT_DTYPES:
        raise invalid(
            "dtype",
            "float16, float32 or float64 (`dtype` must be float16, float32 or float64)",
            dtype,
            TypeError,
        )
    images, rank = to_4d("images", images, ("uint8",))
    height, width = images.shape[1], images.shape[2]
    big = float(np.finfo(dtype).max)
    background = ops.equal(images, 0)
    # Pass 1, columns: g[n, y, x, c] = min over zero rows y' of (y - y')^2.
    rows = ops.arange(height, dtype="float64")
    row_offsets = ops.square(rows[:, None] - rows[None, :])  # (y, y')
    cost = ops.where(
        background[:, None], row_offsets[None, :, :, None, None], big
    )  # (n, y, y', x, c)
    column = ops.min(cost, axis=2)
    # Pass 2, rows: d[n, y, x, c] = min over x' of g[n, y, x', c] + (x - x')^2.
    cols = ops.arange(width, dtype="float64")
    col_offsets = ops.square(cols[:, None] - cols[None, :])  # (x, x')
    total = column[:, :, None, :, :] + col_offsets[None, None, :, :, None]  # (n, y, x, x', c)
    squared = ops.minimum(ops.min(total, axis=3), big)
    return from_4d(ops.cast(ops.sqrt(squared), dtype), rank)
