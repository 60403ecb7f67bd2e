"""TFA's projective image transforms (`tfa.image.transform`, `rotate`, ...) on Keras 3.

Keras core replacement: `keras.ops.image.affine_transform` applies the same
8-parameter transforms (TFA's `transform` is a thin call into it, with TFA's
argument names, HW/HWC/NHWC images and `output_shape`). Keras's
`keras.layers.RandomRotation` / `RandomTranslation` are the augmentation layers.
"""

import math

from keras import ops

from tfx_ext._core.arguments import invalid
from tfx_ext.image.image_shapes import check_mode, from_4d, to_4d, unwrap, wrap

INTERPOLATIONS = ("nearest", "bilinear")
FILL_MODES = ("constant", "reflect", "wrap", "nearest")


def _transforms_2d(name, transforms):
    transforms = ops.cast(ops.convert_to_tensor(transforms), "float32")
    if len(transforms.shape) == 1:
        transforms = transforms[None]
    if len(transforms.shape) != 2 or transforms.shape[1] != 8:
        raise invalid(
            name,
            "a vector of 8 values or a matrix of shape (N, 8)",
            f"a tensor of shape {tuple(transforms.shape)}",
        )
    return transforms


def _output_size(output_shape):
    try:
        size = [int(v) for v in ops.convert_to_numpy(output_shape).reshape(-1)]
    except (TypeError, ValueError):
        raise invalid(
            "output_shape",
            "[new_height, new_width] (2 positive integers)",
            output_shape,
            TypeError,
        ) from None
    if len(size) != 2 or min(size) < 1:
        raise invalid(
            "output_shape",
            "[new_height, new_width] (2 positive integers)",
            output_shape,
        )
    return size


def _check_projective_backend(transforms):
    """Keras's affine_transform ignores c0, c1 outside TensorFlow: refuse rather than warp wrongly."""
    import keras

    if keras.backend.backend() == "tensorflow":
        return
    try:
        projective = ops.convert_to_numpy(transforms)[:, 6:8]
    except (TypeError, ValueError, RuntimeError):  # traced values: nothing to inspect
        return
    if projective.any():
        raise invalid(
            "transforms",
            "affine transforms (c0 = c1 = 0) on the "
            f"{keras.backend.backend()} backend; projective ones need TensorFlow",
            transforms.tolist() if hasattr(transforms, "tolist") else transforms,
        )


def transform(
    images,
    transforms,
    interpolation="nearest",
    fill_mode="constant",
    output_shape=None,
    name=None,
    fill_value=0.0,
):
    """Applies the given projective transform(s) to the image(s).

    Args:
        images: a tensor of shape `(num_images, num_rows, num_columns,
            num_channels)` (NHWC), `(num_rows, num_columns, num_channels)` (HWC)
            or `(num_rows, num_columns)` (HW), of dtype uint8, int32, int64,
            float16, float32 or float64; its rank must be statically known.
        transforms: a vector of length 8 or a tensor of shape `(N, 8)`. A row
            `[a0, a1, a2, b0, b1, b2, c0, c1]` maps the *output* point `(x, y)`
            to the *input* point `((a0 x + a1 y + a2) / k, (b0 x + b1 y + b2) / k)`
            with `k = c0 x + c1 y + 1`.
        interpolation: `"nearest"` or `"bilinear"` (any case).
        fill_mode: how points outside the input are filled: `"constant"`
            (`fill_value`), `"reflect"` (`d c b a | a b c d | d c b a`),
            `"wrap"` (`a b c d | a b c d`) or `"nearest"` (`a a | a b c d | d d`).
        output_shape: `[new_height, new_width]`; `None` keeps the input size.
        name: accepted for TFA compatibility; `keras.ops` has no name scopes.
        fill_value: the value outside the input when `fill_mode="constant"`.

    Returns:
        The transformed image(s), with the dtype and rank of `images`.

    Backends: all of Keras's; projective transforms (nonzero `c0`, `c1`)
    need TensorFlow, since Keras's other backends ignore those terms (this
    function refuses them there). Keras's `affine_transform` keeps the input size; a different
    `output_shape` runs TensorFlow's `ImageProjectiveTransformV3` kernel
    directly (the op behind Keras's TensorFlow backend), so it needs the
    TensorFlow backend.

    Example:

    >>> image = np.arange(16.0).reshape(4, 4)
    >>> shifted = transform(image, [1, 0, -1, 0, 1, 0, 0, 0])  # right by 1
    """
    images, rank = to_4d("images", images)
    transforms = _transforms_2d("transforms", transforms)
    interpolation = check_mode("interpolation", interpolation, INTERPOLATIONS)
    fill_mode = check_mode("fill_mode", fill_mode, FILL_MODES)
    fill_value = float(ops.convert_to_numpy(fill_value))
    if transforms.shape[0] not in (1, images.shape[0]):
        raise invalid(
            "transforms",
            f"1 or {images.shape[0]} transforms (one per image)",
            f"{transforms.shape[0]} transforms",
        )
    size = None if output_shape is None else _output_size(output_shape)
    _check_projective_backend(transforms)
    if size is None or size == list(images.shape[1:3]):
        output = ops.image.affine_transform(
            images,
            transforms,
            interpolation=interpolation,
            fill_mode=fill_mode,
            fill_value=fill_value,
            data_format="channels_last",
        )
    else:
        # Keras's affine_transform has no output size; TensorFlow's kernel has.
        import tensorflow as tf

        output = tf.raw_ops.ImageProjectiveTransformV3(
            images=images,
            transforms=transforms,
            output_shape=tf.constant(size, tf.int32),
            interpolation=interpolation.upper(),
            fill_mode=fill_mode.upper(),
            fill_value=tf.constant(fill_value, tf.float32),
        )
    return from_4d(output, rank)


