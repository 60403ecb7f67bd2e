"""TFA's cutout (`tfa.image.cutout`, `random_cutout`) on Keras 3 (`keras.ops`, `keras.random`).

Keras core has no cutout op; `keras_cv`/`keras_hub`'s `RandomCutout` is the augmentation layer.
"""

import numbers

import keras
from keras import ops

from tfx_ext._core.arguments import invalid


def _mask_size(mask_size):
    expected = "an even positive integer or 2 of them (height, width)"
    if isinstance(mask_size, numbers.Integral) and not isinstance(mask_size, bool):
        mask_size = (mask_size, mask_size)
    try:
        sizes = [v for v in mask_size]
    except TypeError:
        raise invalid("mask_size", expected, mask_size, TypeError) from None
    if len(sizes) != 2 or not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) and v > 0 and v % 2 == 0
        for v in sizes
    ):
        raise invalid("mask_size", expected + " (mask_size should be divisible by 2)", mask_size)
    return int(sizes[0]), int(sizes[1])


def _check_images(images):
    images = ops.convert_to_tensor(images)
    if len(images.shape) != 4:
        raise invalid(
            "images",
            "a 4D (NHWC) batch of images",
            f"a tensor of shape {tuple(images.shape)}",
        )
    return images


def cutout(images, mask_size, offset=(0, 0), constant_values=0):
    """Fills a `mask_size` rectangle centred on `offset` with `constant_values` (cutout, arXiv:1708.04552).

    Args:
        images: an NHWC batch.
        mask_size: an even integer, or 2 even integers `(height, width)`.
        offset: the centre `(row, column)`, or one per image as `(batch_size, 2)`.
        constant_values: the fill value.

    Returns:
        `images` with rows `[row - h/2, row + h/2)` and columns
        `[column - w/2, column + w/2)` (clipped to the image) filled.
    """
    images = _check_images(images)
    half_h, half_w = (s // 2 for s in _mask_size(mask_size))
    offset = ops.cast(ops.convert_to_tensor(offset), "int32")
    if len(offset.shape) == 1:
        offset = offset[None]
    if len(offset.shape) != 2 or offset.shape[1] != 2:
        raise invalid(
            "offset",
            "(row, column) or a (batch_size, 2) matrix",
            f"a tensor of shape {tuple(offset.shape)}",
        )
    height, width = images.shape[1], images.shape[2]
    rows = ops.arange(height, dtype="int32")[None, :, None]
    cols = ops.arange(width, dtype="int32")[None, None, :]
    centre_r = offset[:, 0][:, None, None]
    centre_c = offset[:, 1][:, None, None]
    inside = (
        (rows >= centre_r - half_h)
        & (rows < centre_r + half_h)
        & (cols >= centre_c - half_w)
        & (cols < centre_c + half_w)
    )
    fill = ops.cast(constant_values, images.dtype)
    return ops.where(inside[..., None], fill, images)


def random_cutout(images, mask_size, constant_values=0, seed=None):
    """Applies `cutout` at a uniformly random centre per image (the mask stays inside when it fits).

    Args:
        images: an NHWC batch.
        mask_size: an even integer, or 2 even integers `(height, width)`.
        constant_values: the fill value.
        seed: an integer or a `keras.random.SeedGenerator` (TFA: an op seed
            combined with `tf.random.set_seed`; here `keras.utils.set_random_seed`
            makes an unseeded call reproducible).
    """
    images = _check_images(images)
    mask_h, mask_w = _mask_size(mask_size)
    generator = isinstance(seed, keras.random.SeedGenerator)
    integer = isinstance(seed, numbers.Integral) and not isinstance(seed, bool)
    if not (seed is None or generator or integer):
        raise invalid(
            "seed",
            "an integer, a keras.random.SeedGenerator or None",
            seed,
            TypeError,
        )
    batch = ops.shape(images)[0]
    height, width = images.shape[1], images.shape[2]
    # One draw for both coordinates, so an integer seed does not tie row to column.
    uniform = keras.random.uniform((batch, 2), seed=seed)
    centres = []
    for k, (mask, size) in enumerate(((mask_h, height), (mask_w, width))):
        if mask >= size:
            centres.append(ops.full((batch,), size // 2, dtype="int32"))
        else:
            low, high = mask // 2, size - mask // 2
            centre = low + ops.cast(ops.floor(uniform[:, k] * (high - low)), "int32")
            centres.append(ops.minimum(centre, high - 1))
    offset = ops.stack(centres, axis=1)
    return cutout(images, (mask_h, mask_w), offset, constant_values)
