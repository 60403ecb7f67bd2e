"""TFA's `tfa.image.resampler` on Keras 3 (`keras.ops`).

TFA runs a C++ kernel; this is the same bilinear sampling written with
`keras.ops` (its gradients come from autodiff). Unlike
`keras.ops.image.map_coordinates(order=1, fill_mode="constant")`, it fades to
zero across the one-pixel band outside the image, as TFA's kernel does.
"""

from keras import ops

from tfx_ext._core.arguments import invalid

FLOAT_DTYPES = ("float16", "float32", "float64")


def resampler(data, warp, name=None):
    """Bilinearly samples `data` at the `(x, y)` points of `warp`; corners outside the image count as 0.

    Args:
        data: a float tensor `[batch, height, width, channels]`.
        warp: a float tensor `[batch, d0, ..., dn, 2]` of `(x, y)` points
            (`x` indexes width, `y` height).
        name: accepted for TFA compatibility.

    Returns:
        A `[batch, d0, ..., dn, channels]` tensor of `data`'s dtype.
    """
    data = ops.convert_to_tensor(data)
    warp = ops.convert_to_tensor(warp)
    for arg, value in (("data", data), ("warp", warp)):
        if ops.dtype(value) not in FLOAT_DTYPES:
            raise invalid(
                arg,
                "a float16, float32 or float64 tensor",
                f"a tensor of dtype {ops.dtype(value)}",
                TypeError,
            )
    if len(data.shape) != 4:
        raise invalid(
            "data",
            "a 4-D tensor [batch, height, width, channels] (only bilinear interpolation of 2-D data is supported)",
            f"a tensor of shape {tuple(data.shape)}",
        )
    if len(warp.shape) < 2 or warp.shape[-1] != 2:
        raise invalid(
            "warp",
            "a tensor [batch, ..., 2] of (x, y) points (warp should be at least a matrix)",
            f"a tensor of shape {tuple(warp.shape)}",
        )
    height, width, channels = data.shape[1], data.shape[2], data.shape[3]
    batch = ops.shape(data)[0]
    point_shape = tuple(warp.shape[1:-1])
    points = ops.reshape(ops.cast(warp, data.dtype), (batch, -1, 2))
    x, y = points[..., 0], points[..., 1]
    x0, y0 = ops.floor(x), ops.floor(y)
    flat = ops.reshape(data, (-1, channels))
    offsets = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1))
    result = 0
    for dy in (0, 1):
        for dx in (0, 1):
            cx, cy = x0 + dx, y0 + dy
            weight = (1 - ops.abs(x - cx)) * (1 - ops.abs(y - cy))
            inside = (cx >= 0) & (cx <= width - 1) & (cy >= 0) & (cy <= height - 1)
            ix = ops.cast(ops.clip(cx, 0, width - 1), "int32")
            iy = ops.cast(ops.clip(cy, 0, height - 1), "int32")
            values = ops.take(flat, offsets + iy * width + ix, axis=0)
            result = result + ops.where(inside, weight, ops.zeros_like(weight))[..., None] * values
    return ops.reshape(result, (-1,) + point_shape + (channels,))
