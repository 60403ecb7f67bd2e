"""TFA's flow-field warping (`tfa.image.interpolate_bilinear`, `dense_image_warp`) on Keras 3 (`keras.ops`).

Keras core has `keras.ops.image.map_coordinates` (order 1 is bilinear), whose
edges differ: TFA clamps the cell to the image and the weights to [0, 1], so
points outside take the nearest border value; these functions keep TFA's rule.
"""

from keras import ops

from tfx_ext._core.arguments import check_choice, invalid

FLOAT_DTYPES = ("float16", "float32", "float64")


def _check_float(name, value, rank, description):
    value = ops.convert_to_tensor(value)
    if ops.dtype(value) not in FLOAT_DTYPES:
        raise invalid(
            name,
            f"a float16, float32 or float64 {description}",
            f"a tensor of dtype {ops.dtype(value)}",
            TypeError,
        )
    if len(value.shape) != rank:
        raise invalid(name, f"a {rank}-D {description}", f"a tensor of shape {tuple(value.shape)}")
    return value


def interpolate_bilinear(grid, query_points, indexing="ij", name=None):
    """Bilinear values of `grid` at `query_points`, as MATLAB's `interp2` (TFA's edge clamping).

    Args:
        grid: a float tensor `[batch, height, width, channels]`, height and width >= 2.
        query_points: a float tensor `[batch, N, 2]`.
        indexing: `"ij"` (row, column) or `"xy"` (x, y).
        name: accepted for TFA compatibility.

    Returns:
        A `[batch, N, channels]` tensor of the grid's dtype.
    """
    check_choice("indexing", indexing, ("ij", "xy"))
    grid = _check_float("grid", grid, 4, "grid [batch, height, width, channels]")
    query_points = _check_float("query_points", query_points, 3, "tensor [batch, N, 2] of points")
    if query_points.shape[2] != 2:
        raise invalid(
            "query_points",
            "points of 2 coordinates (last dimension 2)",
            f"a tensor of shape {tuple(query_points.shape)}",
        )
    height, width, channels = grid.shape[1], grid.shape[2], grid.shape[3]
    if height < 2 or width < 2:
        raise invalid(
            "grid",
            "a grid of height and width at least 2 (Grid width must be at least 2.)",
            f"a tensor of shape {tuple(grid.shape)}",
        )
    batch = ops.shape(grid)[0]
    num_queries = ops.shape(query_points)[1]
    order = (0, 1) if indexing == "ij" else (1, 0)
    floors, alphas = [], []
    for axis, size in zip(order, (height, width)):
        queries = query_points[:, :, axis]
        floor = ops.clip(ops.floor(queries), 0.0, float(size - 2))
        floors.append(ops.cast(floor, "int32"))
        alphas.append(ops.clip(ops.cast(queries - floor, grid.dtype), 0.0, 1.0)[:, :, None])
    flat = ops.reshape(grid, (-1, channels))
    offsets = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1))

    def gather(rows, cols):
        return ops.reshape(
            ops.take(flat, offsets + rows * width + cols, axis=0),
            (batch, num_queries, channels),
        )

    top, left = floors
    top_left, top_right = gather(top, left), gather(top, left + 1)
    bottom_left, bottom_right = gather(top + 1, left), gather(top + 1, left + 1)
    alpha_y, alpha_x = alphas
    interp_top = alpha_x * (top_right - top_left) + top_left
    interp_bottom = alpha_x * (bottom_right - bottom_left) + bottom_left
    return alpha_y * (interp_bottom - interp_top) + interp_top


def dense_image_warp(image, flow, name=None):
    """Warps `image` by a dense flow: `output[b, j, i] = image[b, j - flow[b, j, i, 0], i - flow[b, j, i, 1]]`.

    Bilinear between pixels; points outside take the nearest border value.
    The flow is the negative forward flow: `I_1 = dense_image_warp(I_2, -F_12)`.

    Args:
        image: a float tensor `[batch, height, width, channels]`.
        flow: a float tensor `[batch, height, width, 2]` (any float dtype).
        name: accepted for TFA compatibility.

    Returns:
        The warped image, of the image's dtype.
    """
    image = _check_float("image", image, 4, "image [batch, height, width, channels]")
    flow = _check_float("flow", flow, 4, "flow [batch, height, width, 2]")
    if tuple(flow.shape[1:]) != (image.shape[1], image.shape[2], 2):
        raise invalid(
            "flow",
            f"a flow of shape [batch, {image.shape[1]}, {image.shape[2]}, 2]",
            f"a tensor of shape {tuple(flow.shape)}",
        )
    height, width, channels = image.shape[1], image.shape[2], image.shape[3]
    grid_y, grid_x = ops.meshgrid(ops.arange(height), ops.arange(width), indexing="ij")
    grid = ops.cast(ops.stack([grid_y, grid_x], axis=2), flow.dtype)[None]
    queries = ops.reshape(grid - flow, (-1, height * width, 2))
    warped = interpolate_bilinear(image, queries)
    return ops.reshape(warped, (-1, height, width, channels))