def flat_transforms_to_matrices(transforms, name=None):
    """Converts transforms `(8,)` or `(N, 8)` to `(N, 3, 3)` matrices (output to input coordinates)."""
    transforms = _transforms_2d("transforms", transforms)
    ones = ops.ones((transforms.shape[0], 1), "float32")
    return ops.reshape(ops.concatenate([transforms, ones], axis=1), (-1, 3, 3))


def matrices_to_flat_transforms(transform_matrices, name=None):
    """Converts `(3, 3)` or `(N, 3, 3)` matrices to `(N, 8)` transforms (normalised by the last entry)."""
    matrices = ops.cast(ops.convert_to_tensor(transform_matrices), "float32")
    if len(matrices.shape) not in (2, 3) or tuple(matrices.shape[-2:]) != (3, 3):
        raise invalid(
            "transform_matrices",
            "a tensor of shape (3, 3) or (N, 3, 3)",
            f"a tensor of shape {tuple(matrices.shape)}",
        )
    flat = ops.reshape(matrices, (-1, 9))
    flat = flat / flat[:, 8:9]
    return flat[:, :8]


def compose_transforms(transforms, name=None):
    """Composes a list of transforms into one: applying it equals applying each in order.

    Args:
        transforms: a non-empty list of transforms, each of length 8 or shape
            `(N, 8)`.
        name: accepted for TFA compatibility.

    Returns:
        A `(N, 8)` float32 transform for `transform`.
    """
    if not isinstance(transforms, (list, tuple)) or not transforms:
        raise invalid(
            "transforms",
            "a non-empty list of transforms",
            transforms,
            TypeError if not isinstance(transforms, (list, tuple)) else ValueError,
        )
    composed = flat_transforms_to_matrices(transforms[0])
    for item in transforms[1:]:
        composed = ops.matmul(composed, flat_transforms_to_matrices(item))
    return matrices_to_flat_transforms(composed)


def _size(name, value):
    value = ops.cast(ops.convert_to_tensor(value), "float32")
    if len(value.shape) > 1 or (len(value.shape) == 1 and value.shape[0] != 1):
        raise invalid(
            name,
            "a scalar size (or a vector of one)",
            f"a tensor of shape {tuple(value.shape)}",
        )
    return ops.reshape(value, ())


def angles_to_projective_transforms(angles, image_height, image_width, name=None):
    """Returns the `(num_angles, 8)` transforms rotating images counterclockwise by `angles` (radians).

    Args:
        angles: a scalar angle, or a vector with one angle per image.
        image_height: the height of the image(s).
        image_width: the width of the image(s).
        name: accepted for TFA compatibility.
    """
    angles = ops.cast(ops.convert_to_tensor(angles), "float32")
    if len(angles.shape) == 0:
        angles = angles[None]
    elif len(angles.shape) != 1:
        raise invalid(
            "angles",
            "a scalar or a vector (rank 0 or 1)",
            f"a tensor of shape {tuple(angles.shape)}",
        )
    height = _size("image_height", image_height) - 1.0
    width = _size("image_width", image_width) - 1.0
    cos, sin = ops.cos(angles), ops.sin(angles)
    x_offset = (width - (cos * width - sin * height)) / 2.0
    y_offset = (height - (sin * width + cos * height)) / 2.0
    zeros = ops.zeros_like(angles)
    return ops.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)


def rotate(
    images,
    angles,
    interpolation="nearest",
    fill_mode="constant",
    name=None,
    fill_value=0.0,
):
    """Rotates image(s) counterclockwise by `angles` (radians) about their centre.

    Args:
        images: HW, HWC or NHWC image(s) (see `transform`).
        angles: a scalar angle for all images, or (NHWC) one angle per image.
        interpolation: `"nearest"` or `"bilinear"`.
        fill_mode: `"constant"`, `"reflect"`, `"wrap"` or `"nearest"`.
        name: accepted for TFA compatibility.
        fill_value: the value outside the input when `fill_mode="constant"`.

    Returns:
        The rotated image(s), with the dtype and shape of `images`.
    """
    batch, rank = to_4d("images", images)
    height, width = batch.shape[1], batch.shape[2]
    output = transform(
        batch,
        angles_to_projective_transforms(angles, height, width),
        interpolation=interpolation,
        fill_mode=fill_mode,
        fill_value=fill_value,
    )
    return from_4d(output, rank)


def _check_level(level):
    level = ops.convert_to_numpy(level)
    if level.size != 1 or not math.isfinite(float(level.reshape(-1)[0])):
        raise invalid("level", "a finite number", level)
    return float(level.reshape(-1)[0])


def _check_hwc(image):
    image = ops.convert_to_tensor(image)
    if len(image.shape) != 3:
        raise invalid("image", "a 3D (HWC) image", f"a tensor of shape {tuple(image.shape)}")
    return image


def shear_x(image, level, replace):
    """Shears an HWC image along x (`x' = x + level * y`), filling emptied pixels with `replace`.

    Args:
        image: an HWC image.
        level: the shear factor.
        replace: one value, or one value per channel, for the emptied pixels.
    """
    image = _check_hwc(image)
    level = _check_level(level)
    return unwrap(transform(wrap(image), [1.0, level, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]), replace)


def shear_y(image, level, replace):
    """Shears an HWC image along y (`y' = level * x + y`), filling emptied pixels with `replace`."""
    image = _check_hwc(image)
    level = _check_level(level)
    return unwrap(transform(wrap(image), [1.0, 0.0, 0.0, level, 1.0, 0.0, 0.0, 0.0]), replace)
